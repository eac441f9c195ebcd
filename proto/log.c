/* proto/log.c: see log.h. */
#include "proto/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = OA_LOG_INFO;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool buffered;         /* guarded by lock */
static char buf[1 << 16];     /* guarded by lock */
static size_t used;           /* guarded by lock */

void oa_log_set_level(enum oa_log_level level) { min_level = (int)level; }
bool oa_log_enabled(enum oa_log_level level) { return (int)level >= min_level; }

/* Writes what is buffered; the caller holds the lock. */
static void flush_locked(void)
{
    size_t off = 0;
    while (off < used) {
        ssize_t n = write(STDERR_FILENO, buf + off, used - off);
        if (n <= 0)
            break; /* nowhere to report a failing stderr */
        off += (size_t)n;
    }
    used = 0;
}

void oa_log_set_buffered(bool b)
{
    pthread_mutex_lock(&lock);
    flush_locked();
    buffered = b;
    pthread_mutex_unlock(&lock);
}

int oa_log_parse_level(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void oa_log_flush(void)
{
    pthread_mutex_lock(&lock);
    flush_locked();
    pthread_mutex_unlock(&lock);
}

void oa_log(enum oa_log_level level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if ((int)level < min_level)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), names[level], event);
    if (fmt != NULL && fmt[0] != '\0' && n > 0 && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&lock);
    if (used + (size_t)n > sizeof(buf))
        flush_locked();
    memcpy(buf + used, line, (size_t)n);
    used += (size_t)n;
    if (!buffered || level >= OA_LOG_ERROR)
        flush_locked();
    pthread_mutex_unlock(&lock);
}

const char *oa_log_str(char *out, size_t outlen, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen < 8) {
        if (outlen)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
