/*
 * app/gateway.c: the exchange gateway's use cases (see gateway.h): import,
 * quarantine, the outbox and its acknowledgements, and the outbox items the
 * request lifecycle and 主动公开 make.  Runs on the writer thread.
 */
#include "app/gateway.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "app/gateway-int.h"
#include "storage/accounts.h"
#include "storage/blobs.h"
#include "storage/documents.h"
#include "storage/gateway.h"
#include "storage/records.h"
#include "storage/store.h"
#include "workflow/access.h"
#include "workflow/calendar.h"
#include "workflow/deadline.h"
#include "workflow/docflow.h"

/* The level of an imported request: the applicant's personal data is not for publication. */
#define REQUEST_LEVEL OA_LEVEL_INTERNAL

bool oa_gw_hex64(const char *s)
{
    if (s == NULL || strlen(s) != OA_GW_ID_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Rebuilds the to-do queue of a request document for its state (roles only: nobody is named yet). */
static int queue_for_state(struct oa_store *s, const struct oa_doc *d)
{
    unsigned roles = 0, rels = 0;
    enum oa_doc_kind kind = (enum oa_doc_kind)oa_kind_parse(d->kind);
    if (!oa_flow_terminal(kind, d->def_version, d->state))
        oa_flow_expected(kind, d->def_version, d->state, &roles, &rels);
    int64_t users[1];
    size_t n = 0;
    if ((rels & OA_REL_ASSIGNEE) && d->assignee_id > 0)
        users[n++] = d->assignee_id;
    return oa_queue_set(s, d->id, roles, d->organ_id, 0, users, n);
}

/* The files of a bundle become attachments of doc_id, their blobs staged (re-sealed later). */
static int attach_files(struct oa_store *s, int64_t doc_id, const struct oa_gw_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct oa_blob_row b = files[i].blob;
        b.doc_id = doc_id;
        b.attachment_id = 0;
        b.rev = 1;
        b.staged = true;
        if (oa_attachment_put(s, &b, files[i].name, "attachment") != 0)
            return -1;
    }
    return 0;
}

/* A calendar's exceptions and today's day in Shanghai, for the clock. */
static int32_t today_shanghai(void)
{
    int64_t now = oa_now() + (int64_t)OA_SHANGHAI_OFFSET_MIN * 60;
    return (int32_t)(now / 86400);
}

static struct oa_request_clock clock_of(const struct oa_request_row *q)
{
    struct oa_request_clock c = oa_request_clock_new(oa_day_parse(q->received));
    if (q->correction_asked[0])
        c.correction_asked = oa_day_parse(q->correction_asked);
    if (q->corrected[0])
        c.corrected = oa_day_parse(q->corrected);
    if (q->consult_since[0])
        c.consult_since = oa_day_parse(q->consult_since);
    c.paused_days = q->paused_days;
    c.extend_days = q->extend_days;
    return c;
}

static int import_request(struct oa_store *s, const struct oa_app_actor *by, const struct oa_gw_import *in,
                          struct oa_gw_import_result *out)
{
    int32_t received = oa_day_of_instant(in->confirmed, OA_SHANGHAI_OFFSET_MIN);
    if (received == INT32_MIN) {
        out->err = OA_E_BAD_FIELD;
        out->message = "content.confirmed must be an RFC 3339 time.";
        return 0;
    }
    struct oa_doc d = {0};
    snprintf(d.kind, sizeof(d.kind), "request");
    d.def_version = oa_flow_version(OA_KIND_REQUEST);
    snprintf(d.state, sizeof(d.state), "%s", oa_flow_initial(OA_KIND_REQUEST));
    pv_utf8_copy(d.title, sizeof(d.title), in->subject);
    snprintf(d.doc_type, sizeof(d.doc_type), "依申请公开");
    d.level = REQUEST_LEVEL;
    snprintf(d.urgency, sizeof(d.urgency), "ordinary");
    d.body = oa_xstrdup(in->subject);
    d.drafter_id = by->user_id;
    if (oa_doc_insert(s, &d, by->user_id) != 0 || queue_for_state(s, &d) != 0 ||
        oa_doc_step(s, d.id, "import", "", d.state, by->user_id, 0, "", in->bundle_id) < 0) {
        oa_doc_free(&d);
        return -1;
    }
    struct oa_request_row q = {0};
    q.doc_id = d.id;
    snprintf(q.sender, sizeof(q.sender), "%s", in->sender);
    snprintf(q.bundle_id, sizeof(q.bundle_id), "%s", in->bundle_id);
    pv_utf8_copy(q.applicant_name, sizeof(q.applicant_name), in->name);
    pv_utf8_copy(q.id_type, sizeof(q.id_type), in->id_type);
    pv_utf8_copy(q.id_number, sizeof(q.id_number), in->id_number);
    pv_utf8_copy(q.contact, sizeof(q.contact), in->contact);
    pv_utf8_copy(q.organisation, sizeof(q.organisation), in->organisation);
    pv_utf8_copy(q.form_wanted, sizeof(q.form_wanted), in->reply_form);
    pv_utf8_copy(q.submitted, sizeof(q.submitted), in->submitted);
    pv_utf8_copy(q.confirmed, sizeof(q.confirmed), in->confirmed);
    oa_day_format(received, q.received);
    int rc = oa_request_put(s, &q) != 0 || attach_files(s, d.id, in->files, in->nfiles) != 0 ? -1 : 0;
    out->doc_id = d.id;
    oa_doc_free(&d);
    return rc;
}

/*
 * A correction (补正) for an earlier request of the same sender.  Whether
 * its request takes it is workflow/'s (oa_correction_verdict): only a
 * request awaiting a correction does, and then the clock starts again from
 * the correction's receipt date (its `confirmed`) and the request goes back
 * to where handling stood.  Any other is refused whole: out->err
 * OA_E_CORRECTION_REFUSED, nothing of the request changes, and the caller
 * records the refusal (its seq kept) and audits it.
 */
static int import_correction(struct oa_store *s, const struct oa_app_actor *by, const struct oa_gw_import *in,
                             struct oa_gw_import_result *out, char *detail, size_t cap)
{
    int64_t doc_id = 0;
    int rc = oa_gw_bundle_find(s, in->sender, in->request_ref, &doc_id);
    if (rc < 0)
        return -1;
    int32_t day = oa_day_of_instant(in->confirmed, OA_SHANGHAI_OFFSET_MIN);
    if (day == INT32_MIN) {
        out->err = OA_E_BAD_FIELD;
        out->message = "content.confirmed must be an RFC 3339 time.";
        return 0;
    }
    struct oa_doc d = {0};
    struct oa_request_row q = {0};
    bool found = false;
    if (rc == 1) {
        if (oa_doc_load(s, doc_id, &d) != 1)
            return -1;
        int qr = oa_request_load(s, doc_id, &q);
        if (qr < 0) {
            oa_doc_free(&d);
            return -1;
        }
        /* request_ref must be the request's own bundle, not another correction of it */
        found = qr == 1 && strcmp(d.kind, "request") == 0 && strcmp(q.bundle_id, in->request_ref) == 0;
    }
    struct oa_request_clock c = clock_of(&q);
    enum oa_correction_verdict v = oa_correction_verdict(found, found ? d.state : NULL, found ? &c : NULL, day);
    if (v != OA_CORRECTION_TAKEN) {
        out->err = OA_E_CORRECTION_REFUSED;
        out->message = oa_correction_refusal(v);
        out->doc_id = found ? d.id : 0;
        snprintf(detail, cap, "request %lld (%s): %s", (long long)out->doc_id, found ? d.state : "unknown",
                 out->message);
        oa_doc_free(&d);
        return 0;
    }
    size_t nex = 0;
    const struct oa_day_exception *ex = oa_calendar_get(s, &nex);
    char from[32];
    snprintf(from, sizeof(from), "%s", d.state);
    oa_request_clock_apply(&c, OA_CLOCK_CORRECTED, day, ex, nex);
    oa_day_format(day, q.corrected);
    q.paused_days = c.paused_days;
    int32_t due = oa_request_clock_due(&c, today_shanghai(), ex, nex);
    if (due != INT32_MIN)
        oa_day_format(due, d.request_due);
    /* Back to where handling stands: with its handler when it has one. */
    snprintf(d.state, sizeof(d.state), "%s", d.assignee_id > 0 ? "handling" : "registered");
    snprintf(detail, cap, "corrected %s, due %s", q.corrected, d.request_due);
    rc = oa_request_put(s, &q) != 0 || oa_doc_save(s, &d, by->user_id, 0, NULL) != 0 ||
                 queue_for_state(s, &d) != 0 || attach_files(s, d.id, in->files, in->nfiles) != 0 ||
                 oa_doc_step(s, d.id, "correction", from, d.state, by->user_id, 0, in->text ? in->text : "",
                             in->bundle_id) < 0
             ? -1
             : 0;
    out->doc_id = d.id;
    oa_doc_free(&d);
    return rc;
}

/* Audits an inbound bundle refused for good (and keeps its seq, unless it was kept before); 0 or -1. */
static int refuse_for_good(struct oa_store *s, struct oa_audit_event *ev, const struct oa_gw_import *in,
                           const struct oa_gw_import_result *out, const char *what, bool again)
{
    char detail[900];
    if (!again && oa_gw_refusal_put(s, in->sender, in->bundle_id, in->seq, in->type, oa_err_code(out->err),
                                    out->message ? out->message : "") != 0)
        return -1;
    snprintf(detail, sizeof(detail), "%s bundle %s from %s seq %lld refused%s (%s): %s", in->type, in->bundle_id,
             in->sender, (long long)in->seq, again ? " again" : "", oa_err_code(out->err), what);
    ev->outcome = "refused";
    ev->doc_id = out->doc_id;
    ev->detail = pv_utf8_trim(detail);
    return oa_audit(s, ev);
}

int oa_gw_import(struct oa_store *s, const struct oa_app_actor *by, const struct oa_gw_import *in,
                 struct oa_gw_import_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t doc_id = 0;
    int rc = oa_gw_bundle_find(s, in->sender, in->bundle_id, &doc_id);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        /* A ferry resends: the same bundle is answered as the first time, and nothing is written. */
        out->duplicate = true;
        out->doc_id = doc_id;
        return 0;
    }
    char other[OA_GW_ID_LEN + 1];
    struct oa_audit_event ev = {0};
    oa_app_audit_actor(by, &ev);
    ev.event = "gateway.import";
    char detail[512];
    /* Refused for good before: answered as the first time (the ferry resends), audited again. */
    char code[64];
    if ((rc = oa_gw_refusal_find(s, in->sender, in->bundle_id, code, out->reason)) != 0) {
        if (rc < 0)
            return -1;
        /* refused by oad (a correction not taken), or quarantined by oagw (its files refused) */
        out->err = strcmp(code, "correction_refused") == 0 ? OA_E_CORRECTION_REFUSED : OA_E_CONFLICT;
        out->message = out->reason;
        return refuse_for_good(s, &ev, in, out, out->reason, true);
    }
    if ((rc = oa_gw_seq_find(s, in->sender, in->seq, other)) != 0) {
        if (rc < 0)
            return -1;
        out->err = OA_E_REPLAYED;
        snprintf(detail, sizeof(detail), "bundle %s from %s seq %lld refused: seq taken by bundle %s", in->bundle_id,
                 in->sender, (long long)in->seq, other);
        ev.outcome = "refused";
        ev.detail = pv_utf8_trim(detail);
        return oa_audit(s, &ev) != 0 ? -1 : 0;
    }
    int64_t last = oa_gw_last_seq(s, in->sender);
    if (last < 0)
        return -1;
    if (in->seq != last + 1) {
        out->err = OA_E_OUT_OF_SEQUENCE;
        out->expected = last + 1;
        return 0; /* oagw holds it and retries: not a security event */
    }
    char what[256] = "";
    if (strcmp(in->type, "public_request") == 0)
        rc = import_request(s, by, in, out);
    else
        rc = import_correction(s, by, in, out, what, sizeof(what));
    if (rc == 0 && out->err == OA_E_CORRECTION_REFUSED)
        return refuse_for_good(s, &ev, in, out, what, false);
    if (rc != 0 || out->err != OA_E_OK)
        return rc;
    if (oa_gw_bundle_put(s, in->sender, in->bundle_id, in->seq, in->type, out->doc_id, in->created) != 0)
        return -1;
    snprintf(detail, sizeof(detail), "%s bundle %s from %s seq %lld, %zu files%s%s", in->type, in->bundle_id,
             in->sender, (long long)in->seq, in->nfiles, what[0] ? "; " : "", what);
    ev.outcome = "ok";
    ev.doc_id = out->doc_id;
    ev.label = REQUEST_LEVEL;
    ev.detail = pv_utf8_trim(detail);
    return oa_audit(s, &ev) != 0 ? -1 : 0;
}

int oa_gw_quarantine(struct oa_store *s, const struct oa_app_actor *by, const char *file, const char *sha256,
                     const char *reason, const char *detail, const struct oa_gw_signed *signed_by,
                     int64_t *audit_id, int64_t *expected)
{
    *expected = 0;
    if (signed_by != NULL) {
        int64_t doc = 0;
        char code[64], why[512], other[OA_GW_ID_LEN + 1];
        int rc = oa_gw_bundle_find(s, signed_by->sender, signed_by->bundle_id, &doc);
        if (rc == 0)
            rc = oa_gw_refusal_find(s, signed_by->sender, signed_by->bundle_id, code, why);
        if (rc == 0)
            rc = oa_gw_seq_find(s, signed_by->sender, signed_by->seq, other);
        if (rc < 0)
            return -1;
        if (rc == 0) { /* new: spend its seq when it is the next, else wait for the ones before it */
            int64_t last = oa_gw_last_seq(s, signed_by->sender);
            if (last < 0)
                return -1;
            if (signed_by->seq != last + 1) {
                *expected = last + 1;
                return 0;
            }
            if (oa_gw_refusal_put(s, signed_by->sender, signed_by->bundle_id, signed_by->seq, "quarantined", reason,
                                  detail ? detail : "") != 0)
                return -1;
        }
    }
    char text[512];
    if (signed_by != NULL)
        snprintf(text, sizeof(text), "bundle file \"%s\" sha256 %s (bundle %s from %s seq %lld) quarantined: %s: %s",
                 file, sha256, signed_by->bundle_id, signed_by->sender, (long long)signed_by->seq, reason,
                 detail ? detail : "");
    else
        snprintf(text, sizeof(text), "bundle file \"%s\" sha256 %s quarantined: %s: %s", file, sha256, reason,
                 detail ? detail : "");
    struct oa_audit_event ev = {0};
    oa_app_audit_actor(by, &ev);
    ev.event = "gateway.quarantine";
    ev.outcome = "refused";
    ev.detail = pv_utf8_trim(text);
    return oa_gw_audit(s, &ev, audit_id);
}

/* ---- the outbox ---- */

/* May this outbox item leave now?  Receipts carry only the request's number and dates. */
static int item_exportable(struct oa_store *s, const struct oa_outbox_row *o, bool *ok)
{
    *ok = false;
    if (strcmp(o->type, "receipt") == 0) {
        *ok = true;
        return 0;
    }
    /* A disposed record's items never leave: its text and files are gone. */
    struct oa_tombstone_row t;
    int rc = oa_tombstone_load(s, o->doc_id, &t);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    struct oa_doc d;
    rc = oa_doc_load(s, o->doc_id, &d);
    if (rc <= 0)
        return rc;
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, &d, &nscope);
    struct oa_label lb = {d.level, (const char *const *)scope, nscope};
    bool reviewed = false;
    if (strcmp(o->type, "reply") == 0) {
        struct oa_request_row q;
        rc = d.source_id > 0 ? oa_request_load(s, d.source_id, &q) : 0;
        reviewed = rc == 1 && q.review_by > 0;
    } else {
        struct oa_publication_row p;
        rc = oa_publication_load(s, d.id, &p);
        /* 主动公开: approved by the publication review, and its secrecy review recorded */
        reviewed = rc == 1 && p.approved == 1 && p.secrecy_by > 0;
    }
    *ok = scope != NULL && rc >= 0 && oa_access_export(&lb, reviewed);
    oa_strv_free(scope);
    oa_doc_free(&d);
    return rc < 0 ? -1 : 0;
}

static cbor_item_t *outbox_item(struct oa_store *s, const struct oa_outbox_row *o)
{
    cbor_item_t *content = NULL;
    if (pv_decode_cbor(o->content, o->content_len, &content, NULL, 0) != OA_E_OK)
        return NULL;
    int64_t att[64];
    int revs[64];
    size_t n = 0;
    if (oa_outbox_files(s, o->id, att, revs, &n) != 0) {
        cbor_decref(&content);
        return NULL;
    }
    cbor_item_t *files = pv_array(n);
    for (size_t k = 0; k < n; k++) {
        struct oa_attachment a;
        if (oa_attachment_get(s, o->doc_id, att[k], revs[k], &a) != 1)
            continue;
        char hex[65], href[96];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", a.blob.info.digest[i]);
        snprintf(href, sizeof(href), "/v1/gateway/outbox/%lld/files/%zu", (long long)o->id, k + 1);
        cbor_item_t *f = pv_map(4);
        pv_put_text(f, "name", a.name);
        pv_put_text(f, a.blob.suite == OA_BLOB_SM4_SM3 ? "sm3" : "sha256", hex);
        pv_put_int(f, "size", (int64_t)a.blob.info.size);
        pv_put_text(f, "href", href);
        pv_push(files, f);
    }
    cbor_item_t *m = pv_map(6);
    pv_put_int(m, "id", o->id);
    pv_put_text(m, "type", o->type);
    pv_put_int(m, "document_id", o->doc_id);
    pv_put_text(m, "request_ref", o->request_ref[0] ? o->request_ref : NULL);
    pv_put(m, "content", content);
    pv_put(m, "files", files);
    return m;
}

cbor_item_t *oa_gw_outbox_page(struct oa_store *s, int64_t after, int limit)
{
    struct oa_outbox_row *rows = NULL;
    size_t n = 0;
    if (oa_outbox_list(s, after, limit, &rows, &n) != 0)
        return NULL;
    cbor_item_t *items = pv_array(n);
    int64_t next = after;
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        next = rows[i].id;
        if (!failed && item_exportable(s, &rows[i], &ok) != 0)
            failed = true;
        cbor_item_t *it = !failed && ok ? outbox_item(s, &rows[i]) : NULL;
        if (it)
            pv_push(items, it);
        oa_outbox_row_free(&rows[i]);
    }
    free(rows);
    if (failed) {
        cbor_decref(&items);
        return NULL;
    }
    cbor_item_t *m = pv_map(2);
    pv_put(m, "items", items);
    pv_put_int(m, "next_after", next);
    return m;
}

static int audit_export_refusal(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, int level,
                                const char *detail)
{
    struct oa_audit_event ev = {0};
    oa_app_audit_actor(by, &ev);
    ev.event = "gateway.export";
    ev.doc_id = doc_id;
    ev.label = level;
    ev.outcome = "refused";
    ev.detail = detail;
    return oa_audit(s, &ev);
}

int oa_gw_outbox_file(struct oa_store *s, const struct oa_app_actor *by, const char *data_dir, int64_t id, int k,
                      struct oa_attachment *a, int *fd, enum oa_err *err)
{
    struct oa_outbox_row o;
    int64_t att = 0;
    int rev = 0;
    *err = OA_E_OK;
    int rc = oa_outbox_get(s, id, &o);
    if (rc <= 0)
        return rc;
    bool ok = false;
    rc = item_exportable(s, &o, &ok);
    int64_t doc = o.doc_id;
    oa_outbox_row_free(&o);
    if (rc < 0)
        return -1;
    if (!ok) {
        *err = OA_E_FORBIDDEN;
        char detail[128];
        snprintf(detail, sizeof(detail), "outbox %lld file %d: the document may no longer leave", (long long)id, k);
        return audit_export_refusal(s, by, doc, -1, detail) != 0 ? -1 : 1;
    }
    rc = oa_outbox_file(s, id, k, &att, &rev);
    if (rc <= 0)
        return rc;
    rc = oa_attachment_get(s, doc, att, rev, a);
    if (rc != 1)
        return rc;
    char path[4096];
    if (a->blob.shredded)
        *err = OA_E_GONE;
    else if (oa_blob_path(data_dir, a->blob.file, path, sizeof(path)) == 0)
        *fd = open(path, O_RDONLY | O_CLOEXEC);
    return 1;
}

int oa_gw_outbox_sent(struct oa_store *s, const struct oa_app_actor *by, int64_t id, const char *bundle_id,
                      const char *sha256, enum oa_err *err)
{
    struct oa_outbox_row o;
    *err = OA_E_OK;
    int rc = oa_outbox_get(s, id, &o);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *err = OA_E_NOT_FOUND;
        return 0;
    }
    bool already = o.sent_bundle[0] != '\0';
    bool same = already && strcmp(o.sent_bundle, bundle_id) == 0 && strcmp(o.sent_sha256, sha256) == 0;
    int64_t doc = o.doc_id;
    char type[16];
    snprintf(type, sizeof(type), "%s", o.type);
    oa_outbox_row_free(&o);
    if (already) {
        if (!same)
            *err = OA_E_CONFLICT;
        return 0; /* the same acknowledgement again: answered, not recorded twice */
    }
    if (oa_outbox_set_sent(s, id, bundle_id, sha256) != 0)
        return -1;
    char detail[256];
    snprintf(detail, sizeof(detail), "%s outbox %lld written as bundle %s, file sha256 %s", type, (long long)id,
             bundle_id, sha256);
    struct oa_audit_event ev = {0};
    oa_app_audit_actor(by, &ev);
    ev.event = "gateway.sent";
    ev.doc_id = doc;
    ev.outcome = "ok";
    ev.detail = detail;
    return oa_audit(s, &ev);
}

/* Encodes a content map and adds it to the outbox with doc's current attachments (gateway-int.h). */
int oa__gw_outbox_put(struct oa_store *s, const char *type, int64_t doc_id, const char *request_ref,
                      cbor_item_t *content, bool with_files, int64_t *id)
{
    size_t len = 0;
    unsigned char *enc = pv_encode_cbor(content, &len);
    cbor_decref(&content);
    if (enc == NULL)
        return -1;
    int64_t att[OA_GW_MAX_FILES];
    int revs[OA_GW_MAX_FILES];
    size_t n = 0;
    int rc = 0;
    struct oa_attachment *all = with_files ? oa_attachment_list(s, doc_id, &n, &rc) : NULL;
    if (rc != 0) {
        free(enc);
        return -1;
    }
    if (n > OA_GW_MAX_FILES)
        n = OA_GW_MAX_FILES;
    for (size_t i = 0; i < n; i++) {
        att[i] = all[i].id;
        revs[i] = all[i].rev;
    }
    free(all);
    rc = oa_outbox_add(s, type, doc_id, request_ref, enc, len, att, revs, n, id);
    free(enc);
    return rc;
}

int oa_gw_outbox_receipt(struct oa_store *s, const struct oa_doc *req, const struct oa_request_row *q, bool accepted,
                         const char *reason)
{
    char registered[11];
    oa_day_format(today_shanghai(), registered);
    cbor_item_t *c = pv_map(accepted ? 4 : 3);
    pv_put_bool(c, "accepted", accepted);
    if (accepted) {
        char number[32];
        snprintf(number, sizeof(number), "%lld", (long long)req->id);
        pv_put_text(c, "number", req->doc_number[0] ? req->doc_number : number);
        pv_put_text(c, "registered", registered);
        pv_put_text(c, "due", req->request_due);
    } else {
        pv_put_text(c, "registered", registered);
        pv_put_text(c, "reason", reason ? reason : "");
    }
    int64_t id = 0;
    return oa__gw_outbox_put(s, "receipt", req->id, q->bundle_id, c, false, &id);
}

int oa_gw_outbox_reply(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *req,
                       const struct oa_request_row *q, struct oa_doc *reply, enum oa_err *err, const char **message)
{
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, reply, &nscope);
    if (scope == NULL)
        return -1;
    struct oa_label lb = {reply->level, (const char *const *)scope, nscope};
    bool ok = oa_access_export(&lb, q->review_by > 0);
    oa_strv_free(scope);
    if (!ok) {
        *err = OA_E_FORBIDDEN;
        *message = q->review_by > 0 ? "Only a reply labelled 公开 with no scope may leave through the gateway."
                                    : "Record the secrecy review (保密审查, action secrecy_review) before replying.";
        char detail[160];
        snprintf(detail, sizeof(detail), "reply document %lld to request %lld refused: %s", (long long)reply->id,
                 (long long)req->id, q->review_by > 0 ? "label" : "no secrecy review");
        return audit_export_refusal(s, by, reply->id, reply->level, detail);
    }
    /* Only what is exported goes back to the applicant: a request typed in from paper gets no bundle. */
    if (q->bundle_id[0] == '\0')
        return 0;
    if (oa_doc_load_body(s, reply) != 0)
        return -1;
    cbor_item_t *c = pv_map(4);
    pv_put_text(c, "form", q->reply_form);
    if (q->reply_reason[0])
        pv_put_text(c, "reason", q->reply_reason);
    if (q->responsible_organ[0])
        pv_put_text(c, "responsible_organ", q->responsible_organ);
    pv_put_text(c, "text", reply->body ? reply->body : "");
    int64_t id = 0;
    if (oa__gw_outbox_put(s, "reply", reply->id, q->bundle_id, c, true, &id) != 0)
        return -1;
    char detail[200];
    snprintf(detail, sizeof(detail), "reply outbox %lld for bundle %s, form %s", (long long)id, q->bundle_id,
             q->reply_form);
    return oa_app_audit_doc(s, by, "gateway.export", reply, NULL, NULL, NULL, "ok", detail);
}

/* ---- a request's facts for its readers ---- */

cbor_item_t *oa_gw_request_item(struct oa_store *s, const struct oa_user *who, const struct oa_doc *d)
{
    struct oa_request_row q;
    if (oa_request_load(s, d->id, &q) != 1)
        return NULL;
    bool personal = oa_request_personal_visible(who->roles, d->assignee_id == who->id);
    struct oa_request_clock c = clock_of(&q);
    cbor_item_t *m = pv_map(16);
    cbor_item_t *ap = pv_map(5);
    pv_put_text(ap, "name", personal ? q.applicant_name : "(redacted)");
    pv_put_text(ap, "id_type", personal ? q.id_type : "(redacted)");
    pv_put_text(ap, "id_number", personal ? q.id_number : "(redacted)");
    pv_put_text(ap, "contact", personal ? q.contact : "(redacted)");
    pv_put_text(ap, "organisation", personal ? q.organisation : "(redacted)");
    pv_put(m, "applicant", ap);
    pv_put_bool(m, "personal_data_redacted", !personal);
    pv_put_text(m, "bundle_id", q.bundle_id[0] ? q.bundle_id : NULL);
    pv_put_text(m, "form_wanted", q.form_wanted);
    pv_put_text(m, "confirmed", q.confirmed[0] ? q.confirmed : NULL);
    pv_put_text(m, "received", q.received);
    pv_put_text(m, "clock", oa_clock_state_name(oa_request_clock_state(&c)));
    pv_put_text(m, "correction_asked", q.correction_asked[0] ? q.correction_asked : NULL);
    pv_put_text(m, "corrected", q.corrected[0] ? q.corrected : NULL);
    pv_put_text(m, "consult_since", q.consult_since[0] ? q.consult_since : NULL);
    pv_put_int(m, "paused_days", q.paused_days);
    pv_put_int(m, "extend_days", q.extend_days);
    pv_put_bool(m, "secrecy_reviewed", q.review_by > 0);
    pv_put_text(m, "reply_form", q.reply_form[0] ? q.reply_form : NULL);
    pv_put_text(m, "reply_reason", q.reply_reason[0] ? q.reply_reason : NULL);
    pv_put_text(m, "responsible_organ", q.responsible_organ[0] ? q.responsible_organ : NULL);
    return m;
}
