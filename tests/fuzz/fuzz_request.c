/*
 * tests/fuzz/fuzz_request.c: libFuzzer target for the request path.  Each
 * input is sent as raw bytes over a loopback connection to a real oad server
 * running in this process (real loop, real parser, real handlers, a real
 * SQLite database in a temporary directory); the loop runs until the server
 * has closed the connection.
 *
 * Built with OA_FUZZ_TLS (fuzz_tls), the server speaks TLS 1.3 with a
 * certificate made at start, and the input goes to the TLS layer instead
 * (server/tls.c: records through the memory BIOs, handshake failures,
 * alerts, the close that follows).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/auth.h"
#include "server/config.h"
#include "proto/log.h"
#include "server/server.h"
#include "storage/keys.h"
#include "storage/labelmac.h"
#include "storage/store.h"
#ifdef OA_FUZZ_TLS
#include "server/tls.h"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static struct oa_config cfg;
static struct oa_store store;
static struct oa_server *srv;
static struct oa_keys keys;
static int port;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/oa-fuzz-XXXXXX";
    char path[64], *why = NULL;
    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/oa.db", dir);
    if (oa_store_open(&store, path, true, &why) != 0)
        abort();
    char kpath[64], cause[256];
    snprintf(kpath, sizeof(kpath), "%s/keys", dir);
    if (oa_keys_create(kpath, cause, sizeof(cause)) != 0 || oa_keys_load(kpath, &keys, cause, sizeof(cause)) != 0)
        abort();
    oa_log_set_level(OA_LOG_ERROR);
    oa_config_defaults(&cfg);
#ifdef OA_FUZZ_TLS
    char ca[96], cakey[96];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
    snprintf(cfg.tls_cert, sizeof(cfg.tls_cert), "%s/server.pem", dir);
    snprintf(cfg.tls_key, sizeof(cfg.tls_key), "%s/server.key", dir);
    if (oa_tls_issue(OA_CERT_CA, NULL, NULL, "fuzz CA", -3600, 86400, ca, cakey, cause, sizeof(cause)) != 0 ||
        oa_tls_issue(OA_CERT_SERVER, ca, cakey, "127.0.0.1", -3600, 86400, cfg.tls_cert, cfg.tls_key, cause,
                     sizeof(cause)) != 0)
        abort();
#endif
    cfg.listen_port = 0;
    cfg.argon2_opslimit = 1;
    cfg.argon2_memlimit = 8192;
    cfg.login_delay_ms = 0;
    cfg.header_timeout_ms = cfg.body_timeout_ms = cfg.idle_timeout_ms = cfg.write_timeout_ms = 1000;
    uv_loop_init(&loop);
    srv = calloc(1, sizeof(*srv));
    srv->loop = &loop;
    srv->cfg = &cfg;
    srv->keys = &keys;
    srv->routes = oa_routes;
    srv->nroutes = oa_nroutes;
    srv->auth_gate = oa_auth_dispatch;
    srv->on_drained = oa_blobs_stop;
    oa_labelmac_key(keys.audit_seed); /* labels are checked against their MACs (#17) */
    srv->jobs = oa_jobs_start(&loop, &store, NULL, 0, keys.audit_seed); /* no readers: every job on the writer */
    if (srv->jobs == NULL || oa_server_start(srv) != 0)
        abort();
    /* SIGTERM and SIGINT belong to libFuzzer here, not to the server's drain. */
    uv_signal_stop(&srv->sig_term);
    uv_signal_stop(&srv->sig_int);
    const char *colon = strrchr(srv->bound, ':');
    port = atoi(colon + 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
        abort();
    uint64_t accepted_before = srv->metrics.connections_total;
    size_t off = 0;
    bool shut = false;
    char sink[65536];
    uint64_t t0 = uv_hrtime();
    /* Until the server has accepted our connection and closed it again. */
    while (srv->metrics.connections_total == accepted_before || srv->nconns > 0) {
        if (off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != ENOTCONN)
                off = size;
        }
        if (off >= size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        while (recv(fd, sink, sizeof(sink), 0) > 0)
            ;
        uv_run(&loop, UV_RUN_NOWAIT);
        if (uv_hrtime() - t0 > 5000000000ull) {
            fprintf(stderr, "the server did not finish with a connection in 5 s\n");
            abort();
        }
        if (srv->nconns > 0 || off < size)
            usleep(50);
    }
    close(fd);
    return 0;
}
