/*
 * tests/integration/tls_test.c: TLS on oad's listener (#17), against the
 * real oad over real sockets: a handshake and requests, the clients'
 * verification (a wrong CA, an expired certificate, a pin, plain HTTP to
 * another machine), mutual TLS without a certificate and with one mapped to
 * its account, a reload on SIGHUP while a keep-alive connection stays,
 * plain HTTP refused at start on a non-loopback address, and what a
 * handshake sends (tickets, resumption, the chain as configured).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <libgen.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/tls.h"
#include "tests/integration/harness.h"

static struct oad srv;
static char tls_dir[300], ca[400], cert[400], key[400];
static char set_cert[450], set_key[450], set_ca[450];

static void teardown(void)
{
    http_use_tls(NULL, NULL, NULL);
    if (srv.pid > 0)
        oad_stop(&srv);
}

TestSuite(tls, .fini = teardown);

/* Waits up to 5 s for the log to say it (oad writes its log between loop turns). */
static bool log_says(const char *text)
{
    for (int i = 0; i < 500 && !oad_log_contains(&srv, text); i++)
        usleep(10000);
    return oad_log_contains(&srv, text);
}

/* Names a data directory, makes the office's CA beside it with `oad tls init`, and inits the data. */
static void prepare(void)
{
    char parent[300], out[4096], cmd[800];
    oad_prepare(&srv);
    snprintf(parent, sizeof(parent), "%s", srv.dir);
    snprintf(tls_dir, sizeof(tls_dir), "%s/tls", dirname(parent));
    snprintf(cmd, sizeof(cmd), "server/oad tls init --dir %s --name 127.0.0.1,localhost", tls_dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "pin:") != NULL, "%s", out);
    snprintf(ca, sizeof(ca), "%s/ca.pem", tls_dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", tls_dir);
    snprintf(key, sizeof(key), "%s/server.key", tls_dir);
    snprintf(set_cert, sizeof(set_cert), "tls.cert=%s", cert);
    snprintf(set_key, sizeof(set_key), "tls.key=%s", key);
    snprintf(set_ca, sizeof(set_ca), "tls.client_ca=%s", ca);
    oad_init(&srv, NULL);
}

/* `oad tls client` for an account; its certificate and key paths. */
static void client_cert(const char *account, char *c, char *k, size_t n)
{
    char out[2048], cmd[800];
    snprintf(cmd, sizeof(cmd), "server/oad tls client --dir %s --name %s", tls_dir, account);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    snprintf(c, n, "%s/client-%s.pem", tls_dir, account);
    snprintf(k, n, "%s/client-%s.key", tls_dir, account);
}

/* Runs the oa client with a fresh HOME; its exit status, its words in out. */
static int oa_run(const char *args, char *out, size_t n)
{
    char cmd[2000];
    snprintf(cmd, sizeof(cmd),
             "HOME=%s XDG_CONFIG_HOME= XDG_DATA_HOME= OA_PASSWORD=Not-The-Password-1 clients/oa %s 2>&1", tls_dir,
             args);
    return run_capture(cmd, out, n);
}

Test(tls, a_request_over_tls_and_plain_bytes_get_no_answer)
{
    prepare();
    const char *extra[] = {set_cert, set_key, NULL};
    oad_serve(&srv, extra);

    http_use_tls(ca, NULL, NULL);
    struct resp r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    /* A login and a password change (bodies both ways) over TLS. */
    char sys[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    r = http_json(&srv, "GET", "/v1/users/me", sys, NULL, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);

    /* Two requests on one kept-alive TLS connection. */
    int fd = http_connect(&srv);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        cr_assert(http_send(fd, req, sizeof(req) - 1));
        cr_assert(http_read(fd, &r, 5000), "no answer %d: %s", i, http_tls_error());
        cr_assert_eq(r.status, 200);
        resp_free(&r);
    }
    http_close(fd);

    /* Plain HTTP to the TLS port: no answer, the connection closes. */
    http_use_tls(NULL, NULL, NULL);
    fd = http_connect(&srv);
    cr_assert(http_send(fd, req, sizeof(req) - 1));
    cr_assert_not(http_read(fd, &r, 5000), "a plain request was answered: %d", r.status);
    resp_free(&r);
    http_close(fd);
    cr_assert(log_says("event=tls_failed"), "%s", oad_log_tail(&srv));
}

Test(tls, the_client_refuses_a_wrong_ca_an_expired_certificate_a_wrong_pin_and_plain_http_to_another_machine)
{
    prepare();
    char other[400], out[4096], args[1200], pin[80], expired[400], expired_key[400], why[300];
    /* Another office's CA. */
    snprintf(other, sizeof(other), "%s/other", tls_dir);
    snprintf(args, sizeof(args), "server/oad tls init --dir %s --name 127.0.0.1", other);
    cr_assert_eq(run_capture(args, out, sizeof(out)), 0, "%s", out);
    strcat(other, "/ca.pem");
    const char *extra[] = {set_cert, set_key, NULL};
    oad_serve(&srv, extra);

    /* The right CA: the request reaches oad (which refuses the password). */
    snprintf(args, sizeof(args), "--server https://127.0.0.1:%d --ca %s login sysadmin", srv.port, ca);
    cr_assert_eq(oa_run(args, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "password") != NULL, "%s", out);

    snprintf(args, sizeof(args), "--server https://127.0.0.1:%d --ca %s login sysadmin", srv.port, other);
    cr_assert_eq(oa_run(args, out, sizeof(out)), 4, "%s", out);
    cr_assert(strstr(out, "SSL certificate problem: unable to get local issuer certificate") != NULL, "%s", out);

    /* The server's pin alone, and a wrong one. */
    cr_assert_eq(oa_tls_pin(cert, pin, sizeof(pin)), 0);
    snprintf(args, sizeof(args), "--server https://127.0.0.1:%d --pin %s login sysadmin", srv.port, pin);
    cr_assert_eq(oa_run(args, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "password") != NULL, "%s", out);
    snprintf(args, sizeof(args),
             "--server https://127.0.0.1:%d --pin sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= login sysadmin",
             srv.port);
    cr_assert_eq(oa_run(args, out, sizeof(out)), 4, "%s", out);
    cr_assert(strstr(out, "pinned public key") != NULL, "%s", out);

    /* Plain HTTP to another machine is refused before anything is sent. */
    cr_assert_eq(oa_run("--server http://192.0.2.7:8340 login sysadmin", out, sizeof(out)), 4, "%s", out);
    cr_assert(strstr(out, "refusing plain HTTP to 192.0.2.7") != NULL, "%s", out);

    /* An expired certificate, signed by the right CA. */
    cr_assert_eq(oad_stop(&srv), 0);
    snprintf(expired, sizeof(expired), "%s/expired.pem", tls_dir);
    snprintf(expired_key, sizeof(expired_key), "%s/expired.key", tls_dir);
    char cakey[400];
    snprintf(cakey, sizeof(cakey), "%s/ca.key", tls_dir);
    cr_assert_eq(oa_tls_issue(OA_CERT_SERVER, ca, cakey, "127.0.0.1", -30 * 86400L, -86400L, expired, expired_key, why,
                              sizeof(why)),
                 0, "%s", why);
    char set_exp[450], set_exp_key[450];
    snprintf(set_exp, sizeof(set_exp), "tls.cert=%s", expired);
    snprintf(set_exp_key, sizeof(set_exp_key), "tls.key=%s", expired_key);
    const char *extra2[] = {set_exp, set_exp_key, NULL};
    oad_serve(&srv, extra2);
    snprintf(args, sizeof(args), "--server https://127.0.0.1:%d --ca %s login sysadmin", srv.port, ca);
    cr_assert_eq(oa_run(args, out, sizeof(out)), 4, "%s", out);
    cr_assert(strstr(out, "certificate has expired") != NULL, "%s", out);
}

Test(tls, mutual_tls_refuses_a_connection_without_a_client_certificate)
{
    prepare();
    const char *extra[] = {set_cert, set_key, set_ca, NULL};
    oad_serve(&srv, extra);
    char c[400], k[400];
    client_cert("alice", c, k, sizeof(c));

    http_use_tls(ca, NULL, NULL);
    int fd = http_try_connect(&srv);
    if (fd >= 0) {
        /* TLS 1.3: the client's side of the handshake ends before the server has checked it. */
        struct resp r;
        static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        http_send(fd, req, sizeof(req) - 1);
        cr_assert_not(http_read(fd, &r, 5000), "answered without a client certificate: %d", r.status);
        resp_free(&r);
        http_close(fd);
    }
    cr_assert(strstr(http_tls_error(), "certificate required") != NULL, "%s", http_tls_error());
    cr_assert(log_says("peer did not return a certificate"), "%s", oad_log_tail(&srv));

    http_use_tls(ca, c, k);
    struct resp r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
}

Test(tls, a_client_certificate_is_mapped_to_its_account)
{
    prepare();
    char sc[400], sk[400], ac[400], ak[400], sys[128], sec[128], alice[128];
    client_cert("sysadmin", sc, sk, sizeof(sc));
    client_cert("alice", ac, ak, sizeof(ac));
    /* Accounts are made with mutual TLS on, certificates not yet bound to accounts. */
    const char *extra[] = {set_cert, set_key, set_ca, NULL};
    oad_serve(&srv, extra);
    http_use_tls(ca, sc, sk);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    struct resp r = http_json(&srv, "POST", "/v1/organs", sys, "{\"code\":\"某府\",\"name\":\"某市人民政府\"}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    r = http_json(&srv, "POST", "/v1/departments", sys, "{\"organ_id\":1,\"code\":\"府办\",\"name\":\"府办\"}", NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
    make_person(&srv, sys, sec, "alice", "[\"staff\"]", 1, "Ledger-Pass-2026-x", alice, sizeof(alice));
    cr_assert_eq(oad_stop(&srv), 0);

    const char *bound[] = {set_cert, set_key, set_ca, "tls.client_account=true", NULL};
    oad_serve(&srv, bound);
    http_use_tls(ca, ac, ak);
    r = http_json(&srv, "GET", "/v1/users/me", alice, NULL, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"alice\"") != NULL, "%s", r.body);
    resp_free(&r);
    /* alice's session over sysadmin's certificate, and sysadmin's over alice's. */
    r = http_json(&srv, "GET", "/v1/users/me", sys, NULL, NULL);
    cr_assert_eq(r.status, 403, "%d %s", r.status, r.body);
    cr_assert(strstr(r.body, "client certificate does not belong to this account") != NULL, "%s", r.body);
    resp_free(&r);
    http_use_tls(ca, sc, sk);
    r = http_json(&srv, "GET", "/v1/users/me", alice, NULL, NULL);
    cr_assert_eq(r.status, 403, "%d %s", r.status, r.body);
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", sys, NULL, NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    /* Logging in as another account than the certificate's is refused before the password is looked at. */
    char tok[128];
    http_use_tls(ca, ac, ak);
    cr_assert_eq(login(&srv, "alice", "Ledger-Pass-2026-x", tok, sizeof(tok)), 201);
    r = http_json(&srv, "POST", "/v1/sessions", NULL, "{\"username\":\"sysadmin\",\"password\":\"Root-Of-Trust-2026\"}",
                  NULL);
    cr_assert_eq(r.status, 403, "%d %s", r.status, r.body);
    cr_assert(strstr(r.body, "client certificate does not belong to this account") != NULL, "%s", r.body);
    resp_free(&r);
}

Test(tls, sighup_serves_a_new_certificate_to_new_connections_while_a_kept_alive_one_keeps_working)
{
    prepare();
    const char *extra[] = {set_cert, set_key, NULL};
    oad_serve(&srv, extra);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct resp r;
    http_use_tls(ca, NULL, NULL);
    int kept = http_connect(&srv);
    cr_assert(http_send(kept, req, sizeof(req) - 1));
    cr_assert(http_read(kept, &r, 5000));
    cr_assert_eq(r.status, 200);
    resp_free(&r);

    /* A new CA and certificate in place of the old ones, then SIGHUP. */
    char fresh[400], out[4096], cmd[1200], fresh_ca[450];
    snprintf(fresh, sizeof(fresh), "%s/renewed", tls_dir);
    snprintf(cmd, sizeof(cmd), "server/oad tls init --dir %s --name 127.0.0.1 && mv %s/server.pem %s && mv %s/server.key %s",
             fresh, fresh, cert, fresh, key);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    snprintf(fresh_ca, sizeof(fresh_ca), "%s/ca.pem", fresh);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    for (int i = 0; i < 500 && !oad_log_contains(&srv, "event=tls_reloaded"); i++)
        usleep(10000);
    cr_assert(oad_log_contains(&srv, "event=tls_reloaded"), "%s", oad_log_tail(&srv));

    /* New connections get the new certificate: the old CA no longer verifies it, the new one does. */
    cr_assert_eq(http_try_connect(&srv), -1, "the old certificate is still served");
    cr_assert(strstr(http_tls_error(), "certificate verify failed") != NULL, "%s", http_tls_error());
    http_use_tls(fresh_ca, NULL, NULL);
    r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, NULL);
    cr_assert_eq(r.status, 200);
    resp_free(&r);

    /* The connection from before the reload still works. */
    for (int i = 0; i < 2; i++) {
        cr_assert(http_send(kept, req, sizeof(req) - 1));
        cr_assert(http_read(kept, &r, 5000), "the kept-alive connection broke: %s", http_tls_error());
        cr_assert_eq(r.status, 200);
        resp_free(&r);
    }
    http_close(kept);

    /* A reload that fails keeps the certificate in use. */
    FILE *f = fopen(cert, "w");
    cr_assert_not_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    for (int i = 0; i < 500 && !oad_log_contains(&srv, "event=tls_reload_failed"); i++)
        usleep(10000);
    cr_assert(oad_log_contains(&srv, "event=tls_reload_failed"), "%s", oad_log_tail(&srv));
    r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, NULL);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
}

Test(tls, plain_http_on_a_non_loopback_address_is_refused_at_start)
{
    prepare();
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof(cmd), "server/oad serve --data %s --listen 0.0.0.0:0", srv.dir);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "plain HTTP is allowed only on a loopback address") != NULL, "%s", out);
    /* With a certificate the same address is served. */
    snprintf(cmd, sizeof(cmd), "timeout -s TERM 3 server/oad serve --data %s --listen 0.0.0.0:0 --set %s --set %s",
             srv.dir, set_cert, set_key);
    run_capture(cmd, out, sizeof(out));
    cr_assert(strstr(out, "event=listening") != NULL, "%s", out);
    /* And a half-set configuration is refused with its reason. */
    snprintf(cmd, sizeof(cmd), "server/oad serve --data %s --listen 127.0.0.1:0 --set %s", srv.dir, set_cert);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "tls.cert and tls.key go together") != NULL, "%s", out);
}

Test(tls, oagw_refuses_plain_http_to_another_machine_at_start)
{
    char dir[300], conf[400], cmd[800], out[2048];
    snprintf(dir, sizeof(dir), "%s/oagw-XXXXXX", getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(conf, sizeof(conf), "%s/oagw.conf", dir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "[oagw]\nserver = http://192.0.2.7:8340\nno_virus_scan = true\n");
    fclose(f);
    snprintf(cmd, sizeof(cmd), "clients/oagw check --config %s /dev/null 2>&1", conf);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 2, "%s", out);
    cr_assert(strstr(out, "refusing plain HTTP to 192.0.2.7") != NULL, "%s", out);
}

/* ------------------------------------------------------------------------ */
/* what a handshake sends, seen by a bare OpenSSL client                    */
/* ------------------------------------------------------------------------ */

static int tickets_seen;
static SSL_SESSION *last_ticket;

/* A NewSessionTicket arrived: count it and keep its session (the reference is ours). */
static int on_ticket(SSL *ssl, SSL_SESSION *sess)
{
    tickets_seen++;
    SSL_SESSION_free(last_ticket);
    last_ticket = sess;
    return 1;
}

struct handshake_seen {
    bool ok;       /* the answer was 200 and the connection ended */
    bool resumed;  /* by a ticket, without the certificate */
    int tickets;   /* NewSessionTicket messages */
    int chain;     /* certificates sent, the server's own first */
};

/* One connection: a handshake (resuming `resume` when given), GET /healthz with Connection: close, read to the end. */
static struct handshake_seen handshake_once(SSL_CTX *ctx, SSL_SESSION *resume)
{
    struct handshake_seen h = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    cr_assert_eq(inet_pton(AF_INET, srv.host, &a.sin_addr), 1);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (resume != NULL)
        SSL_set_session(ssl, resume);
    tickets_seen = 0;
    cr_assert_eq(SSL_connect(ssl), 1, "handshake failed");
    h.resumed = SSL_session_reused(ssl) == 1;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    h.chain = chain ? sk_X509_num(chain) : 0;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    cr_assert_eq(SSL_write(ssl, req, (int)sizeof(req) - 1), (int)sizeof(req) - 1);
    char buf[4096];
    size_t got = 0;
    int n;
    while (got < sizeof(buf) - 1 && (n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got))) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    h.ok = strncmp(buf, "HTTP/1.1 200", 12) == 0 && SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN;
    h.tickets = tickets_seen;
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    return h;
}

/*
 * The handshake settings nginx uses by default, so the two compare on equal
 * terms (tests/bench/tls.sh): two tickets after a full handshake, resumption
 * by ticket (a new connection without the certificate and its signature),
 * and the chain exactly as tls.cert has it, the CA only when the file holds it.
 */
Test(tls, a_handshake_sends_two_tickets_a_ticket_resumes_and_the_chain_is_the_files)
{
    prepare();
    char chain[450], set_chain[500], cmd[1400], out[1024];
    snprintf(chain, sizeof(chain), "%s/chain.pem", tls_dir);
    snprintf(set_chain, sizeof(set_chain), "tls.cert=%s", chain);
    snprintf(cmd, sizeof(cmd), "cp %s %s", cert, chain);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    const char *extra[] = {set_chain, set_key, NULL};
    oad_serve(&srv, extra);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(ctx);
    cr_assert_eq(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_ticket);

    struct handshake_seen full = handshake_once(ctx, NULL);
    cr_assert(full.ok);
    cr_assert_not(full.resumed);
    cr_assert_eq(full.tickets, 2, "tickets after a full handshake: %d", full.tickets);
    cr_assert_eq(full.chain, 1, "the server certificate alone: %d sent", full.chain);
    cr_assert_not_null(last_ticket);

    SSL_SESSION *ticket = last_ticket;
    last_ticket = NULL;
    struct handshake_seen again = handshake_once(ctx, ticket);
    SSL_SESSION_free(ticket);
    cr_assert(again.ok);
    cr_assert(again.resumed, "the ticket did not resume");
    cr_assert_geq(again.tickets, 1, "no fresh ticket on resumption");

    /* The same file with the CA after the server's certificate: both are sent. */
    snprintf(cmd, sizeof(cmd), "cat %s >> %s", ca, chain);
    cr_assert_eq(run_capture(cmd, out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    cr_assert(log_says("event=tls_reloaded"), "%s", oad_log_tail(&srv));
    struct handshake_seen longer = handshake_once(ctx, NULL);
    cr_assert(longer.ok);
    cr_assert_eq(longer.chain, 2, "server certificate and CA: %d sent", longer.chain);

    SSL_SESSION_free(last_ticket);
    last_ticket = NULL;
    SSL_CTX_free(ctx);
}
