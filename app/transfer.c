/* app/transfer.c: transfers to the archive (see transfer.h). */
#include "app/transfer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_read.h"
#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "storage/transfers.h"
#include "workflow/access.h"

/* The officer as a subject, and whether they may manage records; 1, 0 refused (audited), -1 error. */
static int officer(struct oa_store *s, const struct oa_app_actor *by, const char *event, const char *target,
                   struct oa_user *me, struct oa_app_outcome *o)
{
    if (oa_user_by_id(s, by->user_id, me) != 1)
        return -1;
    struct oa_subject who = {me->id, me->roles, me->clearance, me->declassifier, me->clearance_hold};
    enum oa_decision d = oa_access_decide(&who, OA_ACT_RECORDS_MANAGE, NULL);
    if (d == OA_ALLOW)
        return 1;
    oa_app_refuse(o, OA_E_FORBIDDEN, oa_decision_reason(d));
    return oa_app_audit(s, by, event, target, "refused", oa_decision_reason(d)) == 0 ? 0 : -1;
}

/*
 * Loads the records of docs for `me`: each filed and readable by them (the
 * package holds content).  1 loaded (*rows malloc'd; *classified when any
 * is 秘密 or above), 0 refused (o), -1 error.
 */
static int load_rows(struct oa_store *s, const struct oa_app_actor *by, const struct oa_user *me, const char *event,
                     const int64_t *docs, size_t n, struct oa_record_row **rows, bool *classified,
                     struct oa_app_outcome *o)
{
    static _Thread_local char sentence[160];
    *rows = oa_xcalloc(n, sizeof(**rows));
    *classified = false;
    for (size_t i = 0; i < n; i++) {
        struct oa_doc d = {0};
        int rc = oa_rec_load(s, docs[i], &(*rows)[i]);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            rc = oa_doc_load(s, docs[i], &d);
            if (rc < 0)
                return -1;
            if (rc == 1) {
                rc = oa_doc_gate_read(s, by, me, &d, event);
                oa_doc_free(&d);
                if (rc < 0)
                    return -1;
            }
        }
        if (rc == 0 || strcmp((*rows)[i].state, "disposed") == 0) {
            snprintf(sentence, sizeof sentence, "No record of document %lld.", (long long)docs[i]);
            oa_app_refuse(o, OA_E_NOT_FOUND, sentence);
            return 0;
        }
        *classified = *classified || (*rows)[i].level >= OA_LEVEL_SECRET;
    }
    return 1;
}

/* The transfer list (移交清单) as JSON text (malloc'd). */
static char *transfer_list(int64_t id, const char *archive, int64_t at, const struct oa_record_row *rows, size_t n)
{
    static const char *const marks[] = {"公开", "内部", "秘密", "机密", "绝密"};
    json_t *j = json_object();
    json_object_set_new(j, "移交批次", json_integer(id));
    json_object_set_new(j, "接收单位", json_string(archive));
    json_object_set_new(j, "移交时间", json_integer(at));
    json_object_set_new(j, "件数", json_integer((json_int_t)n));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct oa_record_row *r = &rows[i];
        json_t *it = json_object();
        json_object_set_new(it, "序号", json_integer((json_int_t)i + 1));
        json_object_set_new(it, "档号", json_string(r->archival_no));
        json_object_set_new(it, "题名", json_string(r->title));
        json_object_set_new(it, "文件编号", json_string(r->doc_number));
        json_object_set_new(it, "责任者", json_string(r->responsible));
        json_object_set_new(it, "日期", json_string(r->doc_date));
        json_object_set_new(it, "保管期限", json_string(r->retention));
        json_object_set_new(it, "密级", json_string(r->level >= 0 && r->level <= OA_LEVEL_MAX ? marks[r->level] : ""));
        json_object_set_new(it, "页数", json_integer(r->pages));
        json_array_append_new(items, it);
    }
    json_object_set_new(j, "目录", items);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        oa_oom();
    return s;
}

static cbor_item_t *json_item(const char *text)
{
    cbor_item_t *v = NULL;
    char why[64];
    if (!text || pv_decode_json(text, strlen(text), &v, why, sizeof why) != OA_E_OK)
        return pv_text(NULL);
    return v;
}

/* The batch as an answer. */
static int transfer_item(struct oa_store *s, int64_t id, cbor_item_t **out)
{
    struct oa_transfer_row t;
    int rc = oa_transfer_load(s, id, &t);
    if (rc <= 0)
        return rc;
    size_t n = 0;
    int64_t *docs = oa_transfer_docs(s, id, &n, &rc);
    struct oa_record_row *rows = oa_xcalloc(n ? n : 1, sizeof(*rows));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = oa_rec_load(s, docs[i], &rows[i]) == 1 ? 0 : -1;
    if (rc == 0) {
        char *list = transfer_list(id, t.archive, t.created_at, rows, n);
        *out = pv_map(9);
        pv_put_int(*out, "id", id);
        pv_put_text(*out, "archive", t.archive);
        pv_put_text(*out, "state", t.state);
        pv_put_int(*out, "created_at", t.created_at);
        pv_put(*out, "transfer_list", json_item(list));
        pv_put(*out, "report", json_item(t.report));
        pv_put_text(*out, "receipt", t.receipt);
        pv_put_text(*out, "received_by", t.receipt ? t.received_by : NULL);
        if (t.receipt)
            pv_put_int(*out, "received_at", t.received_at);
        free(list);
    }
    free(rows);
    free(docs);
    oa_transfer_free(&t);
    return rc == 0 ? 1 : -1;
}

int oa_transfer_create(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by,
                       const int64_t *docs, size_t n, const char *archive, struct oa_app_outcome *o,
                       cbor_item_t **out)
{
    static _Thread_local char sentence[700];
    struct oa_user me;
    struct oa_record_row *rows = NULL;
    struct aip_report rep = {0};
    char why[512] = "";
    int err = OA_E_STORAGE;
    int rc = officer(s, by, "transfer.create", "transfers", &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    if (n == 0 || n > OA_TRANSFER_MAX) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "A transfer holds 1 to 10000 records.");
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (docs[i] == docs[k]) {
                oa_app_refuse(o, OA_E_BAD_FIELD, "A record appears twice in the transfer.");
                return 0;
            }
    bool classified = false;
    rc = load_rows(s, by, &me, "transfer.create", docs, n, &rows, &classified, o);
    if (rc <= 0) {
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int t = oa_transfer_has_doc(s, docs[i]);
        if (t < 0)
            goto out;
        if (t > 0 || strcmp(rows[i].state, "filed") != 0) {
            snprintf(sentence, sizeof sentence, "%s is in another transfer already.", rows[i].archival_no);
            oa_app_refuse(o, OA_E_CONFLICT, sentence);
            err = 0;
            goto out;
        }
    }
    /* The four properties of the whole batch, with every proof required. */
    rc = oa_aip_check(s, env, rows, n, false, &rep, why, sizeof why);
    if (rc < 0)
        goto out;
    if (rc > 0)
        aip_report_add(&rep, AIP_USABILITY, "unpackable", "", "%s", why);
    char *json = aip_report_json(&rep, archive);
    if (!aip_report_ok(&rep)) {
        size_t k = (size_t)snprintf(sentence, sizeof sentence, "The batch failed the four-property check (四性检测):");
        for (size_t i = 0; i < rep.n && i < 3 && k < sizeof sentence; i++)
            k += (size_t)snprintf(sentence + k, sizeof sentence - k, "%s %s %s %s: %s", i ? ";" : "",
                                  aip_property_title(rep.f[i].property), rep.f[i].code, rep.f[i].where,
                                  rep.f[i].message);
        free(json);
        oa_app_refuse(o, OA_E_RECORD_CHECK_FAILED, sentence);
        err = oa_app_audit(s, by, "transfer.create", "transfers", "refused", sentence) == 0 ? 0 : OA_E_STORAGE;
        goto out;
    }
    int64_t id = 0;
    rc = oa_transfer_insert(s, archive, me.id, oa_now(), json, docs, n, &id);
    free(json);
    if (rc != 0)
        goto out;
    char target[48], detail[320];
    snprintf(target, sizeof target, "transfer:%lld", (long long)id);
    snprintf(detail, sizeof detail, "%zu records to %s%s", n, archive, classified ? " (classified: enveloped)" : "");
    if (oa_app_audit(s, by, "transfer.create", target, "ok", detail) != 0 || transfer_item(s, id, out) != 1)
        goto out;
    err = 0;
out:
    aip_report_free(&rep);
    free(rows);
    return err;
}

int oa_transfer_get(struct oa_store *s, const struct oa_app_actor *by, int64_t id, struct oa_app_outcome *o,
                    cbor_item_t **out)
{
    struct oa_user me;
    char target[48];
    snprintf(target, sizeof target, "transfer:%lld", (long long)id);
    int rc = officer(s, by, "transfer.read", target, &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    rc = transfer_item(s, id, out);
    if (rc == 0)
        oa_app_refuse(o, OA_E_NOT_FOUND, "No such transfer.");
    return rc < 0 ? OA_E_STORAGE : 0;
}

int oa_transfer_package(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by, int64_t id,
                        const char *recipient_cert, unsigned char **out, size_t *len, bool *enveloped,
                        struct oa_app_outcome *o)
{
    struct oa_user me;
    struct oa_transfer_row t = {0};
    struct oa_record_row *rows = NULL;
    int64_t *docs = NULL;
    char target[48], why[512] = "", name[64];
    static _Thread_local char sentence[600];
    int err = OA_E_STORAGE;
    *out = NULL;
    *enveloped = false;
    snprintf(target, sizeof target, "transfer:%lld", (long long)id);
    int rc = officer(s, by, "transfer.package", target, &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    if ((rc = oa_transfer_load(s, id, &t)) <= 0) {
        if (rc == 0)
            oa_app_refuse(o, OA_E_NOT_FOUND, "No such transfer.");
        return rc < 0 ? OA_E_STORAGE : 0;
    }
    size_t n = 0;
    docs = oa_transfer_docs(s, id, &n, &rc);
    if (rc != 0)
        goto out;
    bool classified = false;
    rc = load_rows(s, by, &me, "transfer.package", docs, n, &rows, &classified, o);
    if (rc <= 0) {
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    if (classified && (!recipient_cert || !*recipient_cert)) {
        oa_app_refuse(o, OA_E_AIP_RECIPIENT_MISSING, NULL);
        err = oa_app_audit(s, by, "transfer.package", target, "refused", "no recipient certificate") == 0 ? 0
                                                                                                         : OA_E_STORAGE;
        goto out;
    }
    char *list = transfer_list(id, t.archive, t.created_at, rows, n);
    snprintf(name, sizeof name, "oa-transfer-%lld", (long long)id);
    rc = oa_aip_bytes(s, env, rows, n, name, list, classified ? recipient_cert : NULL, out, len, why, sizeof why);
    free(list);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        snprintf(sentence, sizeof sentence, "The batch could not be packaged: %s", why);
        oa_app_refuse(o, OA_E_AIP_UNPACKABLE, sentence);
        err = oa_app_audit(s, by, "transfer.package", target, "refused", why) == 0 ? 0 : OA_E_STORAGE;
        goto out;
    }
    *enveloped = classified;
    if (oa_app_audit(s, by, "transfer.package", target, "ok", classified ? "enveloped" : NULL) != 0) {
        free(*out);
        *out = NULL;
        goto out;
    }
    err = 0;
out:
    oa_transfer_free(&t);
    free(rows);
    free(docs);
    return err;
}

int oa_transfer_receipt(struct oa_store *s, const struct oa_app_actor *by, int64_t id, const char *receipt,
                        const char *received_by, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    char target[48];
    snprintf(target, sizeof target, "transfer:%lld", (long long)id);
    int rc = officer(s, by, "transfer.receipt", target, &me, o);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    rc = oa_transfer_receive(s, id, receipt, received_by, oa_now(), me.id);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 1) {
        struct oa_transfer_row t;
        int found = oa_transfer_load(s, id, &t);
        if (found == 1)
            oa_transfer_free(&t);
        oa_app_refuse(o, found == 1 ? OA_E_CONFLICT : OA_E_NOT_FOUND,
                      found == 1 ? "The archive's receipt of this transfer is recorded already." : "No such transfer.");
        return found < 0 ? OA_E_STORAGE : 0;
    }
    /* Each record's own entry, so its history says where it went. */
    size_t n = 0;
    int64_t *docs = oa_transfer_docs(s, id, &n, &rc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct oa_doc d = {0};
        rc = oa_doc_load(s, docs[i], &d) == 1 ? 0 : -1;
        if (rc == 0) {
            rc = oa_app_audit_doc(s, by, "record.transfer", &d, "filed", "transferred", NULL, "ok", target);
            oa_doc_free(&d);
        }
    }
    free(docs);
    if (rc != 0 || oa_app_audit(s, by, "transfer.receipt", target, "ok", received_by) != 0 ||
        transfer_item(s, id, out) != 1)
        return OA_E_STORAGE;
    return 0;
}
