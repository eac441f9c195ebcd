/*
 * proto/log.h: structured logging, one event per line on stderr:
 *
 *   ts=2026-11-21T12:00:00.123Z level=info event=request id=... status=200
 *
 * Values that come from outside pass through oa_log_str, which quotes and
 * escapes them, so a client can never forge a line.  No secret is ever
 * passed to these functions: passwords, tokens and keys have no log call.
 *
 * In the server, lines are buffered and written once per loop iteration
 * (oa_log_flush from a uv_check handle); elsewhere each line is written at once.
 * Every function here may be called from any thread (the loop, the writer,
 * the thread pool): one lock guards the buffer, and a line is never split.
 */
#ifndef OA_PROTO_LOG_H
#define OA_PROTO_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum oa_log_level { OA_LOG_DEBUG, OA_LOG_INFO, OA_LOG_WARN, OA_LOG_ERROR };

void oa_log_set_level(enum oa_log_level level);
int oa_log_parse_level(const char *s); /* -1 when unknown */
/* When buffered, lines are held until oa_log_flush (or the buffer fills). */
void oa_log_set_buffered(bool buffered);
bool oa_log_enabled(enum oa_log_level level);

/* Writes one line: ts, level, event, then the printf-formatted key=value pairs. */
void oa_log(enum oa_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void oa_log_flush(void);

/*
 * Quotes an untrusted string for a log value into out (always NUL-terminated,
 * truncated to outlen).  Returns out.
 */
const char *oa_log_str(char *out, size_t outlen, const char *s, size_t n);

#endif
