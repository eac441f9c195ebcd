/* server/metrics.c: see metrics.h. */
#include "server/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/health.h"
#include "model/job.h"
#include "proto/alloc.h"

static const int status_slots[] = {
    200, 201, 204, 206, 304, 400, 401, 403, 404, 405, 406, 408,
    409, 411, 412, 413, 415, 416, 428, 429, 431, 500, 503, 507, 0, /* 0: any other */
};
#define NSLOTS ((int)(sizeof(status_slots) / sizeof(status_slots[0])))
_Static_assert(sizeof(((struct oa_metrics *)0)->requests[0]) == NSLOTS * sizeof(uint64_t),
               "oa_metrics.requests has one slot per status");

static const double latency_le[OA_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
};

void oa_metrics_request(struct oa_metrics *m, int route, int status, uint64_t ns)
{
    if (route < 0 || route > OA_METRIC_MAX_ROUTES)
        route = OA_METRIC_MAX_ROUTES;
    int slot = NSLOTS - 1;
    for (int i = 0; i < NSLOTS - 1; i++)
        if (status_slots[i] == status) {
            slot = i;
            break;
        }
    m->requests[route][slot]++;
    double s = (double)ns / 1e9;
    int b = 0;
    while (b < OA_LATENCY_BUCKETS && s > latency_le[b])
        b++;
    m->latency[b]++;
    m->latency_count++;
    m->latency_sum += s;
}

struct out {
    char *buf;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap *= 2;
        o->buf = oa_xrealloc(o->buf, o->cap);
    }
}

char *oa_metrics_render(const struct oa_metrics *m, const char *const *route_names, int nroutes,
                        unsigned open_connections, const struct oa_writer_stats *ws, size_t *len)
{
    struct out o = {oa_xmalloc(8192), 0, 8192};

    put(&o, "# HELP oa_http_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE oa_http_requests_total counter\n");
    for (int r = 0; r <= OA_METRIC_MAX_ROUTES; r++) {
        const char *name = r < nroutes ? route_names[r] : r == OA_METRIC_MAX_ROUTES ? "none" : NULL;
        if (name == NULL)
            continue;
        for (int s = 0; s < NSLOTS; s++) {
            if (m->requests[r][s] == 0)
                continue;
            if (status_slots[s])
                put(&o, "oa_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", name, status_slots[s],
                    (unsigned long long)m->requests[r][s]);
            else
                put(&o, "oa_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", name,
                    (unsigned long long)m->requests[r][s]);
        }
    }

    put(&o, "# HELP oa_http_request_duration_seconds Time from a request's first byte to its response.\n"
            "# TYPE oa_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < OA_LATENCY_BUCKETS; b++) {
        cum += m->latency[b];
        put(&o, "oa_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", latency_le[b],
            (unsigned long long)cum);
    }
    cum += m->latency[OA_LATENCY_BUCKETS];
    put(&o, "oa_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    put(&o, "oa_http_request_duration_seconds_sum %.6f\n", m->latency_sum);
    put(&o, "oa_http_request_duration_seconds_count %llu\n", (unsigned long long)m->latency_count);

    put(&o, "# HELP oa_http_open_connections Connections open now.\n"
            "# TYPE oa_http_open_connections gauge\n"
            "oa_http_open_connections %u\n", open_connections);
    put(&o, "# HELP oa_http_connections_total Connections accepted.\n"
            "# TYPE oa_http_connections_total counter\n"
            "oa_http_connections_total %llu\n", (unsigned long long)m->connections_total);
    put(&o, "# HELP oa_http_connections_refused_total Connections refused at a connection limit.\n"
            "# TYPE oa_http_connections_refused_total counter\n"
            "oa_http_connections_refused_total %llu\n", (unsigned long long)m->connections_refused);
    put(&o, "# HELP oa_http_connections_evicted_total Idle connections closed to make room for a new one.\n"
            "# TYPE oa_http_connections_evicted_total counter\n"
            "oa_http_connections_evicted_total %llu\n", (unsigned long long)m->connections_evicted);

    long long heap = oa_heap_allocated();
    if (heap >= 0)
        put(&o, "# HELP oa_heap_allocated_bytes Live heap allocations (sanitizer builds only).\n"
                "# TYPE oa_heap_allocated_bytes gauge\n"
                "oa_heap_allocated_bytes %lld\n", heap);

    put(&o, "# HELP oa_degraded 1 while a fault degrades the server (see /healthz), by reason.\n"
            "# TYPE oa_degraded gauge\n");
    struct oa_app_fault faults[OA_APP_FAULT_KINDS];
    size_t nfaults = oa_app_faults(faults, OA_APP_FAULT_KINDS);
    for (size_t f = 0; f < nfaults; f++)
        put(&o, "oa_degraded{reason=\"%s\"} %d\n", faults[f].name, faults[f].active ? 1 : 0);

    if (ws != NULL) {
        put(&o, "# HELP oa_db_commit_duration_seconds Time of one group commit (fsync included).\n"
                "# TYPE oa_db_commit_duration_seconds histogram\n");
        cum = 0;
        for (int b = 0; b < OA_COMMIT_BUCKETS; b++) {
            cum += atomic_load(&ws->bucket[b]);
            put(&o, "oa_db_commit_duration_seconds_bucket{le=\"%g\"} %llu\n", oa_commit_bucket_us[b] / 1e6,
                (unsigned long long)cum);
        }
        cum += atomic_load(&ws->bucket[OA_COMMIT_BUCKETS]);
        put(&o, "oa_db_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        put(&o, "oa_db_commit_duration_seconds_sum %.6f\n", (double)atomic_load(&ws->commit_us_sum) / 1e6);
        put(&o, "oa_db_commit_duration_seconds_count %llu\n", (unsigned long long)atomic_load(&ws->commits));
        put(&o, "# HELP oa_db_jobs_total Database jobs run (several share one commit).\n"
                "# TYPE oa_db_jobs_total counter\n"
                "oa_db_jobs_total %llu\n", (unsigned long long)atomic_load(&ws->jobs));
    }
    *len = o.len;
    return o.buf;
}
