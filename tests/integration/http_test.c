/*
 * tests/integration/http_test.c: the HTTP layer of the real oad, over real
 * sockets: keep-alive, pipelining, stalls, limits, malformed input, content
 * negotiation, metrics and the graceful shutdown.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/value.h"
#include "tests/integration/harness.h"

static struct oad srv;

static void stop_ok(void)
{
    int st = oad_stop(&srv);
    cr_assert_eq(st, 0, "oad did not exit 0 after SIGTERM (%d); its log ends:\n%s", st, oad_log_tail(&srv));
}

#define SEND(fd, s) cr_assert(http_send((fd), (s), strlen(s)))

static void expect_error(struct resp *r, int status, const char *code)
{
    cr_assert_eq(r->status, status, "status %d, body %s", r->status, r->body);
    json_t *j = resp_json(r);
    cr_assert_not_null(j, "error body is not JSON: %s", r->body);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), code);
    cr_assert(strlen(json_string_value(json_object_get(j, "message"))) > 10);
    json_decref(j);
}

Test(http, healthz_json_and_cbor)
{
    oad_start(&srv, NULL);
    struct resp r = http_json(&srv, "GET", "/healthz", NULL, NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "application/json");
    cr_assert(strstr(r.body, "\"status\":\"ok\""));
    resp_free(&r);

    r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, "Accept: application/cbor\r\n");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "application/cbor");
    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(r.body, r.body_len, &it, NULL, 0), OA_E_OK);
    const cbor_item_t *st = pv_get(it, "status");
    cr_assert(st && cbor_isa_string(st) && cbor_string_length(st) == 2);
    cbor_decref(&it);
    resp_free(&r);
    stop_ok();
}

Test(http, no_stated_preference_gets_json_except_after_a_cbor_body_or_on_sync_routes)
{
    oad_start(&srv, NULL);
    /* curl http://.../healthz: no Accept, or curl's own; a person reads the answer. */
    const char *none[] = {NULL, "Accept: */*\r\n", "Accept: application/*\r\n",
                          "Accept: application/cbor, application/json\r\n"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        struct resp r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, none[i]);
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.content_type, "application/json", "with %s", none[i] ? none[i] : "no Accept");
        cr_assert(strstr(r.body, "\"status\":\"ok\""), "%s", r.body);
        resp_free(&r);
    }
    /* A CBOR body is answered in CBOR. */
    const unsigned char hello[] = {0xa2, 0x66, 'c', 'l', 'i', 'e', 'n', 't', 0x61, 't',
                                   0x68, 'p', 'r', 'o', 't', 'o', 'c', 'o', 'l', 0x01};
    struct resp r = http_do(&srv, "POST", "/v1/hello", "application/cbor", hello, sizeof(hello), NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.content_type, "application/cbor");
    resp_free(&r);
    /* The sync routes speak CBOR, their errors included. */
    r = http_do(&srv, "GET", "/v1/sync/changes?v=1&since=0", NULL, NULL, 0, NULL);
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(r.content_type, "application/cbor");
    resp_free(&r);
    /* Asked for, each is given. */
    r = http_do(&srv, "GET", "/v1/sync/changes?v=1&since=0", NULL, NULL, 0, "Accept: application/json\r\n");
    expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, "Accept: application/json;q=0.5, application/cbor\r\n");
    cr_assert_str_eq(r.content_type, "application/cbor");
    resp_free(&r);
    stop_ok();
}

Test(http, keep_alive_serves_several_requests_on_one_connection)
{
    oad_start(&srv, NULL);
    int fd = http_connect(&srv);
    for (int i = 0; i < 5; i++) {
        SEND(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n");
        struct resp r;
        cr_assert(http_read(fd, &r, 5000));
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.connection, "");
        resp_free(&r);
    }
    http_close(fd);
    stop_ok();
}

Test(http, pipelined_requests_are_answered_in_order)
{
    oad_start(&srv, NULL);
    int fd = http_connect(&srv);
    const char *body = "{\"client\":\"pipe\",\"protocol\":1}";
    char req[2048];
    snprintf(req, sizeof(req),
             "GET /healthz HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n"
             "POST /v1/hello HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s"
             "GET /nowhere HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n"
             "DELETE /healthz HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n",
             strlen(body), body);
    SEND(fd, req);
    int want[] = {200, 200, 404, 405};
    for (int i = 0; i < 4; i++) {
        struct resp r;
        cr_assert(http_read(fd, &r, 5000), "response %d missing", i);
        cr_assert_eq(r.status, want[i], "response %d: %d %s", i, r.status, r.body);
        if (i == 1)
            cr_assert(strstr(r.body, "\"server\":\"oad\""));
        resp_free(&r);
    }
    http_close(fd);
    stop_ok();
}

Test(http, a_stalled_half_header_gets_408_and_does_not_hold_others)
{
    const char *extra[] = {"http.header_timeout_ms=300", NULL};
    oad_start(&srv, extra);
    int slow = http_connect(&srv);
    SEND(slow, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Half: ");
    /* Another client is served meanwhile. */
    struct resp r = http_json(&srv, "GET", "/healthz", NULL, NULL, NULL);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    cr_assert(http_read(slow, &r, 3000), "no 408 for a stalled header");
    expect_error(&r, 408, "timeout");
    cr_assert_str_eq(r.connection, "close");
    resp_free(&r);
    cr_assert(http_wait_close(slow, 3000));
    http_close(slow);
    stop_ok();
}

Test(http, an_idle_keep_alive_connection_is_closed)
{
    const char *extra[] = {"http.idle_timeout_ms=200", NULL};
    oad_start(&srv, extra);
    int fd = http_connect(&srv);
    cr_assert(http_wait_close(fd, 3000), "idle connection was not closed");
    http_close(fd);
    stop_ok();
}

Test(http, oversize_headers_get_431)
{
    const char *extra[] = {"http.max_header_bytes=2048", NULL};
    oad_start(&srv, extra);
    char big[4096];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    char h[4200];
    snprintf(h, sizeof(h), "X-Big: %s\r\nAccept: application/json\r\n", big);
    struct resp r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, h);
    expect_error(&r, 431, "headers_too_large");
    resp_free(&r);
    stop_ok();
}

Test(http, oversize_bodies_get_413_by_length_and_by_chunks)
{
    oad_start(&srv, NULL);
    /* Declared: /v1/hello takes at most 64 KiB. */
    int fd = http_connect(&srv);
    SEND(fd, "POST /v1/hello HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n"
             "Content-Type: application/cbor\r\nContent-Length: 1000000\r\n\r\n");
    struct resp r;
    cr_assert(http_read(fd, &r, 5000));
    expect_error(&r, 413, "body_too_large");
    resp_free(&r);
    http_close(fd);

    /* Chunked, over the limit as it arrives. */
    fd = http_connect(&srv);
    SEND(fd, "POST /v1/hello HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n"
             "Content-Type: application/cbor\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[8200];
    memset(chunk, 0, sizeof(chunk));
    int n = snprintf(chunk, sizeof(chunk), "2000\r\n");
    memset(chunk + n, 'x', 0x2000);
    memcpy(chunk + n + 0x2000, "\r\n", 2);
    bool got = false;
    for (int i = 0; i < 20 && !got; i++) {
        if (!http_send(fd, chunk, (size_t)n + 0x2000 + 2))
            break;
    }
    cr_assert(http_read(fd, &r, 5000));
    expect_error(&r, 413, "body_too_large");
    resp_free(&r);
    http_close(fd);
    stop_ok();
}

Test(http, malformed_request_line_gets_400_and_close)
{
    oad_start(&srv, NULL);
    int fd = http_connect(&srv);
    SEND(fd, "GET /healthz HTTQ/1.1\r\nHost: t\r\n\r\n");
    struct resp r;
    cr_assert(http_read(fd, &r, 5000));
    expect_error(&r, 400, "bad_request");
    cr_assert_str_eq(r.connection, "close");
    resp_free(&r);
    cr_assert(http_wait_close(fd, 3000));
    http_close(fd);

    fd = http_connect(&srv);
    SEND(fd, "\x01\x02\x03 garbage\r\n\r\n");
    cr_assert(http_read(fd, &r, 5000));
    cr_assert_eq(r.status, 400);
    resp_free(&r);
    http_close(fd);
    stop_ok();
}

Test(http, invalid_cbor_and_json_bodies_get_400_bad_body)
{
    oad_start(&srv, NULL);
    const unsigned char bad_cbor[] = {0xa2, 0x61}; /* truncated */
    struct resp r = http_do(&srv, "POST", "/v1/hello", "application/cbor", bad_cbor, sizeof(bad_cbor),
                            "Accept: application/json\r\n");
    expect_error(&r, 400, "bad_body");
    resp_free(&r);

    r = http_json(&srv, "POST", "/v1/hello", NULL, "{\"client\": \"x\", ", NULL);
    expect_error(&r, 400, "bad_body");
    resp_free(&r);

    r = http_json(&srv, "POST", "/v1/hello", NULL, "{\"client\":\"a\",\"client\":\"b\",\"protocol\":1}", NULL);
    expect_error(&r, 400, "bad_body");
    cr_assert(strstr(r.body, "duplicate"), "%s", r.body);
    resp_free(&r);

    r = http_json(&srv, "POST", "/v1/hello", NULL, "{\"client\":7,\"protocol\":1}", NULL);
    expect_error(&r, 400, "bad_field");
    cr_assert(strstr(r.body, "client"));
    resp_free(&r);

    r = http_do(&srv, "POST", "/v1/hello", "text/plain", "hi", 2, "Accept: application/json\r\n");
    expect_error(&r, 415, "unsupported_media_type");
    resp_free(&r);
    stop_ok();
}

Test(http, deep_nesting_and_huge_declared_lengths_are_refused)
{
    oad_start(&srv, NULL);
    unsigned char deep[200];
    memset(deep, 0x81, sizeof(deep)); /* [[[[...]]]] */
    deep[sizeof(deep) - 1] = 0x00;
    struct resp r = http_do(&srv, "POST", "/v1/hello", "application/cbor", deep, sizeof(deep),
                            "Accept: application/json\r\n");
    expect_error(&r, 400, "bad_body");
    cr_assert(strstr(r.body, "nested"), "%s", r.body);
    resp_free(&r);

    /* An array that claims 2^32 elements, a map that claims 2^60 pairs, a text of 2^62 bytes. */
    const unsigned char huge_array[] = {0x9a, 0xff, 0xff, 0xff, 0xff, 0x00};
    const unsigned char huge_map[] = {0xbb, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x00};
    const unsigned char huge_text[] = {0x7b, 0x40, 0, 0, 0, 0, 0, 0, 0, 'a'};
    const unsigned char *cases[] = {huge_array, huge_map, huge_text};
    size_t lens[] = {sizeof(huge_array), sizeof(huge_map), sizeof(huge_text)};
    for (int i = 0; i < 3; i++) {
        r = http_do(&srv, "POST", "/v1/hello", "application/cbor", cases[i], lens[i], "Accept: application/json\r\n");
        expect_error(&r, 400, "bad_body");
        resp_free(&r);
    }

    char json[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(json, "[");
    for (int i = 0; i < 100; i++)
        strcat(json, "]");
    r = http_json(&srv, "POST", "/v1/hello", NULL, json, NULL);
    expect_error(&r, 400, "bad_body");
    resp_free(&r);
    stop_ok();
}

Test(http, the_same_request_in_cbor_and_json_gives_the_same_answer)
{
    oad_start(&srv, NULL);
    cbor_item_t *m = pv_map(2);
    pv_put_text(m, "client", "同一个请求");
    pv_put_int(m, "protocol", 1);
    size_t len = 0;
    unsigned char *cbor = pv_encode_cbor(m, &len);
    cbor_decref(&m);

    struct resp rc = http_do(&srv, "POST", "/v1/hello", "application/cbor", cbor, len, NULL);
    free(cbor);
    cr_assert_eq(rc.status, 200);
    cr_assert_str_eq(rc.content_type, "application/cbor");
    struct resp rj = http_json(&srv, "POST", "/v1/hello", NULL, "{\"client\":\"同一个请求\",\"protocol\":1}", NULL);
    cr_assert_eq(rj.status, 200);

    cbor_item_t *it = NULL;
    cr_assert_eq(pv_decode_cbor(rc.body, rc.body_len, &it, NULL, 0), OA_E_OK);
    size_t jl;
    char *as_json = pv_encode_json(it, &jl);
    cbor_decref(&it);
    json_t *a = json_loads(as_json, 0, NULL), *b = resp_json(&rj);
    free(as_json);
    json_object_del(a, "request_id");
    json_object_del(b, "request_id");
    cr_assert(json_equal(a, b), "CBOR and JSON answers differ");
    json_decref(a);
    json_decref(b);
    resp_free(&rc);
    resp_free(&rj);

    /* Errors too. */
    struct resp ec = http_do(&srv, "POST", "/v1/hello", "application/cbor", "\xa0", 1, NULL);
    struct resp ej = http_json(&srv, "POST", "/v1/hello", NULL, "{}", NULL);
    cr_assert_eq(ec.status, 400);
    cr_assert_eq(ej.status, 400);
    cr_assert_eq(pv_decode_cbor(ec.body, ec.body_len, &it, NULL, 0), OA_E_OK);
    as_json = pv_encode_json(it, &jl);
    cbor_decref(&it);
    a = json_loads(as_json, 0, NULL);
    b = resp_json(&ej);
    cr_assert(json_equal(a, b), "%s vs %s", as_json, ej.body);
    free(as_json);
    json_decref(a);
    json_decref(b);
    resp_free(&ec);
    resp_free(&ej);
    stop_ok();
}

Test(http, negotiation_and_unknown_routes)
{
    oad_start(&srv, NULL);
    struct resp r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, "Accept: text/html\r\n");
    expect_error(&r, 406, "not_acceptable");
    resp_free(&r);
    r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, "Accept: application/cbor;q=0.5, application/json\r\n");
    cr_assert_str_eq(r.content_type, "application/json");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/nothing", NULL, NULL, NULL);
    expect_error(&r, 404, "not_found");
    resp_free(&r);
    r = http_json(&srv, "PUT", "/v1/hello", NULL, NULL, NULL);
    expect_error(&r, 405, "method_not_allowed");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/users/me", NULL, NULL, NULL);
    expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    stop_ok();
}

/* A request whose headers have begun to arrive: its connection is not idle. */
#define HALF "GET /healthz HTTP/1.1\r\nHost: t\r\n"
#define REST "Accept: application/json\r\n\r\n"

static void expect_healthz(int fd, const char *what)
{
    struct resp r;
    cr_assert(http_read(fd, &r, 3000), "%s: no answer", what);
    cr_assert_eq(r.status, 200, "%s: status %d, body %s", what, r.status, r.body);
    resp_free(&r);
}

static void healthz_on(int fd, const char *what)
{
    SEND(fd, HALF REST);
    expect_healthz(fd, what);
}

Test(http, the_connection_limit_answers_503_when_no_connection_is_idle)
{
    const char *extra[] = {"http.max_connections=2", NULL};
    oad_start(&srv, extra);
    int a = http_connect(&srv), b = http_connect(&srv);
    SEND(a, HALF);
    SEND(b, HALF);
    usleep(100 * 1000);
    int c = http_connect(&srv);
    struct resp r;
    cr_assert(http_read(c, &r, 3000));
    expect_error(&r, 503, "unavailable");
    resp_free(&r);
    http_close(c);
    /* The two in the middle of a request were left alone. */
    SEND(a, REST);
    SEND(b, REST);
    expect_healthz(a, "a");
    expect_healthz(b, "b");
    http_close(a);
    http_close(b);
    stop_ok();
}

Test(http, at_the_connection_limit_the_longest_idle_connection_makes_room)
{
    const char *extra[] = {"http.max_connections=4", NULL};
    oad_start(&srv, extra);
    /* One workstation holds every connection, keeping each alive. */
    int held[4];
    for (int i = 0; i < 4; i++) {
        held[i] = http_connect_from(&srv, "127.0.0.2");
        healthz_on(held[i], "holder");
    }
    healthz_on(held[0], "holder 0 again"); /* now held[1] has been idle longest */
    /* Another is served all the same, on more than one connection... */
    int other[2];
    for (int i = 0; i < 2; i++) {
        other[i] = http_connect_from(&srv, "127.0.0.3");
        healthz_on(other[i], "the other source");
    }
    /* ...at the cost of the holder's longest-idle connections, oldest first. */
    cr_assert(http_wait_close(held[1], 3000), "the longest-idle connection was not closed");
    cr_assert(http_wait_close(held[2], 3000), "the next longest-idle connection was not closed");
    healthz_on(held[0], "holder 0");
    healthz_on(held[3], "holder 3");
    healthz_on(other[0], "the other source's first");
    for (int i = 0; i < 4; i++)
        http_close(held[i]);
    http_close(other[0]);
    http_close(other[1]);
    stop_ok();
}

Test(http, one_source_at_its_cap_leaves_room_for_others)
{
    const char *extra[] = {"http.max_connections=16", "http.max_connections_per_source=3", NULL};
    oad_start(&srv, extra);
    int held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = http_connect_from(&srv, "127.0.0.2");
        SEND(held[i], HALF);
    }
    usleep(100 * 1000);
    /* At its cap with every connection busy, the source is refused... */
    int more = http_connect_from(&srv, "127.0.0.2");
    struct resp r;
    cr_assert(http_read(more, &r, 3000));
    expect_error(&r, 503, "unavailable");
    resp_free(&r);
    http_close(more);
    /* ...and another source is still served. */
    int other = http_connect_from(&srv, "127.0.0.3");
    healthz_on(other, "the other source");
    http_close(other);
    /* Once its connections are idle, a new one of the source's own closes its longest-idle. */
    for (int i = 0; i < 3; i++) {
        SEND(held[i], REST);
        expect_healthz(held[i], "held");
    }
    more = http_connect_from(&srv, "127.0.0.2");
    healthz_on(more, "the source's new connection");
    cr_assert(http_wait_close(held[0], 3000), "the source's longest-idle connection was not closed");
    healthz_on(held[1], "held 1");
    healthz_on(held[2], "held 2");
    http_close(more);
    for (int i = 0; i < 3; i++)
        http_close(held[i]);
    stop_ok();
}

Test(http, metrics_expose_requests_connections_and_commits)
{
    oad_start(&srv, NULL);
    char token[128], otp[64], h[256];
    oad_initial_password(&srv, "auditor", otp, sizeof(otp));
    admin_login(&srv, "auditor", "Trail-Watcher-2026", token, sizeof(token));
    struct resp r = http_json(&srv, "GET", "/healthz", NULL, NULL, NULL);
    resp_free(&r);
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", token);
    r = http_do(&srv, "GET", "/metrics", NULL, NULL, 0, h);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.content_type, "text/plain"));
    cr_assert(strstr(r.body, "oa_http_requests_total{route=\"healthz\",status=\"200\"} 1"), "%s", r.body);
    cr_assert(strstr(r.body, "oa_http_requests_total{route=\"login\",status=\"201\"} 1"));
    cr_assert(strstr(r.body, "oa_http_open_connections 1"));
    cr_assert(strstr(r.body, "oa_http_request_duration_seconds_count"));
    cr_assert(strstr(r.body, "oa_db_commit_duration_seconds_bucket{le=\"+Inf\"}"));
    resp_free(&r);
    stop_ok();
    /* The log names requests by id, and never the password or the token. */
    cr_assert(oad_log_contains(&srv, "event=request id="));
    cr_assert(!oad_log_contains(&srv, otp));
    cr_assert(!oad_log_contains(&srv, token));
}

static struct resp metrics_as(const struct oad *o, const char *bearer)
{
    char h[256] = "";
    if (bearer)
        snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", bearer);
    return http_do(o, "GET", "/metrics", NULL, NULL, 0, h);
}

#define SCRAPE "Scrape-7f3a9c2e51d84b06"

Test(http, metrics_need_sysadmin_the_auditor_or_the_scrape_token)
{
    const char *extra[] = {"metrics.scrape_token=" SCRAPE, NULL};
    oad_start(&srv, extra);
    char sys[128], sec[128], aud[128];
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    admin_login(&srv, "secadmin", "Label-Keeper-2026", sec, sizeof(sec));
    admin_login(&srv, "auditor", "Trail-Watcher-2026", aud, sizeof(aud));
    /* No credentials, or wrong ones: 401. */
    const char *nobody[] = {NULL, "Scrape-7f3a9c2e51d84b0", SCRAPE "x", "not a token"};
    for (size_t i = 0; i < sizeof(nobody) / sizeof(nobody[0]); i++) {
        struct resp r = metrics_as(&srv, nobody[i]);
        expect_error(&r, 401, "unauthenticated");
        resp_free(&r);
    }
    /* A session without the role: 403, audited. */
    struct resp r = metrics_as(&srv, sec);
    expect_error(&r, 403, "forbidden");
    resp_free(&r);
    /* The scraper, sysadmin and the auditor read them. */
    const char *may[] = {SCRAPE, sys, aud};
    for (size_t i = 0; i < 3; i++) {
        r = metrics_as(&srv, may[i]);
        cr_assert_eq(r.status, 200, "%zu: %d %s", i, r.status, r.body);
        cr_assert(strstr(r.body, "oa_http_open_connections"));
        resp_free(&r);
    }
    /* A scraper that asks for text alone gets it; one that accepts no text, 406. */
    char h[256];
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: text/plain\r\n", SCRAPE);
    r = http_do(&srv, "GET", "/metrics", NULL, NULL, 0, h);
    cr_assert_eq(r.status, 200, "Accept: text/plain: %d %s", r.status, r.body);
    cr_assert(strstr(r.content_type, "text/plain"));
    resp_free(&r);
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: text/*;q=0.5\r\n", SCRAPE);
    r = http_do(&srv, "GET", "/metrics", NULL, NULL, 0, h);
    cr_assert_eq(r.status, 200, "Accept: text/*: %d", r.status);
    resp_free(&r);
    snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nAccept: application/xml\r\n", SCRAPE);
    r = http_do(&srv, "GET", "/metrics", NULL, NULL, 0, h);
    expect_error(&r, 406, "not_acceptable");
    resp_free(&r);
    r = http_json(&srv, "GET", "/v1/audit/entries?event=metrics.read", aud, NULL, NULL);
    json_t *j = ok_json(&r, 200), *e = json_array_get(json_object_get(j, "entries"), 0);
    cr_assert_not_null(e, "the refusal was not audited");
    cr_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "refused");
    cr_assert_str_eq(json_string_value(json_object_get(e, "actor")), "secadmin");
    json_decref(j);
    stop_ok();
    cr_assert(!oad_log_contains(&srv, SCRAPE), "the scrape token is in the log");
}

/* One of this machine's IPv4 addresses that is not loopback, or false. */
static bool other_address(char *out, size_t n)
{
    struct ifaddrs *all = NULL;
    bool found = false;
    if (getifaddrs(&all) != 0)
        return false;
    for (struct ifaddrs *i = all; i && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
            !(i->ifa_flags & IFF_UP))
            continue;
        found = inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)n) != NULL;
    }
    freeifaddrs(all);
    return found;
}

Test(http, metrics_answer_loopback_only_unless_allowed)
{
    char host[64], sys[128];
    if (!other_address(host, sizeof(host)))
        cr_skip_test("this machine has no IPv4 address but loopback");
    /* Served on another address, the client's is not loopback either (plain
     * HTTP there needs tls.allow_plain_remote: this test is about /metrics). */
    const char *plain[] = {"tls.allow_plain_remote=true", NULL};
    oad_start_at(&srv, host, plain);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    struct resp r = metrics_as(&srv, sys);
    expect_error(&r, 403, "forbidden");
    cr_assert(strstr(r.body, "allow_remote"), "%s", r.body);
    resp_free(&r);
    stop_ok();

    const char *extra[] = {"metrics.allow_remote=true", "tls.allow_plain_remote=true", NULL};
    oad_start_at(&srv, host, extra);
    admin_login(&srv, "sysadmin", "Root-Of-Trust-2026", sys, sizeof(sys));
    r = metrics_as(&srv, sys);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    resp_free(&r);
    r = metrics_as(&srv, NULL);
    expect_error(&r, 401, "unauthenticated");
    resp_free(&r);
    stop_ok();
}

Test(http, sigterm_finishes_in_flight_requests_then_exits_0)
{
    const char *extra[] = {"security.login_failure_delay_ms=1000", NULL};
    oad_start(&srv, extra);
    /* A failed login is held for a deliberate delay: a request in flight. */
    int fd = http_connect(&srv);
    const char *body = "{\"username\":\"sysadmin\",\"password\":\"wrong-password\"}";
    char req[512];
    snprintf(req, sizeof(req),
             "POST /v1/sessions HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    SEND(fd, req);
    usleep(100 * 1000);
    kill(srv.pid, SIGTERM);
    struct resp r;
    cr_assert(http_read(fd, &r, 5000), "the in-flight request was dropped");
    expect_error(&r, 401, "bad_credentials");
    cr_assert_str_eq(r.connection, "close");
    resp_free(&r);
    http_close(fd);
    cr_assert_eq(oad_wait(&srv, 5000), 0, "oad did not exit 0 by itself after SIGTERM");
    cr_assert(oad_log_contains(&srv, "event=shutdown"));
    cr_assert(oad_log_contains(&srv, "event=stopped loop_closed=yes"));
}

Test(http, pipelined_requests_then_a_half_close_are_all_answered)
{
    oad_start(&srv, NULL);
    int fd = http_connect(&srv);
    SEND(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n"
             "GET /nowhere HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n");
    shutdown(fd, SHUT_WR);
    int want[] = {200, 200, 404};
    for (int i = 0; i < 3; i++) {
        struct resp r;
        cr_assert(http_read(fd, &r, 5000), "response %d missing after the half-close", i);
        cr_assert_eq(r.status, want[i]);
        resp_free(&r);
    }
    cr_assert(http_wait_close(fd, 3000));
    http_close(fd);
    stop_ok();
}

Test(http, headers_that_must_come_once_are_refused_when_repeated)
{
    oad_start(&srv, NULL);
    char token[128], otp[64], h[512];
    oad_initial_password(&srv, "sysadmin", otp, sizeof(otp));
    cr_assert_eq(login(&srv, "sysadmin", otp, token, sizeof(token)), 201);
    /* Two Authorization headers, in either order: which one is meant? */
    for (int order = 0; order < 2; order++) {
        snprintf(h, sizeof(h), "Accept: application/json\r\nAuthorization: Bearer %s\r\nAuthorization: Bearer %s\r\n",
                 order ? token : "not-a-token", order ? "not-a-token" : token);
        struct resp r = http_do(&srv, "GET", "/v1/users/me", NULL, NULL, 0, h);
        expect_error(&r, 400, "bad_request");
        cr_assert(strstr(r.body, "Authorization"), "%s", r.body);
        resp_free(&r);
    }
    const char *twice[][2] = {
        {"If-Match", "If-Match: \"a\"\r\nIf-Match: \"b\"\r\n"},
        {"Idempotency-Key", "Idempotency-Key: k1\r\nIdempotency-Key: k2\r\n"},
        {"Range", "Range: bytes=0-1\r\nrange: bytes=2-3\r\n"},
        {"Upload-Offset", "Upload-Offset: 0\r\nUpload-Offset: 5\r\n"},
    };
    for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
        snprintf(h, sizeof(h), "Accept: application/json\r\n%s", twice[i][1]);
        struct resp r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, h);
        expect_error(&r, 400, "bad_request");
        cr_assert(strstr(r.body, twice[i][0]), "%s", r.body);
        resp_free(&r);
    }
    const char *body = "{\"client\":\"t\",\"protocol\":1}";
    struct resp r = http_do(&srv, "POST", "/v1/hello", "application/json", body, strlen(body),
                            "Accept: application/json\r\nContent-Type: application/cbor\r\n");
    expect_error(&r, 400, "bad_request");
    cr_assert(strstr(r.body, "Content-Type"), "%s", r.body);
    resp_free(&r);
    /* Accept may be repeated: its lists are joined. */
    r = http_do(&srv, "GET", "/healthz", NULL, NULL, 0, "Accept: text/html\r\nAccept: application/json\r\n");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "application/json");
    resp_free(&r);
    /* One of each is fine. */
    snprintf(h, sizeof(h), "Accept: application/json\r\nAuthorization: Bearer %s\r\n", token);
    r = http_do(&srv, "GET", "/v1/users/me", NULL, NULL, 0, h);
    cr_assert_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    stop_ok();
}
