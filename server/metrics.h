/*
 * server/metrics.h: counters for GET /metrics, in the Prometheus text format.
 * Loop thread only, except the writer's commit statistics, which are atomics.
 */
#ifndef OA_SERVER_METRICS_H
#define OA_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define OA_METRIC_MAX_ROUTES 128
#define OA_LATENCY_BUCKETS 12

struct oa_writer_stats;

struct oa_metrics {
    /* requests[route][status slot]; route index nroutes means "no route". */
    uint64_t requests[OA_METRIC_MAX_ROUTES + 1][25];
    uint64_t latency[OA_LATENCY_BUCKETS + 1];
    uint64_t latency_count;
    double latency_sum;
    uint64_t connections_total, connections_refused, connections_evicted;
};

void oa_metrics_request(struct oa_metrics *m, int route, int status, uint64_t ns);

/* Renders the exposition into a malloc'd buffer; *len gets its length. */
char *oa_metrics_render(const struct oa_metrics *m, const char *const *route_names, int nroutes,
                        unsigned open_connections, const struct oa_writer_stats *ws, size_t *len);

#endif
