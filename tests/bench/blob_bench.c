/*
 * tests/bench/blob_bench.c: blob store throughput, at the codec level (the
 * HTTP upload and download routes are not built yet).  Write = compress (if
 * it pays) + encrypt + write + fsync + rename; read = decrypt + decompress,
 * digest checked.  Peak RSS is printed after each size, to show it does not
 * grow with the blob.   Usage: blob_bench DIR
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "storage/blob.h"

static int discard(void *arg, const void *data, size_t len)
{
    (void)data;
    *(uint64_t *)arg += len;
    return 0;
}

/* Document-like text: sentences drawn at random, with numbers (compresses about 4:1). */
static uint32_t x = 2463534242u;

static void fill_text(unsigned char *p, size_t n)
{
    static const char *const words[] = {
        "关于做好冬季安全生产工作的通知", "各区人民政府，市政府各部门：", "现将有关事项通知如下。",
        "一、提高思想认识，切实加强组织领导。", "二、突出工作重点，全面排查安全隐患。", "请认真贯彻执行。",
        "特此通知。", "联系人：", "电话：", "（此件公开发布）", "某市人民政府办公室", "年", "月", "日",
        "第", "条", "款", "项目经费", "预算执行情况", "依申请公开", "答复如下：",
    };
    size_t o = 0;
    while (o < n) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        char tmp[96];
        int len = (x & 3) == 0 ? snprintf(tmp, sizeof(tmp), "%u", x % 100000)
                               : snprintf(tmp, sizeof(tmp), "%s", words[x % (sizeof(words) / sizeof(words[0]))]);
        for (int i = 0; i < len && o < n; i++)
            p[o++] = (unsigned char)tmp[i];
    }
}

/* Incompressible bytes, fast (xorshift64*). */
static void fill_random(unsigned char *p, size_t n)
{
    static uint64_t st = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        st ^= st >> 12;
        st ^= st << 25;
        st ^= st >> 27;
        uint64_t v = st * 2685821657736338717ull;
        memcpy(p + i, &v, 8);
    }
}

static void fill(unsigned char *p, size_t n, int text)
{
    if (text)
        fill_text(p, n);
    else
        fill_random(p, n);
}

static long peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv)
{
    if (argc < 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: blob_bench DIR\n");
        return 2;
    }
    unsigned char dek[OA_DEK_LEN];
    oa_dek_new(dek);
    const char ad[] = "doc:1|rev:1|level:2";
    /* One 1 MiB chunk, reused: the data is generated, never held whole. */
    unsigned char *chunk = malloc(1 << 20);
    printf("%-6s %-15s %10s %10s %12s\n", "size", "data", "write MB/s", "read MB/s", "peak RSS MB");
    const size_t sizes[] = {1u << 20, 256u << 20};
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 2; c++) {
            if (s == 0) {
                /* 32 MiB of the same kind of data for the zstd ceiling (blob.sh runs zstd -b3 on it). */
                char sample[600];
                snprintf(sample, sizeof(sample), "%s/sample-%s", argv[1], c ? "text" : "random");
                FILE *f = fopen(sample, "wb");
                for (int k = 0; k < 32 && f; k++) {
                    fill(chunk, 1 << 20, c);
                    fwrite(chunk, 1, 1 << 20, f);
                }
                if (f)
                    fclose(f);
            }
            char path[600], cause[256];
            snprintf(path, sizeof(path), "%s/bench-%d-%d", argv[1], s, c);
            struct oa_blob_writer *w;
            uint64_t t0 = uv_hrtime();
            if (oa_blob_writer_open(path, OA_BLOB_AES256GCM, dek, ad, strlen(ad), &w, cause, sizeof(cause)) != 0) {
                fprintf(stderr, "%s\n", cause);
                return 1;
            }
            uint64_t gen = 0;
            for (size_t done = 0; done < sizes[s]; done += 1 << 20) {
                uint64_t g0 = uv_hrtime();
                fill(chunk, 1 << 20, c); /* fresh data; its time is not counted */
                gen += uv_hrtime() - g0;
                if (oa_blob_write(w, chunk, 1 << 20, cause, sizeof(cause)) != 0) {
                    fprintf(stderr, "%s\n", cause);
                    return 1;
                }
            }
            struct oa_blob_info info;
            if (oa_blob_writer_finish(w, &info, cause, sizeof(cause)) != 0) {
                fprintf(stderr, "%s\n", cause);
                return 1;
            }
            double wsec = (double)(uv_hrtime() - t0 - gen) / 1e9;
            uint64_t got = 0;
            t0 = uv_hrtime();
            if (oa_blob_read(path, dek, ad, strlen(ad), 0, UINT64_MAX, info.digest, discard, &got, cause,
                             sizeof(cause)) != 0 || got != sizes[s]) {
                fprintf(stderr, "read failed: %s\n", cause);
                return 1;
            }
            double rsec = (double)(uv_hrtime() - t0) / 1e9;
            double mb = (double)sizes[s] / 1e6;
            printf("%-6s %-15s %10.0f %10.0f %12ld   (stored %.1f%%)\n", s ? "256MB" : "1MB",
                   c ? "compressible" : "incompressible", mb / wsec, mb / rsec, peak_rss_mb(),
                   100.0 * (double)info.stored / (double)info.size);
            unlink(path);
        }
    free(chunk);
    return 0;
}
