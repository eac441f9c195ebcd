/*
 * clients/gw-int.h: what oagw's files share (oagw.c, gwconf.c, gwin.c,
 * gwout.c, gwapi.c); nobody else includes it.
 *
 * The state directory holds everything oagw must remember, in file names
 * so a kill -9 at any moment leaves a state the next start resumes:
 *   work/STAMP-NAME.in          taken from the inbox, not yet settled
 *   work/STAMP-NAME.in.d/       its files being extracted (removed at start)
 *   work/STAMP-NAME.in.reason   refused: the quarantine audit is still due
 *   hold/STAMP-NAME.in          valid, but out of sequence: retried
 *   quarantine/NAME[.reason] refused and audited
 *   out/ID.sent              outgoing item ID written: seq, bundle id, digest
 *   out.cursor               the outbox position reported sent
 *   status.json              counts and the sequence gaps held
 */
#ifndef OA_CLIENTS_GW_INT_H
#define OA_CLIENTS_GW_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "clients/gwscan.h"
#include "clients/net.h"
#include "proto/bundle.h"

struct gwconf {
    char server[256];
    char tls_ca[512], tls_pin[128], tls_cert[512], tls_key[512]; /* #17: net_tls's */
    char credentials[PATH_MAX];
    char inbox[PATH_MAX], outbox[PATH_MAX], state[PATH_MAX];
    char key[PATH_MAX];       /* our Ed25519 secret key (oagw keygen) */
    char sender[64];          /* our system id in outgoing bundles */
    char clamav_db[PATH_MAX]; /* "" only with allow_no_virus_scan */
    bool no_virus_scan;
    char allowed_types[1024];
    int rescan_seconds, outbox_seconds;
    int settle_ms;            /* an inbox file must be this old (mtime) to be taken */
    struct bundle_limits lim;
    struct bundle_key *keys;
    size_t nkeys;
};

/* Defaults, then the INI file (when path is not NULL); 0, or -1 with why filled. */
int oa__gw_conf_load(struct gwconf *c, const char *path, char *why, size_t whylen);
void oa__gw_conf_free(struct gwconf *c);
/* Reads a secret key file written by `oagw keygen`; 0 or -1. */
int oa__gw_key_load(const char *path, unsigned char sk[64], char *why, size_t whylen);

struct gw {
    struct gwconf conf;
    struct gwscan *scan;
    unsigned char sk[64];
    char token[256];
    uint64_t imported, duplicates, quarantined, held, refused_out;
    bool server_down;
    bool young;               /* an inbox file was too young to take: look again soon */
    struct gw_gap {
        char sender[64];
        int64_t seq, expected;
    } gaps[64];
    size_t ngaps;
};

/* ---- the API (gwapi.c) ---- */
/* One JSON request with the session, logging in first when needed and once again on 401. */
int oa__gw_call(struct gw *g, const char *method, const char *path, const char *json, struct net_resp *r);
/* Uploads a file; its upload id into id.  0, 1 refused (r filled), -1 server out of reach. */
int oa__gw_upload(struct gw *g, int dirfd, const struct bundle_file *f, char *id, size_t idlen, struct net_resp *r);

/* ---- inbound (gwin.c) ---- */
/* Creates the state directories, removes half extractions. */
int oa__gw_state_init(struct gw *g, char *why, size_t whylen);
/* One pass: leftovers in work/, new bundles in the inbox, then held ones. */
void oa__gw_inbound_pass(struct gw *g);
/* Validates a bundle file as the inbound side would, extracting into dir (which it creates). */
enum bundle_reason oa__gw_validate(struct gw *g, const char *path, const char *dir, struct bundle *b, char *why,
                                   size_t whylen);
void oa__gw_write_status(struct gw *g);

/* ---- outbound (gwout.c) ---- */
/* Finishes what a crash left in the outbox, then exports what oad has waiting. */
void oa__gw_outbound_pass(struct gw *g);

/* Helpers (gwin.c): write a whole file durably (temp, fsync, rename, fsync dir). */
int oa__gw_write_file(const char *dir, const char *name, const void *p, size_t n);
int oa__gw_fsync_dir(const char *dir);
void oa__gw_rmtree(const char *path);
void oa__gw_now_rfc3339(char out[40]);

#endif
