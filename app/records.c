/*
 * app/records.c: filing and what a filed record allows (use cases).  See
 * records.h.  Gathers the facts from storage, decides through
 * workflow/access.c and workflow/records.c, and records what it did in the
 * audit trail, in the job's transaction.
 */
#include "app/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/blobs.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "workflow/access.h"
#include "workflow/records.h"

static oa_rec_check_fn filing_check;
static void *filing_check_arg;

void oa_rec_set_filing_check(oa_rec_check_fn fn, void *arg)
{
    filing_check = fn;
    filing_check_arg = arg;
}

/* The person asking, fresh from storage, as a subject: 1, or -1 on error. */
static int subject_of(struct oa_store *s, const struct oa_app_actor *by, struct oa_user *me, struct oa_subject *who)
{
    if (oa_user_by_id(s, by->user_id, me) != 1)
        return -1;
    *who = (struct oa_subject){me->id, me->roles, me->clearance, me->declassifier, me->clearance_hold};
    return 1;
}

/* Refuses `event` when who may not take `action`; 1 allowed, 0 refused (audited), -1 error. */
static int allowed(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                   enum oa_action action, const struct oa_object *what, const char *event, const char *target,
                   struct oa_app_outcome *o)
{
    enum oa_decision d = oa_access_decide(who, action, what);
    if (d == OA_ALLOW)
        return 1;
    oa_app_refuse(o, OA_E_FORBIDDEN, oa_decision_reason(d));
    return oa_app_audit(s, by, event, target, "refused", oa_decision_reason(d)) == 0 ? 0 : -1;
}

/* "2026-03-01" or "20260301" -> "20260301"; "" when it is neither. */
static void date_compact(const char *in, char out[12])
{
    size_t n = 0;
    for (const char *p = in; *p && n < 8; p++)
        if (*p >= '0' && *p <= '9')
            out[n++] = *p;
        else if (*p != '-')
            break;
    out[n == 8 ? 8 : 0] = '\0';
}

cbor_item_t *oa_rec_item(const struct oa_record_row *r, bool content)
{
    cbor_item_t *m = pv_map(29); /* room for parts, tombstone and corrections */
    pv_put_int(m, "document_id", r->doc_id);
    pv_put_text(m, "archival_no", r->archival_no);
    pv_put_text(m, "fonds", r->fonds);
    pv_put_text(m, "category", r->category);
    pv_put_int(m, "year", r->year);
    pv_put_text(m, "retention", r->retention);
    pv_put_text(m, "class_code", r->class_code);
    pv_put_int(m, "item_no", r->item_no);
    /* 归档章 (DA/T 22-2015 7.3): 全宗号, 年度, 保管期限, 件号; 机构(问题) when there is one. */
    cbor_item_t *seal = pv_map(5);
    pv_put_text(seal, "全宗号", r->fonds);
    pv_put_int(seal, "年度", r->year);
    pv_put_text(seal, "保管期限", r->retention);
    char item[8];
    snprintf(item, sizeof(item), "%04d", r->item_no);
    pv_put_text(seal, "件号", item);
    if (r->class_code[0])
        pv_put_text(seal, "机构(问题)", r->class_code);
    pv_put(m, "seal", seal);
    pv_put_int(m, "pages", r->pages);
    pv_put_int(m, "level", r->level);
    pv_put_text(m, "level_name", oa_level_name(r->level));
    pv_put_text(m, "retention_reason", r->retention_reason[0] ? r->retention_reason : NULL);
    pv_put_int(m, "filed_at", r->filed_at);
    pv_put_int(m, "filed_by", r->filed_by);
    pv_put_text(m, "state", r->state);
    pv_put_bool(m, "hold", r->hold);
    pv_put_text(m, "hold_reason", r->hold ? r->hold_reason : NULL);
    pv_put_bool(m, "content_visible", content);
    if (content) {
        pv_put_text(m, "title", r->title);
        pv_put_text(m, "responsible", r->responsible);
        pv_put_text(m, "doc_number", r->doc_number);
        pv_put_text(m, "doc_date", r->doc_date);
        pv_put_text(m, "note", r->note);
    }
    return m;
}

/* The parts of the 件: the formal document and its final text, its files, its handling record. */
static cbor_item_t *parts_item(const struct oa_doc *d, const struct oa_attachment *files, size_t nfiles,
                               int64_t nsteps, bool content)
{
    cbor_item_t *a = pv_array(nfiles + 2);
    cbor_item_t *p = pv_map(3);
    pv_put_text(p, "part", "formal_document");
    pv_put_int(p, "final_revision", d->revision);
    pv_put_text(p, "state", d->state);
    pv_push(a, p);
    for (size_t i = 0; i < nfiles; i++) {
        p = pv_map(5);
        pv_put_text(p, "part", strcmp(files[i].role, "body") == 0 ? "formal_file" : "attachment");
        pv_put_int(p, "attachment_id", files[i].id);
        pv_put_int(p, "rev", files[i].rev);
        pv_put_int(p, "size", (int64_t)files[i].blob.info.size);
        if (content)
            pv_put_text(p, "name", files[i].name);
        pv_push(a, p);
    }
    p = pv_map(2);
    pv_put_text(p, "part", "handling_record");
    pv_put_int(p, "steps", nsteps);
    pv_push(a, p);
    return a;
}

/* The retention the schedule gives document d (OA_RET_NONE when no rule matches); 0 or -1. */
struct schedule_rows {
    struct oa_retention_rule rules[256];
    char text[256][2][64];
    size_t n;
};

static void schedule_row(void *arg, int64_t organ_id, const char *doc_type, const char *issuer, const char *retention)
{
    (void)organ_id;
    struct schedule_rows *sr = arg;
    if (sr->n == 256)
        return;
    snprintf(sr->text[sr->n][0], 64, "%s", doc_type);
    snprintf(sr->text[sr->n][1], 64, "%s", issuer);
    sr->rules[sr->n] = (struct oa_retention_rule){sr->text[sr->n][0], sr->text[sr->n][1], oa_retention_parse(retention)};
    sr->n++;
}

static int schedule_pick(struct oa_store *s, const struct oa_doc *d, const char *issuer, enum oa_retention *r)
{
    struct schedule_rows *sr = oa_xcalloc(1, sizeof(*sr));
    int rc = oa_rec_schedule_each(s, d->organ_id, schedule_row, sr);
    *r = oa_retention_schedule_pick(sr->rules, sr->n, d->doc_type, issuer);
    free(sr);
    return rc;
}

int oa_rec_file(struct oa_store *s, const struct oa_app_actor *by, const struct oa_rec_file_req *q,
                struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_subject who;
    struct oa_doc d = {0};
    struct oa_attachment *files = NULL;
    struct oa_record_row *r = oa_xcalloc(1, sizeof(*r));
    size_t nfiles = 0;
    int rc = 0, err = OA_E_STORAGE;
    char target[32];
    snprintf(target, sizeof(target), "document:%lld", (long long)q->doc_id);
    if (subject_of(s, by, &me, &who) < 0)
        goto out;
    rc = allowed(s, by, &who, OA_ACT_RECORDS_MANAGE, NULL, "record.file", target, o);
    if (rc <= 0)
        goto done;
    if ((rc = oa_doc_load(s, q->doc_id, &d)) <= 0) {
        if (rc == 0)
            oa_app_refuse(o, OA_E_NOT_FOUND, "No such document.");
        goto done;
    }
    /* An officer of another organ does not file this organ's documents. */
    if (me.department_id > 0) {
        int64_t organ = oa_department_organ(s, me.department_id);
        if (organ < 0)
            goto out;
        if (organ > 0 && organ != d.organ_id) {
            oa_app_refuse(o, OA_E_FORBIDDEN, "This document belongs to another organ's records.");
            rc = oa_app_audit_doc(s, by, "record.file", &d, NULL, NULL, NULL, "refused", "another organ's document");
            goto done;
        }
    }
    if ((rc = oa_rec_is_filed(s, d.id)) != 0) {
        if (rc > 0)
            oa_app_refuse(o, OA_E_RECORD_FILED, "This document is filed already.");
        goto done;
    }
    if (strcmp(d.state, "archived") != 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "Only an archived document (归档 in its lifecycle) can be filed.");
        rc = 0;
        goto done;
    }
    char fonds[8] = "";
    rc = d.organ_id > 0 ? oa_organ_fonds(s, d.organ_id, fonds) : 0;
    if (rc == -1)
        goto out;
    if (rc != 1) {
        oa_app_refuse(o, OA_E_FONDS_UNSET, NULL);
        rc = 0;
        goto done;
    }
    const char *class_code = q->class_code ? q->class_code : "";
    if (!oa_class_code_valid(class_code)) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "class_code is 1-16 upper-case letters or digits (e.g. BGS).");
        rc = 0;
        goto done;
    }
    char issuer[64] = "";
    if (oa_rec_issuer(s, d.organ_id, d.department_id, issuer, sizeof(issuer)) != 0)
        goto out;
    enum oa_retention scheduled, ret;
    if (schedule_pick(s, &d, issuer, &scheduled) != 0)
        goto out;
    ret = q->retention ? oa_retention_parse(q->retention) : scheduled;
    if (q->retention && ret == OA_RET_NONE) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "retention is Y, D30 or D10.");
        rc = 0;
        goto done;
    }
    if (ret == OA_RET_NONE) {
        oa_app_refuse(o, OA_E_RETENTION_UNSET, NULL);
        rc = 0;
        goto done;
    }
    bool override = scheduled != OA_RET_NONE && ret != scheduled;
    if (override && (q->reason == NULL || q->reason[0] == '\0')) {
        oa_app_refuse(o, OA_E_REASON_REQUIRED, "The retention departs from the schedule: give the reason.");
        rc = 0;
        goto done;
    }
    int rcf = 0;
    files = oa_attachment_list(s, d.id, &nfiles, &rcf);
    if (rcf != 0)
        goto out;
    int64_t nsteps = oa_rec_step_count(s, d.id);
    if (nsteps < 0)
        goto out;

    /* The record: the catalogue entry as the document stands now. */
    r->doc_id = d.id;
    r->organ_id = d.organ_id;
    snprintf(r->fonds, sizeof(r->fonds), "%s", fonds);
    snprintf(r->category, sizeof(r->category), "%s", OA_RECORD_CATEGORY);
    date_compact(d.doc_date, r->doc_date);
    /* No readable date (or one before year 1000): the filing date. */
    if (r->doc_date[0] == '\0' || r->doc_date[0] == '0') {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(r->doc_date, sizeof(r->doc_date), "%Y%m%d", &tm);
    }
    r->year = (r->doc_date[0] - '0') * 1000 + (r->doc_date[1] - '0') * 100 + (r->doc_date[2] - '0') * 10 +
              (r->doc_date[3] - '0');
    snprintf(r->retention, sizeof(r->retention), "%s", oa_retention_code(ret));
    snprintf(r->class_code, sizeof(r->class_code), "%s", class_code);
    if (override)
        pv_utf8_copy(r->retention_reason, sizeof(r->retention_reason), q->reason);
    pv_utf8_copy(r->title, sizeof(r->title), d.title);
    if (oa_rec_organ_name(s, d.organ_id, r->responsible, sizeof(r->responsible)) != 0)
        goto out;
    snprintf(r->doc_number, sizeof(r->doc_number), "%s", d.doc_number);
    r->pages = q->pages >= 0 ? q->pages : nfiles > 0 ? (int)nfiles : 1;
    r->level = d.level;
    pv_utf8_copy(r->note, sizeof(r->note), q->note ? q->note : "");
    r->filed_at = oa_now();
    r->filed_by = me.id;
    snprintf(r->state, sizeof(r->state), "filed");

    /* The 件号, taken inside this transaction: undone with it. */
    if (oa_rec_next_item(s, r->fonds, r->category, r->year, r->retention, r->class_code, &r->item_no) != 0)
        goto out;
    if (r->item_no > 9999) {
        oa_app_undo(o, OA_E_CONFLICT, "This class has 9999 records already: file under another class code.");
        rc = 0;
        goto done;
    }
    if (!oa_archival_no(r->fonds, r->category, r->year, ret, r->class_code, r->item_no, r->archival_no,
                        sizeof(r->archival_no)))
        goto out;
    if (filing_check != NULL) {
        const char *why = NULL;
        struct oa_rec_filing f = {r, &d, files, nfiles, nsteps};
        int c = filing_check(s, &f, filing_check_arg, &why);
        if (c < 0)
            goto out;
        if (c > 0) {
            oa_app_undo(o, OA_E_RECORD_CHECK_FAILED, why);
            rc = 0;
            goto done;
        }
    }
    if ((rc = oa_rec_insert(s, r)) != 0) {
        if (rc == 1)
            oa_app_undo(o, OA_E_RECORD_FILED, "This document is filed already.");
        rc = rc == 1 ? 0 : -1;
        if (rc < 0)
            goto out;
        goto done;
    }
    if (oa_change_record(s, "record", d.id, "file") < 0 ||
        oa_app_audit_doc(s, by, "record.file", &d, NULL, NULL, NULL, "ok", r->archival_no) != 0)
        goto out;
    bool content = oa_doc_visible(s, &me, &d);
    *out = oa_rec_item(r, content);
    pv_put(*out, "parts", parts_item(&d, files, nfiles, nsteps, content));
    rc = 0;
done:
    err = rc < 0 ? OA_E_STORAGE : 0;
out:
    if (d.id != 0)
        oa_doc_free(&d);
    free(files);
    free(r);
    return err == 0 ? 0 : OA_E_STORAGE;
}

struct corrections {
    cbor_item_t *list;
    bool content;
};

static void correction_item(void *arg, const char *field, const char *old, const char *new_value, const char *reason,
                            int64_t by_id, int64_t at)
{
    struct corrections *c = arg;
    cbor_item_t *m = pv_map(6);
    pv_put_text(m, "field", field);
    if (c->content) {
        pv_put_text(m, "old", old);
        pv_put_text(m, "new", new_value);
    }
    pv_put_text(m, "reason", reason);
    pv_put_int(m, "by", by_id);
    pv_put_int(m, "at", at);
    pv_push(c->list, m);
}

int oa_rec_get(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, struct oa_app_outcome *o,
               cbor_item_t **out)
{
    struct oa_user me;
    struct oa_subject who;
    char target[32];
    snprintf(target, sizeof(target), "document:%lld", (long long)doc_id);
    if (subject_of(s, by, &me, &who) < 0)
        return OA_E_STORAGE;
    int rc = allowed(s, by, &who, OA_ACT_RECORDS_READ, NULL, "record.read", target, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    struct oa_record_row *r = oa_xcalloc(1, sizeof(*r));
    struct oa_doc d = {0};
    struct oa_attachment *files = NULL;
    size_t nfiles = 0;
    int err = OA_E_STORAGE;
    if ((rc = oa_rec_load(s, doc_id, r)) <= 0) {
        if (rc == 0) {
            oa_app_refuse(o, OA_E_NOT_FOUND, "No record of that document.");
            err = 0;
        }
        goto out;
    }
    if (oa_doc_load(s, doc_id, &d) != 1)
        goto out;
    bool content = oa_doc_visible(s, &me, &d);
    int rcf = 0;
    files = oa_attachment_list(s, d.id, &nfiles, &rcf);
    int64_t nsteps = oa_rec_step_count(s, d.id);
    if (rcf != 0 || nsteps < 0)
        goto out;
    *out = oa_rec_item(r, content);
    pv_put(*out, "parts", parts_item(&d, files, nfiles, nsteps, content));
    if (strcmp(r->state, "disposed") == 0) {
        struct oa_tombstone_row t;
        if (oa_tombstone_load(s, doc_id, &t) == 1) {
            cbor_item_t *m = pv_map(6);
            pv_put_text(m, "archival_no", t.archival_no);
            pv_put_text(m, "title", content ? t.title : NULL);
            pv_put_text(m, "doc_date", t.doc_date);
            pv_put_int(m, "disposed_at", t.disposed_at);
            pv_put_int(m, "disposal_list", t.list_id);
            pv_put_int(m, "approved_by", t.approved_by);
            pv_put(*out, "tombstone", m);
        }
    }
    /* Its corrections: what changed, why, by whom and when; the values are content. */
    struct corrections cs = {cbor_new_indefinite_array(), content};
    if (cs.list == NULL)
        abort();
    if (oa_rec_corrections_each(s, doc_id, correction_item, &cs) != 0) {
        cbor_decref(&cs.list);
        cbor_decref(out);
        goto out;
    }
    pv_put(*out, "corrections", cs.list);
    /* A classified record's content shown is audited, as the document read is. */
    if (content && d.level > OA_LEVEL_PUBLIC &&
        oa_app_audit_doc(s, by, "record.read", &d, NULL, NULL, NULL, "ok", NULL) != 0) {
        cbor_decref(out);
        goto out;
    }
    err = 0;
out:
    oa_doc_free(&d);
    free(files);
    free(r);
    return err;
}

/* Loads the record for a change by a records officer; 1 loaded, 0 refused (o), -1 error. */
static int record_for_change(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, const char *event,
                             struct oa_user *me, struct oa_record_row *r, struct oa_app_outcome *o)
{
    struct oa_subject who;
    char target[32];
    snprintf(target, sizeof(target), "document:%lld", (long long)doc_id);
    if (subject_of(s, by, me, &who) < 0)
        return -1;
    int rc = allowed(s, by, &who, OA_ACT_RECORDS_MANAGE, NULL, event, target, o);
    if (rc <= 0)
        return rc;
    rc = oa_rec_load(s, doc_id, r);
    if (rc == 0)
        oa_app_refuse(o, OA_E_NOT_FOUND, "No record of that document.");
    return rc;
}

static int record_audit(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, const char *event,
                        const char *outcome, const char *detail)
{
    char target[32];
    snprintf(target, sizeof(target), "document:%lld", (long long)doc_id);
    return oa_app_audit(s, by, event, target, outcome, detail);
}

int oa_rec_correct(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, const char *field,
                   const char *value, const char *reason, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_record_row *r = oa_xcalloc(1, sizeof(*r));
    int err = OA_E_STORAGE;
    int rc = record_for_change(s, by, doc_id, "record.correct", &me, r, o);
    if (rc <= 0) {
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    if (reason == NULL || reason[0] == '\0') {
        oa_app_refuse(o, OA_E_REASON_REQUIRED, "A correction of a filed record needs a reason.");
        err = 0;
        goto out;
    }
    if (strcmp(r->state, "disposed") == 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "A disposed record is not corrected.");
        err = 0;
        goto out;
    }
    const char *old = NULL;
    char pages[16], date[12];
    if (strcmp(field, "title") == 0)
        old = r->title;
    else if (strcmp(field, "responsible") == 0)
        old = r->responsible;
    else if (strcmp(field, "doc_number") == 0)
        old = r->doc_number;
    else if (strcmp(field, "note") == 0)
        old = r->note;
    else if (strcmp(field, "doc_date") == 0) {
        old = r->doc_date;
        date_compact(value, date);
        /* The date stays in its 年度: the archival number does not change. */
        if (date[0] == '\0' || strncmp(date, r->doc_date, 4) != 0) {
            oa_app_refuse(o, OA_E_BAD_FIELD, "doc_date is YYYYMMDD, in the record's year.");
            err = 0;
            goto out;
        }
        value = date;
    } else if (strcmp(field, "pages") == 0) {
        snprintf(pages, sizeof(pages), "%d", r->pages);
        old = pages;
        char *end = NULL;
        long v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || v < 0 || v > 100000) {
            oa_app_refuse(o, OA_E_BAD_FIELD, "pages is a whole number.");
            err = 0;
            goto out;
        }
    }
    if (old == NULL) {
        oa_app_refuse(o, OA_E_BAD_FIELD,
                      "field is one of title, responsible, doc_number, doc_date, pages, note: the archival number and "
                      "retention of a filed record never change.");
        err = 0;
        goto out;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "%s corrected", field);
    if (oa_rec_correction_add(s, doc_id, field, old, value, reason, me.id) < 0 ||
        oa_rec_unseal(s, doc_id, "correct") != 0 || oa_rec_set_field(s, doc_id, field, value) != 0 ||
        oa_rec_reseal(s, doc_id) != 0 || oa_change_record(s, "record", doc_id, "correct") < 0 ||
        record_audit(s, by, doc_id, "record.correct", "ok", detail) != 0 || oa_rec_load(s, doc_id, r) != 1)
        goto out;
    *out = pv_map(4);
    pv_put_int(*out, "document_id", doc_id);
    pv_put_text(*out, "field", field);
    pv_put_text(*out, "archival_no", r->archival_no);
    pv_put_text(*out, "reason", reason);
    err = 0;
out:
    free(r);
    return err;
}

int oa_rec_hold(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, bool hold, const char *reason,
                struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_record_row *r = oa_xcalloc(1, sizeof(*r));
    int err = OA_E_STORAGE;
    int rc = record_for_change(s, by, doc_id, hold ? "record.hold" : "record.release", &me, r, o);
    if (rc <= 0) {
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    if (reason == NULL || reason[0] == '\0') {
        oa_app_refuse(o, OA_E_REASON_REQUIRED, "A legal hold, and its end, need a reason.");
        err = 0;
        goto out;
    }
    if (strcmp(r->state, "disposed") == 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "The record was disposed of.");
        err = 0;
        goto out;
    }
    if (oa_rec_set_hold(s, doc_id, hold, reason) != 0 || oa_change_record(s, "record", doc_id, "hold") < 0 ||
        record_audit(s, by, doc_id, hold ? "record.hold" : "record.release", "ok", reason) != 0 ||
        oa_rec_load(s, doc_id, r) != 1)
        goto out;
    *out = oa_rec_item(r, false);
    err = 0;
out:
    free(r);
    return err;
}

int oa_rec_fonds_set(struct oa_store *s, const struct oa_app_actor *by, int64_t organ_id, const char *fonds,
                     struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_subject who;
    char target[32];
    snprintf(target, sizeof(target), "organ:%lld", (long long)organ_id);
    if (subject_of(s, by, &me, &who) < 0)
        return OA_E_STORAGE;
    int rc = allowed(s, by, &who, OA_ACT_RECORDS_MANAGE, NULL, "organ.fonds", target, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    if (!oa_fonds_valid(fonds)) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "fonds is 4 upper-case letters or digits (e.g. Z109).");
        return 0;
    }
    char cur[8];
    rc = oa_organ_fonds(s, organ_id, cur);
    if (rc == -1)
        return OA_E_STORAGE;
    if (rc == -2) {
        oa_app_refuse(o, OA_E_NOT_FOUND, "No such organ.");
        return 0;
    }
    /* Numbers already given carry the code: it is set once. */
    if (rc == 1 && strcmp(cur, fonds) != 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "The organ's fonds code is set already and never changes.");
        return 0;
    }
    rc = oa_organ_fonds_set(s, organ_id, fonds);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 1) {
        oa_app_refuse(o, OA_E_CONFLICT, "Another organ has that fonds code.");
        return 0;
    }
    if (oa_change_record(s, "organ", organ_id, "fonds") < 0 || oa_app_audit(s, by, "organ.fonds", target, "ok", fonds) != 0)
        return OA_E_STORAGE;
    *out = pv_map(2);
    pv_put_int(*out, "organ_id", organ_id);
    pv_put_text(*out, "fonds", fonds);
    return 0;
}

int oa_rec_schedule_set(struct oa_store *s, const struct oa_app_actor *by, int64_t organ_id, const char *doc_type,
                        const char *issuer, const char *retention, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_subject who;
    char target[32];
    snprintf(target, sizeof(target), "organ:%lld", (long long)organ_id);
    if (subject_of(s, by, &me, &who) < 0)
        return OA_E_STORAGE;
    int rc = allowed(s, by, &who, OA_ACT_RECORDS_MANAGE, NULL, "records.schedule", target, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    if (oa_retention_parse(retention) == OA_RET_NONE) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "retention is Y, D30 or D10.");
        return 0;
    }
    rc = oa_organ_find(s, organ_id);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        oa_app_refuse(o, OA_E_NOT_FOUND, "No such organ.");
        return 0;
    }
    char detail[200];
    snprintf(detail, sizeof(detail), "%s from %s: %s", doc_type, issuer, retention);
    if (oa_rec_schedule_put(s, organ_id, doc_type, issuer, retention) != 0 ||
        oa_app_audit(s, by, "records.schedule", target, "ok", detail) != 0)
        return OA_E_STORAGE;
    *out = pv_map(4);
    pv_put_int(*out, "organ_id", organ_id);
    pv_put_text(*out, "doc_type", doc_type);
    pv_put_text(*out, "issuer", issuer);
    pv_put_text(*out, "retention", retention);
    return 0;
}

static void schedule_item(void *arg, int64_t organ_id, const char *doc_type, const char *issuer, const char *retention)
{
    cbor_item_t *m = pv_map(4);
    pv_put_int(m, "organ_id", organ_id);
    pv_put_text(m, "doc_type", doc_type);
    pv_put_text(m, "issuer", issuer);
    pv_put_text(m, "retention", retention);
    pv_push(arg, m);
}

int oa_rec_schedule_list(struct oa_store *s, const struct oa_app_actor *by, int64_t organ_id,
                         struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_subject who;
    if (subject_of(s, by, &me, &who) < 0)
        return OA_E_STORAGE;
    int rc = allowed(s, by, &who, OA_ACT_RECORDS_READ, NULL, "records.schedule", "schedule", o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    cbor_item_t *a = cbor_new_indefinite_array();
    if (a == NULL)
        abort();
    if (oa_rec_schedule_each(s, organ_id, schedule_item, a) != 0) {
        cbor_decref(&a);
        return OA_E_STORAGE;
    }
    *out = pv_map(1);
    pv_put(*out, "rules", a);
    return 0;
}

int oa_rec_guard_write(struct oa_store *s, const struct oa_app_actor *by, const struct oa_doc *d, const char *what,
                       enum oa_err *err, const char **message)
{
    int rc = oa_rec_is_filed(s, d->id);
    if (rc <= 0)
        return rc;
    *err = OA_E_RECORD_FILED;
    *message = NULL;
    if (oa_app_audit_doc(s, by, what, d, NULL, NULL, NULL, "refused", "a filed record does not change") != 0)
        return -1;
    return 1;
}
