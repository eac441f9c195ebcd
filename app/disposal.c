/* app/disposal.c: disposal lists and disposal.  See disposal.h. */
#include "app/disposal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/blobs.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "workflow/access.h"
#include "workflow/records.h"

static int this_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

static int subject_of(struct oa_store *s, const struct oa_app_actor *by, struct oa_subject *who)
{
    struct oa_user me;
    if (oa_user_by_id(s, by->user_id, &me) != 1)
        return -1;
    *who = (struct oa_subject){me.id, me.roles, me.clearance, me.declassifier, me.clearance_hold};
    return 0;
}

static int refuse_audited(struct oa_store *s, const struct oa_app_actor *by, const char *event, const char *target,
                          enum oa_err e, const char *why, struct oa_app_outcome *o)
{
    oa_app_refuse(o, e, why);
    return oa_app_audit(s, by, event, target, "refused", why) == 0 ? 0 : OA_E_STORAGE;
}

/*
 * Whether record doc_id may be disposed of now: OA_E_OK, or the error (with
 * its sentence in *why).  -1 on a storage error.
 */
static int check_disposable(struct oa_store *s, int64_t doc_id, struct oa_record_row *r, enum oa_err *e,
                            const char **why)
{
    int rc = oa_rec_load(s, doc_id, r);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *e = OA_E_NOT_FOUND;
        *why = "A document on the list is not a filed record.";
        return 0;
    }
    enum oa_dispose_check c =
        oa_record_disposable(r->state, oa_retention_parse(r->retention), r->year, r->hold, this_year());
    *why = oa_dispose_reason(c);
    *e = c == OA_DISPOSE_OK ? OA_E_OK
         : c == OA_DISPOSE_HELD ? OA_E_RECORD_HELD
         : c == OA_DISPOSE_NOT_FILED ? OA_E_CONFLICT
                                     : OA_E_RECORD_NOT_DUE;
    return 0;
}

static cbor_item_t *list_item(struct oa_store *s, const struct oa_disposal_row *d)
{
    cbor_item_t *m = pv_map(10);
    pv_put_int(m, "id", d->id);
    pv_put_int(m, "organ_id", d->organ_id);
    pv_put_int(m, "proposed_by", d->proposed_by);
    pv_put_int(m, "proposed_at", d->proposed_at);
    pv_put_text(m, "reason", d->reason);
    pv_put_text(m, "state", d->state);
    if (d->approved_by > 0) {
        pv_put_int(m, "approved_by", d->approved_by);
        pv_put_int(m, "decided_at", d->decided_at);
    } else {
        pv_put_text(m, "approved_by", NULL);
        pv_put_text(m, "decided_at", NULL);
    }
    pv_put_text(m, "opinion", d->opinion[0] ? d->opinion : NULL);
    int64_t *ids = oa_xcalloc(OA_DISPOSAL_MAX, sizeof(*ids));
    size_t n = 0;
    cbor_item_t *a = pv_array(OA_DISPOSAL_MAX);
    if (oa_disposal_items(s, d->id, ids, OA_DISPOSAL_MAX, &n) == 0)
        for (size_t i = 0; i < n; i++)
            pv_push(a, pv_int(ids[i]));
    free(ids);
    pv_put(m, "documents", a);
    return m;
}

int oa_rec_disposal_propose(struct oa_store *s, const struct oa_app_actor *by, const int64_t *doc_ids, size_t n,
                        const char *reason, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_subject who;
    if (subject_of(s, by, &who) != 0)
        return OA_E_STORAGE;
    enum oa_decision dec = oa_access_decide(&who, OA_ACT_RECORDS_MANAGE, NULL);
    if (dec != OA_ALLOW)
        return refuse_audited(s, by, "disposal.propose", "disposal", OA_E_FORBIDDEN, oa_decision_reason(dec), o);
    if (reason == NULL || reason[0] == '\0') {
        oa_app_refuse(o, OA_E_REASON_REQUIRED, "A disposal list needs its reason (the appraisal's finding).");
        return 0;
    }
    if (n == 0 || n > OA_DISPOSAL_MAX) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "documents names 1 to 1000 records.");
        return 0;
    }
    struct oa_record_row *r = oa_xcalloc(1, sizeof(*r));
    int64_t organ = 0, list = 0;
    int err = OA_E_STORAGE;
    for (size_t i = 0; i < n; i++) {
        enum oa_err e;
        const char *why;
        if (check_disposable(s, doc_ids[i], r, &e, &why) != 0)
            goto out;
        if (e == OA_E_OK && organ != 0 && r->organ_id != organ) {
            e = OA_E_BAD_FIELD;
            why = "A disposal list names the records of one organ.";
        }
        int pending = e == OA_E_OK ? oa_disposal_pending_for(s, doc_ids[i]) : 0;
        if (pending < 0)
            goto out;
        if (pending > 0) {
            e = OA_E_CONFLICT;
            why = "A record on the list is on another list awaiting its decision.";
        }
        if (e != OA_E_OK) {
            char target[32];
            snprintf(target, sizeof(target), "document:%lld", (long long)doc_ids[i]);
            err = refuse_audited(s, by, "disposal.propose", target, e, why, o);
            goto out;
        }
        organ = r->organ_id;
    }
    list = oa_disposal_insert(s, organ, who.id, reason);
    if (list < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (oa_disposal_item_add(s, list, doc_ids[i]) != 0)
            goto out;
    char target[32], detail[64];
    snprintf(target, sizeof(target), "disposal:%lld", (long long)list);
    snprintf(detail, sizeof(detail), "%zu records", n);
    struct oa_disposal_row d;
    if (oa_change_record(s, "disposal", list, "propose") < 0 ||
        oa_app_audit(s, by, "disposal.propose", target, "ok", detail) != 0 || oa_disposal_load(s, list, &d) != 1)
        goto out;
    *out = list_item(s, &d);
    err = 0;
out:
    free(r);
    return err;
}

/* Disposes of one record: shred, erase, tombstone, audit.  0 or -1. */
static int dispose_one(struct oa_store *s, const struct oa_app_actor *by, const struct oa_record_row *r,
                       const struct oa_disposal_row *list, int64_t approver)
{
    struct oa_doc d;
    if (oa_doc_load(s, r->doc_id, &d) != 1)
        return -1;
    int rc = -1;
    if (oa_doc_load_body(s, &d) != 0)
        goto out;
    struct oa_tombstone_row t = {0};
    t.doc_id = r->doc_id;
    snprintf(t.archival_no, sizeof(t.archival_no), "%s", r->archival_no);
    snprintf(t.title, sizeof(t.title), "%s", r->title);
    snprintf(t.doc_date, sizeof(t.doc_date), "%s", r->doc_date);
    t.filed_at = r->filed_at;
    t.disposed_at = oa_now();
    t.list_id = list->id;
    t.proposed_by = list->proposed_by;
    t.approved_by = approver;
    if (oa_rec_unseal(s, r->doc_id, "dispose") != 0 || oa_rec_erase(s, r->doc_id, d.title, d.body) != 0 ||
        oa_rec_set_state(s, r->doc_id, "disposed") != 0 || oa_tombstone_insert(s, &t) != 0 ||
        oa_rec_reseal(s, r->doc_id) != 0 || oa_change_record(s, "document", r->doc_id, "dispose") < 0 ||
        oa_change_record(s, "record", r->doc_id, "dispose") < 0)
        goto out;
    char detail[160];
    snprintf(detail, sizeof(detail), "%s disposed by list %lld", r->archival_no, (long long)list->id);
    rc = oa_app_audit_doc(s, by, "record.dispose", &d, NULL, NULL, NULL, "ok", detail) == 0 ? 0 : -1;
out:
    oa_doc_free(&d);
    return rc;
}

int oa_rec_disposal_decide(struct oa_store *s, const struct oa_app_actor *by, int64_t id, bool approve,
                       const char *opinion, struct oa_app_outcome *o, cbor_item_t **out,
                       struct oa_blob_files **dead)
{
    struct oa_subject who;
    if (subject_of(s, by, &who) != 0)
        return OA_E_STORAGE;
    char target[32];
    snprintf(target, sizeof(target), "disposal:%lld", (long long)id);
    struct oa_disposal_row d;
    int rc = oa_disposal_load(s, id, &d);
    if (rc < 0)
        return OA_E_STORAGE;
    /* The role first, so that a list's existence is told only to those who may decide. */
    struct oa_object what = {.user_id = rc == 1 ? d.proposed_by : 0};
    enum oa_decision dec = oa_access_decide(&who, OA_ACT_DISPOSAL_APPROVE, &what);
    if (dec != OA_ALLOW)
        return refuse_audited(s, by, "disposal.decide", target, OA_E_FORBIDDEN,
                              dec == OA_DENY_SELF ? "A disposal list is approved by someone other than its proposer."
                                                  : oa_decision_reason(dec),
                              o);
    if (rc == 0) {
        oa_app_refuse(o, OA_E_NOT_FOUND, "No such disposal list.");
        return 0;
    }
    if (strcmp(d.state, "proposed") != 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "This list was decided already.");
        return 0;
    }
    if (opinion == NULL || opinion[0] == '\0') {
        oa_app_refuse(o, OA_E_REASON_REQUIRED, "The decision on a disposal list needs an opinion.");
        return 0;
    }
    int64_t *ids = oa_xcalloc(OA_DISPOSAL_MAX, sizeof(*ids));
    struct oa_record_row *r = oa_xcalloc(1, sizeof(*r));
    size_t n = 0;
    int err = OA_E_STORAGE;
    if (oa_disposal_items(s, id, ids, OA_DISPOSAL_MAX, &n) != 0)
        goto out;
    if (approve) {
        /* Checked again: a hold may have come since the proposal, or a record been transferred. */
        for (size_t i = 0; i < n; i++) {
            enum oa_err e;
            const char *why;
            if (check_disposable(s, ids[i], r, &e, &why) != 0)
                goto out;
            if (e != OA_E_OK) {
                char t2[32];
                snprintf(t2, sizeof(t2), "document:%lld", (long long)ids[i]);
                err = refuse_audited(s, by, "disposal.decide", t2, e, why, o);
                goto out;
            }
        }
        if (*dead == NULL)
            *dead = oa_xcalloc(1, sizeof(**dead));
        for (size_t i = 0; i < n; i++) {
            if (oa_rec_load(s, ids[i], r) != 1 || dispose_one(s, by, r, &d, who.id) != 0 ||
                oa_blob_dead_files(s, ids[i], *dead) != 0)
                goto out;
        }
        s->wal_truncate_due = true;
    }
    if (oa_disposal_decide(s, id, who.id, approve ? "disposed" : "refused", opinion) != 0 ||
        oa_change_record(s, "disposal", id, approve ? "approve" : "refuse") < 0 ||
        oa_app_audit(s, by, "disposal.decide", target, "ok", approve ? "approved: disposed" : "refused") != 0 ||
        oa_disposal_load(s, id, &d) != 1)
        goto out;
    *out = list_item(s, &d);
    err = 0;
out:
    free(ids);
    free(r);
    return err;
}

struct lists {
    struct oa_store *s;
    struct oa_disposal_row rows[200];
    size_t n;
};

static void list_row(void *arg, const struct oa_disposal_row *d)
{
    struct lists *l = arg;
    if (l->n < 200)
        l->rows[l->n++] = *d;
}

int oa_rec_disposal_list(struct oa_store *s, const struct oa_app_actor *by, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_subject who;
    if (subject_of(s, by, &who) != 0)
        return OA_E_STORAGE;
    enum oa_decision dec = oa_access_decide(&who, OA_ACT_RECORDS_READ, NULL);
    if (dec != OA_ALLOW)
        return refuse_audited(s, by, "disposal.list", "disposal", OA_E_FORBIDDEN, oa_decision_reason(dec), o);
    struct lists *l = oa_xcalloc(1, sizeof(*l));
    l->s = s;
    int rc = oa_disposal_each(s, 200, list_row, l);
    if (rc == 0) {
        cbor_item_t *a = pv_array(l->n);
        for (size_t i = 0; i < l->n; i++)
            pv_push(a, list_item(s, &l->rows[i]));
        *out = pv_map(1);
        pv_put(*out, "lists", a);
    }
    free(l);
    return rc == 0 ? 0 : OA_E_STORAGE;
}

size_t oa_rec_disposal_unlink(const char *data_dir, struct oa_blob_files *dead, size_t *n)
{
    *n = dead != NULL ? dead->n : 0;
    size_t removed = dead != NULL ? oa_blob_files_unlink(data_dir, dead) : 0;
    oa_rec_disposal_files_free(dead);
    return removed;
}

void oa_rec_disposal_files_free(struct oa_blob_files *dead)
{
    if (dead == NULL)
        return;
    oa_blob_files_free(dead);
    free(dead);
}
