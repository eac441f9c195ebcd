/* model/job.c: see job.h. */
#include "model/job.h"

const double oa_commit_bucket_us[OA_COMMIT_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000,
};
