/* storage/report.c: see report.h. */
#include "storage/report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto/value.h"

/* Epoch seconds of local midnight on the first of (year, month). */
static int64_t month_start(int year, int month)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1, .tm_isdst = -1};
    return (int64_t)mktime(&tm);
}

static cbor_item_t *rows(struct oa_store *s, const char *sql, int64_t from, int64_t to, const char *const *keys,
                         int nkeys)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    cbor_item_t *items[200];
    size_t n = 0;
    while (n < 200 && sqlite3_step(st) == SQLITE_ROW) {
        cbor_item_t *m = pv_map((size_t)nkeys);
        for (int k = 0; k < nkeys; k++) {
            if (sqlite3_column_type(st, k) == SQLITE_INTEGER)
                pv_put_int(m, keys[k], sqlite3_column_int64(st, k));
            else
                pv_put_text(m, keys[k], (const char *)sqlite3_column_text(st, k));
        }
        items[n++] = m;
    }
    sqlite3_reset(st);
    cbor_item_t *arr = pv_array_from(items, n);
    return arr;
}

static int64_t count(struct oa_store *s, const char *sql, int64_t from, int64_t to)
{
    sqlite3_stmt *st = oa_store_stmt(s, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

cbor_item_t *oa_security_report(struct oa_store *s, const char *month)
{
    int y = 0, m = 0;
    char tail;
    if (month == NULL || strlen(month) != 7 || sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 || y < 1970 ||
        m < 1 || m > 12)
        return NULL;
    int64_t from = month_start(y, m), to = month_start(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);

    static const char *const k_user[] = {"user", "count"};
    static const char *const k_refused[] = {"user", "level", "count"};
    static const char *const k_admin[] = {"user", "event", "count"};
    static const char *const k_alarm[] = {"id", "at", "event", "user", "target", "label", "detail"};
    static const char *const k_label[] = {"id", "at", "event", "user", "document", "detail"};
    static const char *const k_reset[] = {"id", "at", "event", "user", "target", "detail"};
    static const char *const k_fault[] = {"id", "at", "detail"};

    cbor_item_t *r = pv_map(15);
    pv_put_text(r, "month", month);
    pv_put_int(r, "from", from);
    pv_put_int(r, "to", to);
    pv_put_int(r, "logins_ok",
               count(s, "SELECT count(*) FROM audit_log WHERE event = 'login.ok' AND at >= ?1 AND at < ?2", from, to));
    pv_put_int(r, "logins_failed",
               count(s, "SELECT count(*) FROM audit_log WHERE event = 'login.fail' AND at >= ?1 AND at < ?2", from, to));
    pv_put(r, "failed_logins_by_account",
           rows(s, "SELECT coalesce(target, '?'), count(*) FROM audit_log WHERE event = 'login.fail'"
                   " AND at >= ?1 AND at < ?2 GROUP BY target ORDER BY 2 DESC LIMIT 50", from, to, k_user, 2));
    pv_put(r, "lockouts",
           rows(s, "SELECT coalesce(target, '?'), count(*) FROM audit_log WHERE event = 'account.lock'"
                   " AND at >= ?1 AND at < ?2 GROUP BY target ORDER BY 2 DESC LIMIT 50", from, to, k_user, 2));
    pv_put(r, "refused_accesses",
           rows(s, "SELECT coalesce(actor, '-'), coalesce(label, -1), count(*) FROM audit_log"
                   " WHERE outcome = 'refused' AND event != 'login.fail' AND at >= ?1 AND at < ?2"
                   " GROUP BY actor, label ORDER BY 3 DESC LIMIT 100", from, to, k_refused, 3));
    pv_put(r, "label_changes",
           rows(s, "SELECT id, at, event, coalesce(actor, '-'), coalesce(doc_id, 0), coalesce(detail, '')"
                   " FROM audit_log WHERE event IN ('document.label_raise', 'document.declassify')"
                   " AND at >= ?1 AND at < ?2 ORDER BY id LIMIT 200", from, to, k_label, 6));
    pv_put(r, "administrator_actions",
           rows(s, "SELECT a.actor, a.event, count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id"
                   " WHERE (u.roles & 448) != 0 AND a.at >= ?1 AND a.at < ?2"
                   " GROUP BY a.actor, a.event ORDER BY a.actor, 3 DESC LIMIT 200", from, to, k_admin, 3));
    /* Password resets, by sysadmin over the API or at the console. */
    pv_put(r, "password_resets",
           rows(s, "SELECT id, at, event, coalesce(actor, 'console'), coalesce(target, ''), coalesce(detail, '')"
                   " FROM audit_log WHERE event IN ('user.password_reset', 'console.password_reset')"
                   " AND at >= ?1 AND at < ?2 ORDER BY id LIMIT 200", from, to, k_reset, 6));
    /* Alarms: lockouts, refusals on classified documents (秘密 and above), and faults of the system. */
    pv_put(r, "alarms",
           rows(s, "SELECT id, at, event, coalesce(actor, '-'), coalesce(target, ''), coalesce(label, -1),"
                   " coalesce(detail, '') FROM audit_log WHERE at >= ?1 AND at < ?2 AND"
                   " (event = 'account.lock' OR (outcome = 'refused' AND label >= 2)"
                   " OR (event LIKE 'system.%' AND outcome = 'failed')) ORDER BY id LIMIT 200",
                from, to, k_alarm, 7));
    /* Periods when the data directory's disk was full (recorded when each ended). */
    pv_put(r, "disk_full",
           rows(s, "SELECT id, at, coalesce(detail, '') FROM audit_log WHERE event = 'system.no_space'"
                   " AND at >= ?1 AND at < ?2 ORDER BY id LIMIT 200", from, to, k_fault, 3));
    /* Damage found in the database (oad serve, oad fsck), recorded from the fault journal. */
    pv_put(r, "database_damage",
           rows(s, "SELECT id, at, coalesce(detail, '') FROM audit_log WHERE event = 'system.storage_corrupt'"
                   " AND at >= ?1 AND at < ?2 ORDER BY id LIMIT 200", from, to, k_fault, 3));
    pv_put_int(r, "entries",
               count(s, "SELECT count(*) FROM audit_log WHERE at >= ?1 AND at < ?2", from, to));
    return r;
}
