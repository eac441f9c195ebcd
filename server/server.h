/*
 * server/server.h: internal to server/: the server object shared by the
 * connection layer, the handlers and main.
 */
#ifndef OA_SERVER_SERVER_H
#define OA_SERVER_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "app/jobs.h"
#include "model/keys.h"
#include "server/config.h"
#include "server/metrics.h"

struct oa_conn;
struct oa_req;
struct oa_route;

struct oa_server {
    uv_loop_t *loop;
    const struct oa_config *cfg;
    struct oa_jobs *jobs;       /* the writer and the readers (app/jobs.h); NULL once drained */
    const struct oa_keys *keys; /* the key file; replaced whole (never changed in place) on reload */
    struct oa_keys *keys_owned; /* sodium_malloc'd keys loaded after start, freed when replaced */
    unsigned char audit_pk[32]; /* the audit checkpoints' Ed25519 public key */

    uv_tcp_t listener;
    uv_signal_t sig_term, sig_int;
    uv_timer_t drain_timer;
    uv_check_t log_check;
    bool listening, draining, stopped;

    struct oa_conn *conns;      /* every open connection */
    unsigned nconns;
    unsigned nlive;             /* of them, admitted and not closing: what the limits count */
    struct oa_conn *idle_head, *idle_tail; /* those waiting for a request, longest idle first */
    struct oa_source **sources; /* admitted connections by client address (http.c) */
    size_t source_buckets;      /* a power of two */
    unsigned char source_key[16]; /* keys the hash of addresses */
    uint64_t next_req;
    char instance[9];           /* random prefix of request ids */
    char bound[80];             /* "127.0.0.1:8340", as bound */

    struct upload *uploads;     /* uploads in progress (h_blobs.c) */
    uv_timer_t upload_timer;
    uv_timer_t housekeeping_timer; /* server/housekeeping.c */
    bool housekeeping_running;
    uv_signal_t sig_hup;
    bool reseal_running, reseal_again, rewrap_running;

    const struct oa_route *routes;
    int nroutes;
    /*
     * The handler chain's entry for OA_ROUTE_AUTH routes, set by whoever
     * builds the server (oa_auth_dispatch): it authenticates the request and
     * then calls r->route->handler.  The connection layer knows nothing of
     * sessions; with no gate, such routes are refused.
     */
    void (*auth_gate)(struct oa_req *r);
    /*
     * Called once a drain has closed the last connection, before the writer
     * stops (whoever builds the server sets it: oa_blobs_stop, so that the
     * connection layer calls no handler code); may be NULL.
     */
    void (*on_drained)(struct oa_server *srv);
    struct oa_metrics metrics;

    /* TLS (#17, tls.c): NULL when serving plain HTTP; replaced whole on SIGHUP
     * (each connection's SSL holds a reference to the context it began with) */
    struct ssl_ctx_st *tls_ctx;
    uv_signal_t sig_tls;

    char read_buf[64 * 1024];   /* every read lands here; leftovers are copied */
};

/*
 * Submits a database job (server/jobs.c, through app/jobs.h): a job flagged
 * OA_JOB_READ to the reader threads, any other to the writer.  Loop thread
 * only.
 */
void oa_db_submit(struct oa_server *srv, struct oa_db_job *job);

/* Binds, listens and installs the signal handlers; 0 or -1 (logged). */
int oa_server_start(struct oa_server *srv);
/* Begins the graceful shutdown (as SIGTERM does). */
void oa_server_drain(struct oa_server *srv);

/* The blob store's background work (h_blobs.c): started after the writer, stopped before it. */
void oa_blobs_start(struct oa_server *srv);
/* Installs the four-property check at filing, with the server's data directory and keys (h_aip.c, #16). */
void oa_aip_serve(struct oa_server *srv);
void oa_blobs_stop(struct oa_server *srv);
/* The periodic forgetting of ended sessions and old action answers (server/housekeeping.c). */
void oa_housekeeping_start(struct oa_server *srv);
void oa_housekeeping_stop(struct oa_server *srv);
/* Re-seal blobs whose document's label changed; rewrap data keys under current KEKs. */
void oa_blobs_reseal_kick(struct oa_server *srv);
void oa_blobs_rewrap_kick(struct oa_server *srv);
/* Makes k (sodium_malloc'd, now owned by the server) the keys in use. */
void oa_server_keys_swap(struct oa_server *srv, struct oa_keys *k);

#endif
