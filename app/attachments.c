/* app/attachments.c: see attachments.h. */
#include "app/attachments.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/doc_read.h"
#include "model/account.h"
#include "proto/etag.h"
#include "storage/blobs.h"
#include "storage/documents.h"
#include "workflow/access.h"

cbor_item_t *oa_app_attachment_item(const struct oa_attachment *a)
{
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), a->blob.info.digest, 32);
    cbor_item_t *m = pv_map(10);
    pv_put_int(m, "id", a->id);
    pv_put_int(m, "document", a->doc_id);
    pv_put_text(m, "name", a->name);
    pv_put_text(m, "role", a->role);
    pv_put_int(m, "rev", a->rev);
    pv_put_int(m, "size", (int64_t)a->blob.info.size);
    pv_put_text(m, "content_type", a->blob.content_type);
    pv_put_text(m, "sha256", hex);
    pv_put_int(m, "created_at", a->blob.created_at);
    pv_put_int(m, "created_by", a->blob.created_by);
    return m;
}

int oa_app_upload_check(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, int64_t att_id,
                        const char *name, const char *role, const char *if_match, struct oa_app_upload_target *t,
                        enum oa_err *err, const char **message)
{
    struct oa_user me;
    struct oa_doc d;
    const char *what = att_id ? "attachment.replace" : "attachment.add";
    int rc = oa_doc_open_for(s, by, doc_id, true, what, &me, &d, err, message);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    t->level = d.level;
    oa_doc_free(&d);
    if (att_id == 0) {
        t->rev = 1;
        snprintf(t->name, sizeof(t->name), "%s", name);
        snprintf(t->role, sizeof(t->role), "%s", role ? role : "attachment");
        return 0;
    }
    struct oa_attachment a;
    rc = oa_attachment_get(s, doc_id, att_id, 0, &a);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        *err = OA_E_NOT_FOUND;
        *message = "No such attachment.";
        return 0;
    }
    char etag[48];
    snprintf(etag, sizeof(etag), "\"a%lld-%d\"", (long long)a.id, a.rev);
    if (if_match && oa_etag_if_match(if_match, etag) != OA_E_OK) {
        *err = OA_E_PRECONDITION_FAILED;
        return 0;
    }
    t->rev = a.rev + 1;
    snprintf(t->name, sizeof(t->name), "%s", name ? name : a.name);
    snprintf(t->role, sizeof(t->role), "%s", a.role);
    return 0;
}

int oa_app_upload_commit(struct oa_store *s, const struct oa_app_actor *by, struct oa_blob_row *b, const char *name,
                         const char *role, enum oa_err *err, const char **message)
{
    struct oa_user me;
    struct oa_doc d;
    const char *what = b->attachment_id ? "attachment.replace" : "attachment.add";
    int rc = oa_doc_open_for(s, by, b->doc_id, true, what, &me, &d, err, message);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        return 0;
    int next = oa_attachment_next_rev(s, b->doc_id, b->attachment_id);
    if (next < 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    if (next != b->rev) {
        oa_doc_free(&d);
        *err = OA_E_CONFLICT;
        *message = "The attachment got another revision while you uploaded: fetch it and upload again.";
        return 0;
    }
    if (oa_attachment_put(s, b, name, role) != 0) {
        oa_doc_free(&d);
        return OA_E_STORAGE;
    }
    /* The trail names the attachment by id: its name is content and follows
     * the document's label, which the auditor does not hold. */
    char detail[160];
    snprintf(detail, sizeof(detail), "attachment %lld rev %d, %llu bytes", (long long)b->attachment_id, b->rev,
             (unsigned long long)b->info.size);
    rc = oa_app_audit_doc(s, by, what, &d, NULL, NULL, NULL, "ok", detail);
    oa_doc_free(&d);
    return rc == 0 ? 0 : OA_E_STORAGE;
}

int oa_app_attachments_list(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, cbor_item_t **out,
                            enum oa_err *err, const char **message)
{
    struct oa_user me;
    struct oa_doc d;
    int rc = oa_doc_open_for(s, by, doc_id, false, "attachment.list", &me, &d, err, message);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    size_t n = 0;
    struct oa_attachment *all = oa_attachment_list(s, doc_id, &n, &rc);
    oa_doc_free(&d);
    if (rc != 0)
        return OA_E_STORAGE;
    cbor_item_t *arr = cbor_new_definite_array(n);
    for (size_t i = 0; i < n; i++)
        (void)cbor_array_push(arr, cbor_move(oa_app_attachment_item(&all[i])));
    free(all);
    *out = pv_map(1);
    pv_put(*out, "attachments", arr);
    return 0;
}

int oa_app_attachment_open(struct oa_store *s, const struct oa_app_actor *by, const char *data_dir, int64_t doc_id,
                           int64_t att_id, int rev, struct oa_attachment *a, int *fd, enum oa_err *err,
                           const char **message)
{
    struct oa_user me;
    struct oa_doc d;
    int rc = oa_doc_open_for(s, by, doc_id, false, "attachment.read", &me, &d, err, message);
    if (rc <= 0)
        return rc < 0 ? OA_E_STORAGE : 0;
    rc = oa_attachment_get(s, doc_id, att_id, rev, a);
    if (rc <= 0) {
        oa_doc_free(&d);
        if (rc < 0)
            return OA_E_STORAGE;
        *err = OA_E_NOT_FOUND;
        *message = "No such attachment or revision.";
        return 0;
    }
    if (d.level > OA_LEVEL_PUBLIC) {
        char detail[96];
        snprintf(detail, sizeof(detail), "attachment %lld rev %d", (long long)a->id, a->rev);
        if (oa_app_audit_doc(s, by, "attachment.read", &d, NULL, NULL, NULL, "ok", detail) != 0) {
            oa_doc_free(&d);
            return OA_E_STORAGE;
        }
    }
    oa_doc_free(&d);
    if (a->blob.shredded) {
        *err = OA_E_GONE;
        return 0;
    }
    /*
     * Opened here, in the transaction that read the row: a re-seal swaps the
     * row in a later one and only then removes this file, so the download
     * holds it by then.  Failing, the download names the cause.
     */
    char path[4096];
    if (oa_blob_path(data_dir, a->blob.file, path, sizeof(path)) == 0)
        *fd = open(path, O_RDONLY | O_CLOEXEC);
    return 0;
}
