/* app/records_list.c: the catalogue, the appraisal and declassification lists.  See records_list.h. */
#include "app/records_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/doc_read.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "workflow/access.h"
#include "workflow/records.h"

static const char *const level_zh[] = {"公开", "内部", "秘密", "机密", "绝密"};

/* Who reads; refusal audited.  1 allowed, 0 refused, -1 error. */
static int reader_of(struct oa_store *s, const struct oa_app_actor *by, const char *event, struct oa_user *me,
                     struct oa_app_outcome *o)
{
    if (oa_user_by_id(s, by->user_id, me) != 1)
        return -1;
    struct oa_subject who = {me->id, me->roles, me->clearance, me->declassifier, me->clearance_hold};
    enum oa_decision d = oa_access_decide(&who, OA_ACT_RECORDS_READ, NULL);
    if (d == OA_ALLOW)
        return 1;
    oa_app_refuse(o, OA_E_FORBIDDEN, oa_decision_reason(d));
    return oa_app_audit(s, by, event, "records", "refused", oa_decision_reason(d)) == 0 ? 0 : -1;
}

struct walk {
    struct oa_store *s;
    const struct oa_user *me;
    cbor_item_t *entries;
    size_t n;
    int max_level;     /* the highest level shown */
    bool truncated, failed;
    int kind;          /* 0 catalogue, 1 appraisal, 2 declassification */
    char today[12];
};

/* Loads the record's document and decides whether the reader may read it; -1 on error. */
static int visible(struct walk *w, int64_t doc_id, struct oa_doc *d)
{
    if (oa_doc_load(w->s, doc_id, d) != 1)
        return -1;
    return oa_doc_visible(w->s, w->me, d) ? 1 : 0;
}

static bool catalogue_row(void *arg, const struct oa_record_row *r)
{
    struct walk *w = arg;
    if (w->n == OA_CATALOGUE_MAX) {
        w->truncated = true;
        return false;
    }
    struct oa_doc d;
    int v = visible(w, r->doc_id, &d);
    if (v < 0) {
        w->failed = true;
        return false;
    }
    oa_doc_free(&d);
    if (v == 0)
        return true;
    cbor_item_t *m = pv_map(17);
    pv_put_int(m, "document_id", r->doc_id);
    pv_put_int(m, "item_no", r->item_no);
    pv_put_text(m, "archival_no", r->archival_no);
    pv_put_text(m, "fonds", r->fonds);
    pv_put_int(m, "year", r->year);
    pv_put_text(m, "retention", r->retention);
    pv_put_text(m, "class_code", r->class_code);
    pv_put_text(m, "responsible", r->responsible);
    pv_put_text(m, "doc_number", r->doc_number);
    pv_put_text(m, "title", r->title);
    pv_put_text(m, "doc_date", r->doc_date);
    pv_put_int(m, "pages", r->pages);
    pv_put_int(m, "level", r->level);
    pv_put_text(m, "level_name", r->level >= 0 && r->level <= 4 ? level_zh[r->level] : "");
    pv_put_text(m, "note", r->note);
    pv_put_text(m, "state", r->state);
    pv_put_bool(m, "hold", r->hold);
    pv_push(w->entries, m);
    w->n++;
    if (r->level > w->max_level)
        w->max_level = r->level;
    return true;
}

static cbor_item_t *new_list(void)
{
    cbor_item_t *a = cbor_new_indefinite_array();
    if (a == NULL)
        abort();
    return a;
}

/* The answer {entries, truncated} and, when classified entries were shown, their audit entry. */
static int finish(struct oa_store *s, const struct oa_app_actor *by, struct walk *w, const char *event, int rc,
                  cbor_item_t **out)
{
    if (rc != 0 || w->failed) {
        cbor_decref(&w->entries);
        return OA_E_STORAGE;
    }
    if (w->max_level > OA_LEVEL_PUBLIC) {
        char detail[64];
        snprintf(detail, sizeof(detail), "%zu entries, up to level %d", w->n, w->max_level);
        if (oa_app_audit(s, by, event, "records", "ok", detail) != 0) {
            cbor_decref(&w->entries);
            return OA_E_STORAGE;
        }
    }
    *out = pv_map(2);
    pv_put(*out, "entries", w->entries);
    pv_put_bool(*out, "truncated", w->truncated);
    return 0;
}

int oa_rec_catalogue(struct oa_store *s, const struct oa_app_actor *by, const struct oa_rec_filter *f,
                     struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    int rc = reader_of(s, by, "records.catalogue", &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    struct walk w = {.s = s, .me = &me, .entries = new_list()};
    rc = oa_rec_each(s, f, catalogue_row, &w);
    return finish(s, by, &w, "records.catalogue", rc, out);
}

static int this_year(char today[12])
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, 12, "%Y-%m-%d", &tm);
    return tm.tm_year + 1900;
}

static bool review_row(void *arg, const struct oa_record_row *r)
{
    struct walk *w = arg;
    if (w->n == OA_CATALOGUE_MAX) {
        w->truncated = true;
        return false;
    }
    struct oa_doc d;
    int v = visible(w, r->doc_id, &d);
    if (v < 0) {
        w->failed = true;
        return false;
    }
    if (w->kind == 2 && !oa_secrecy_ended(r->level, d.secrecy_period, d.declass_date, r->doc_date, w->today)) {
        oa_doc_free(&d);
        return true;
    }
    cbor_item_t *m = pv_map(8);
    pv_put_int(m, "document_id", r->doc_id);
    pv_put_text(m, "archival_no", r->archival_no);
    if (w->kind == 1) {
        pv_put_text(m, "retention", r->retention);
        pv_put_int(m, "year", r->year);
        pv_put_int(m, "due_since", r->year + oa_retention_years(oa_retention_parse(r->retention)) + 1);
        pv_put_bool(m, "hold", r->hold);
    } else {
        pv_put_int(m, "level", r->level);
        pv_put_text(m, "secrecy_period", d.secrecy_period);
        pv_put_text(m, "declass_date", d.declass_date[0] ? d.declass_date : NULL);
        pv_put_text(m, "doc_date", r->doc_date);
    }
    if (v == 1) {
        pv_put_text(m, "title", r->title);
        if (r->level > w->max_level)
            w->max_level = r->level;
    }
    oa_doc_free(&d);
    pv_push(w->entries, m);
    w->n++;
    return true;
}

int oa_rec_appraisal(struct oa_store *s, const struct oa_app_actor *by, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    int rc = reader_of(s, by, "records.appraisal", &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    struct walk w = {.s = s, .me = &me, .entries = new_list(), .kind = 1};
    struct oa_rec_filter f = {.state = "filed", .due_in = true, .due_in_year = this_year(w.today)};
    rc = oa_rec_each(s, &f, review_row, &w);
    return finish(s, by, &w, "records.appraisal", rc, out);
}

int oa_rec_declass_review(struct oa_store *s, const struct oa_app_actor *by, struct oa_app_outcome *o,
                          cbor_item_t **out)
{
    struct oa_user me;
    int rc = reader_of(s, by, "records.declassification", &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    struct walk w = {.s = s, .me = &me, .entries = new_list(), .kind = 2};
    this_year(w.today);
    struct oa_rec_filter f = {0};
    rc = oa_rec_each(s, &f, review_row, &w);
    return finish(s, by, &w, "records.declassification", rc, out);
}
