/* clients/net.c: see net.h. */
#include "clients/net.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/alloc.h"

#define MAX_RESPONSE (256u * 1024 * 1024)

static uint64_t received;
static char last_error[256];

const char *net_last_error(void)
{
    return last_error[0] ? last_error : "no detail";
}

static struct {
    char ca[512], pin[128], cert[512], key[512];
} tls;

void net_tls(const char *ca, const char *pin, const char *cert, const char *key)
{
    snprintf(tls.ca, sizeof(tls.ca), "%s", ca ? ca : "");
    snprintf(tls.pin, sizeof(tls.pin), "%s", pin ? pin : "");
    snprintf(tls.cert, sizeof(tls.cert), "%s", cert ? cert : "");
    snprintf(tls.key, sizeof(tls.key), "%s", key ? key : "");
}

bool net_url_allowed(const char *base, char *why, size_t n)
{
    if (strncasecmp(base, "https://", 8) == 0)
        return true;
    if (strncasecmp(base, "http://", 7) != 0) {
        snprintf(why, n, "the server's address must begin with https:// (or http:// on this machine): %s", base);
        return false;
    }
    const char *h = base + 7;
    size_t hl = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(hl < sizeof(host) ? hl : sizeof(host) - 1), h);
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
        (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host)))
        return true;
    snprintf(why, n, "refusing plain HTTP to %s: documents would cross the network readable; use https:// "
             "(plain http:// is allowed only to this machine)", host);
    return false;
}

uint64_t net_bytes_received(void)
{
    return received;
}

struct sink {
    struct net_resp *r;
    FILE *file;          /* downloads: the body goes here when the status is 2xx */
    uint64_t *got;
    CURL *h;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    received += len;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (s->file && status >= 200 && status < 300) {
        if (fwrite(p, 1, len, s->file) != len)
            return 0;
        *s->got += len;
        return len;
    }
    if (s->r->len + len > MAX_RESPONSE)
        return 0;
    s->r->body = oa_xrealloc(s->r->body, s->r->len + len + 1);
    memcpy(s->r->body + s->r->len, p, len);
    s->r->len += len;
    s->r->body[s->r->len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    received += len;
    if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        const char *v = p + 13;
        while (*v == ' ')
            v++;
        size_t vl = len - (size_t)(v - p);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        if (vl >= sizeof(s->r->content_type))
            vl = sizeof(s->r->content_type) - 1;
        memcpy(s->r->content_type, v, vl);
        s->r->content_type[vl] = '\0';
    }
    return len;
}

struct source {
    FILE *f;
    uint64_t left;
};

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct source *src = arg;
    size_t want = size * n;
    if (want > src->left)
        want = (size_t)src->left;
    size_t got = fread(p, 1, want, src->f);
    src->left -= got;
    return got;
}

static int perform(CURL *h, struct sink *s, const char *base, const char *token, const char *path,
                   const char *accept, const char *ctype, const char *const *headers)
{
    char url[2048], auth[600], hdr[256], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *list = NULL;
    if (!net_url_allowed(base, s->r->error, sizeof(s->r->error))) {
        snprintf(last_error, sizeof(last_error), "%s", s->r->error);
        return -1;
    }
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    if (tls.ca[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca);
    if (tls.pin[0]) {
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, tls.pin);
        if (!tls.ca[0]) {
            /* pinned, with no CA: the key is the identity (curl checks the pin even so) */
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    if (tls.cert[0]) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key[0] ? tls.key : tls.cert);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 90L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    if (token && token[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        list = curl_slist_append(list, auth);
    }
    snprintf(hdr, sizeof(hdr), "Accept: %s", accept ? accept : "application/json");
    list = curl_slist_append(list, hdr);
    if (ctype) {
        snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
        list = curl_slist_append(list, hdr);
    }
    list = curl_slist_append(list, "Expect:");
    for (int i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        snprintf(s->r->error, sizeof(s->r->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        snprintf(last_error, sizeof(last_error), "%s", s->r->error);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->r->status);
        return s->r->status ? 0 : -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->r->status);
    return 0;
}

int net_request(const char *base, const char *token, const char *method, const char *path, const char *accept,
                const char *ctype, const void *body, size_t len, const char *const *headers, struct net_resp *r)
{
    memset(r, 0, sizeof(*r));
    CURL *h = curl_easy_init();
    if (h == NULL)
        oa_oom();
    struct sink s = {r, NULL, NULL, h};
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (ctype) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    int rc = perform(h, &s, base, token, path, accept, ctype, headers);
    curl_easy_cleanup(h);
    return rc;
}

int net_upload_file(const char *base, const char *token, const char *method, const char *path, FILE *f,
                    uint64_t from, uint64_t len, const char *const *headers, struct net_resp *r)
{
    memset(r, 0, sizeof(*r));
    if (fseeko(f, (off_t)from, SEEK_SET) != 0) {
        snprintf(r->error, sizeof(r->error), "cannot seek in the file");
        return -1;
    }
    CURL *h = curl_easy_init();
    if (h == NULL)
        oa_oom();
    struct sink s = {r, NULL, NULL, h};
    struct source src = {f, len};
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &src);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    int rc = perform(h, &s, base, token, path, "application/json", "application/offset+octet-stream", headers);
    curl_easy_cleanup(h);
    return rc;
}

int net_download(const char *base, const char *token, const char *path, FILE *out, uint64_t from,
                 struct net_resp *r, uint64_t *got)
{
    memset(r, 0, sizeof(*r));
    *got = 0;
    CURL *h = curl_easy_init();
    if (h == NULL)
        oa_oom();
    struct sink s = {r, out, got, h};
    char range[64];
    const char *hdrs[2] = {NULL, NULL};
    if (from > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)from);
        hdrs[0] = range;
    }
    int rc = perform(h, &s, base, token, path, "*/*", NULL, hdrs);
    curl_easy_cleanup(h);
    return rc;
}

void net_resp_free(struct net_resp *r)
{
    free(r->body);
    r->body = NULL;
}
