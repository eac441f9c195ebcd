/*
 * server/server.h: internal to server/: the server object shared by the
 * connection layer, the handlers and main.
 */
#ifndef OA_SERVER_SERVER_H
#define OA_SERVER_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "server/config.h"
#include "server/http.h"
#include "server/metrics.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "storage/writer.h"

struct oa_server {
    uv_loop_t *loop;
    const struct oa_config *cfg;
    struct oa_store *store;
    struct oa_writer *writer;
    const struct oa_keys *keys; /* read-only after start; also read by writer jobs */
    unsigned char audit_pk[32]; /* the audit checkpoints' Ed25519 public key */

    uv_tcp_t listener;
    uv_signal_t sig_term, sig_int;
    uv_timer_t drain_timer;
    uv_check_t log_check;
    bool listening, draining, stopped;

    struct oa_conn *conns;      /* every open connection */
    unsigned nconns;
    uint64_t next_req;
    char instance[9];           /* random prefix of request ids */
    char bound[80];             /* "127.0.0.1:8340", as bound */

    const struct oa_route *routes;
    int nroutes;
    struct oa_metrics metrics;

    char read_buf[64 * 1024];   /* every read lands here; leftovers are copied */
};

/* Binds, listens and installs the signal handlers; 0 or -1 (logged). */
int oa_server_start(struct oa_server *srv);
/* Begins the graceful shutdown (as SIGTERM does). */
void oa_server_drain(struct oa_server *srv);

/* The route table (routes.c). */
extern const struct oa_route oa_routes[];
extern const int oa_nroutes;

#endif
