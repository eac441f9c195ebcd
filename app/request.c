/*
 * app/request.c: the effects of a public request's lifecycle, version 2
 * (see request.h).  The clock is workflow/deadline.c's (pure); the export
 * decision workflow/access.c's oa_access_export; the outbox items
 * app/gateway.c's.
 */
#include "app/request.h"

#include <stdio.h>
#include <string.h>

#include "app/gateway.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/gateway.h"
#include "storage/store.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"

static int32_t today_shanghai(void)
{
    return (int32_t)((oa_now() + (int64_t)OA_SHANGHAI_OFFSET_MIN * 60) / 86400);
}

static int32_t day_or_none(const char *s)
{
    return s[0] ? oa_day_parse(s) : INT32_MIN;
}

static void day_or_empty(int32_t d, char out[11])
{
    if (d == INT32_MIN)
        out[0] = '\0';
    else
        oa_day_format(d, out);
}

static struct oa_request_clock clock_of(const struct oa_request_row *q)
{
    struct oa_request_clock c = oa_request_clock_new(oa_day_parse(q->received));
    c.correction_asked = day_or_none(q->correction_asked);
    c.corrected = day_or_none(q->corrected);
    c.consult_since = day_or_none(q->consult_since);
    c.paused_days = q->paused_days;
    c.extend_days = q->extend_days;
    return c;
}

static void clock_put(const struct oa_request_clock *c, struct oa_request_row *q)
{
    day_or_empty(c->correction_asked, q->correction_asked);
    day_or_empty(c->corrected, q->corrected);
    day_or_empty(c->consult_since, q->consult_since);
    q->paused_days = c->paused_days;
    q->extend_days = c->extend_days;
}

/* A text param, or NULL when absent, empty, not text or too long. */
static const char *param_text(const cbor_item_t *params, const char *key, char *buf, size_t cap)
{
    const cbor_item_t *v = params ? pv_get(params, key) : NULL;
    if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) == 0 ||
        cbor_string_length(v) >= cap || !pv_utf8_ok(cbor_string_handle(v), cbor_string_length(v)))
        return NULL;
    memcpy(buf, cbor_string_handle(v), cbor_string_length(v));
    buf[cbor_string_length(v)] = '\0';
    return buf;
}

/* Loads the request's row; a request typed in by the secretariat gets one at registration. */
static int load(struct oa_request_fx *c, struct oa_request_row *q)
{
    int rc = oa_request_load(c->s, c->d->id, q);
    return rc == 1 ? 0 : rc == 0 ? OA_E_CONFLICT : OA_E_STORAGE;
}

/* Recomputes the due day from the clock (empty while stopped) and saves the row. */
static int settle(struct oa_request_fx *c, struct oa_request_row *q, const struct oa_request_clock *k)
{
    size_t nex = 0;
    const struct oa_day_exception *ex = oa_calendar_get(c->s, &nex);
    clock_put(k, q);
    day_or_empty(oa_request_clock_due(k, today_shanghai(), ex, nex), c->d->request_due);
    snprintf(c->detail, c->cap, "clock %s, due %s", oa_clock_state_name(oa_request_clock_state(k)),
             c->d->request_due[0] ? c->d->request_due : "none");
    return oa_request_put(c->s, q) == 0 ? 0 : OA_E_STORAGE;
}

/* Applies a clock event on `day`; a refusal rolls the action back (409 with the clock's sentence). */
static int clock_event(struct oa_request_fx *c, enum oa_clock_event e, int32_t day)
{
    struct oa_request_row q;
    int rc = load(c, &q);
    if (rc != 0)
        return rc;
    struct oa_request_clock k = clock_of(&q);
    size_t nex = 0;
    const struct oa_day_exception *ex = oa_calendar_get(c->s, &nex);
    const char *why = oa_request_clock_refusal(&k, e, day, ex, nex);
    if (why != NULL) {
        c->message = why;
        return OA_E_CONFLICT;
    }
    oa_request_clock_apply(&k, e, day, ex, nex);
    return settle(c, &q, &k);
}

int oa_request_fx_register(struct oa_request_fx *c)
{
    struct oa_request_row q;
    int rc = oa_request_load(c->s, c->d->id, &q);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        /* Typed in from paper: received on params.received_on, or today. */
        char received[16];
        int32_t day = param_text(c->params, "received_on", received, sizeof(received)) ? oa_day_parse(received)
                                                                                       : today_shanghai();
        if (day == INT32_MIN) {
            c->message = "params.received_on must be a date, YYYY-MM-DD.";
            return OA_E_BAD_FIELD;
        }
        memset(&q, 0, sizeof(q));
        q.doc_id = c->d->id;
        oa_day_format(day, q.received);
    }
    struct oa_request_clock k = clock_of(&q);
    if ((rc = settle(c, &q, &k)) != 0)
        return rc;
    return q.bundle_id[0] && oa_gw_outbox_receipt(c->s, c->d, &q, true, NULL) != 0 ? OA_E_STORAGE : 0;
}

int oa_request_fx_refuse(struct oa_request_fx *c)
{
    struct oa_request_row q;
    int rc = oa_request_load(c->s, c->d->id, &q);
    if (rc < 0)
        return OA_E_STORAGE;
    c->d->request_due[0] = '\0';
    snprintf(c->detail, c->cap, "refused (回退)");
    /* 回退: the applicant is told why (第30条 and the exchange's refusal receipt). */
    return rc == 1 && q.bundle_id[0] && oa_gw_outbox_receipt(c->s, c->d, &q, false, c->opinion) != 0 ? OA_E_STORAGE
                                                                                                    : 0;
}

int oa_request_fx_ask_correction(struct oa_request_fx *c)
{
    return clock_event(c, OA_CLOCK_ASK_CORRECTION, today_shanghai());
}

int oa_request_fx_consult(struct oa_request_fx *c)
{
    /* The consultation runs from the day the letter went out (params.since, not in the future), or today. */
    char since[16];
    int32_t day = today_shanghai();
    if (param_text(c->params, "since", since, sizeof(since)) != NULL) {
        struct oa_request_row q;
        int rc = load(c, &q);
        if (rc != 0)
            return rc;
        day = oa_day_parse(since);
        int32_t start = q.corrected[0] ? oa_day_parse(q.corrected) : oa_day_parse(q.received);
        if (day == INT32_MIN || day > today_shanghai() || day < start) {
            c->message = "params.since must be a date (YYYY-MM-DD) between the receipt and today.";
            return OA_E_BAD_FIELD;
        }
    }
    return clock_event(c, OA_CLOCK_CONSULT, day);
}

int oa_request_fx_consult_done(struct oa_request_fx *c)
{
    return clock_event(c, OA_CLOCK_CONSULT_DONE, today_shanghai());
}

int oa_request_fx_extend(struct oa_request_fx *c)
{
    struct oa_request_row q;
    int rc = load(c, &q);
    if (rc != 0)
        return rc;
    struct oa_request_clock k = clock_of(&q);
    k.extend_days = c->extend_days;
    c->d->extended = true;
    return settle(c, &q, &k);
}

int oa_request_fx_secrecy_review(struct oa_request_fx *c)
{
    struct oa_request_row q;
    int rc = load(c, &q);
    if (rc != 0)
        return rc;
    q.review_by = c->actor->id;
    q.review_at = oa_now();
    pv_utf8_copy(q.review_opinion, sizeof(q.review_opinion), c->opinion);
    snprintf(c->detail, c->cap, "secrecy review (保密审查) recorded");
    return oa_request_put(c->s, &q) == 0 ? 0 : OA_E_STORAGE;
}

int oa_request_fx_reply(struct oa_request_fx *c)
{
    struct oa_request_row q;
    int rc = load(c, &q);
    if (rc != 0)
        return rc;
    char form[16] = "", reason[512] = "", organ[256] = "";
    param_text(c->params, "form", form, sizeof(form));
    param_text(c->params, "reason", reason, sizeof(reason));
    param_text(c->params, "responsible_organ", organ, sizeof(organ));
    snprintf(q.reply_form, sizeof(q.reply_form), "%s", form);
    snprintf(q.reply_reason, sizeof(q.reply_reason), "%s", reason);
    snprintf(q.responsible_organ, sizeof(q.responsible_organ), "%s", organ);
    struct oa_doc reply;
    if (oa_doc_load(c->s, c->reply_id, &reply) != 1)
        return OA_E_STORAGE;
    reply.source_id = c->d->id;
    c->d->reply_id = c->reply_id;
    enum oa_err err = OA_E_OK;
    const char *message = NULL;
    rc = oa_doc_save(c->s, &reply, c->actor->id, 0, NULL) != 0 || oa_request_put(c->s, &q) != 0 ||
                 oa_gw_outbox_reply(c->s, c->by, c->d, &q, &reply, &err, &message) != 0
             ? OA_E_STORAGE
             : 0;
    oa_doc_free(&reply);
    if (rc == 0 && err != OA_E_OK) {
        /* The guard decided this already (the same oa_access_export); a refusal here is a race. */
        c->message = message;
        return err;
    }
    snprintf(c->detail, c->cap, "reply %lld, form %s", (long long)c->reply_id, form);
    return rc;
}

int oa_request_reply_facts(struct oa_store *s, const struct oa_doc *req, const cbor_item_t *params,
                           int64_t reply_id, bool *form_ok, bool *is_outgoing, bool *exportable)
{
    char form[16], reason[512], organ[256];
    *form_ok = *is_outgoing = *exportable = false;
    int f = param_text(params, "form", form, sizeof(form)) ? oa_reply_form_parse(form) : -1;
    *form_ok = oa_reply_form_refusal(f, param_text(params, "reason", reason, sizeof(reason)) != NULL,
                                     param_text(params, "responsible_organ", organ, sizeof(organ)) != NULL) == NULL;
    struct oa_doc reply;
    int rc = reply_id > 0 ? oa_doc_load(s, reply_id, &reply) : 0;
    if (rc <= 0)
        return rc;
    *is_outgoing = strcmp(reply.kind, "outgoing") == 0;
    struct oa_request_row q;
    rc = oa_request_load(s, req->id, &q);
    size_t nscope = 0;
    char **scope = rc >= 0 ? oa_doc_scope_of(s, &reply, &nscope) : NULL;
    bool got = scope != NULL;
    if (got) {
        struct oa_label lb = {reply.level, (const char *const *)scope, nscope};
        *exportable = oa_access_export(&lb, rc == 1 && q.review_by > 0);
    }
    oa_strv_free(scope);
    oa_doc_free(&reply);
    return rc < 0 || !got ? -1 : 0;
}
