/*
 * server/h_gateway.c: the exchange gateway's routes (oagw's side of the
 * contract in docs/API.md "The exchange gateway") and 主动公开:
 *
 *   POST /v1/gateway/bundles                 import one validated bundle, whole or not at all
 *   POST /v1/gateway/quarantine              record a refused bundle in the audit trail
 *   GET  /v1/gateway/outbox?after=&limit=    receipts, replies and publications to write out
 *   GET  /v1/gateway/outbox/{id}/files/{k}   a file's bytes (decrypted)
 *   POST /v1/gateway/outbox/{id}/sent        oagw wrote it out (idempotent)
 *   POST /v1/documents/{id}/publication      propose an issued 公开 document for publication
 *   POST /v1/documents/{id}/publication/secrecy_review   保密审查, before the review may approve
 *   POST /v1/documents/{id}/publication/review   信息发布审核: approve (-> outbox) or refuse
 *
 * Only the gateway's account reaches /v1/gateway/ (auth.c asks
 * workflow/access.c oa_access_route).  The bundle's files arrive first as
 * staged uploads (h_upload.c); the import claims them on the loop, the
 * writer job commits the document, its attachments and the bundle's row in
 * one transaction (app/gateway.c), and only then do the uploads' files stay.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/gateway.h"
#include "proto/value.h"
#include "server/blobs-int.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/calendar.h"

/*
 * Every gateway and publication route's request job: the answer is made on
 * the loop after the commit (gw_step); an import's staged uploads are kept,
 * dropped or given back by its finish, before the answer goes out.
 */
struct gw_job {
    struct oa_req_job base;
    int op;
    struct oa_gw_import in;
    struct oa_gw_file files[OA_GW_MAX_FILES];
    struct upload *uploads[OA_GW_MAX_FILES];
    struct oa_gw_import_result res;
    struct oa_gw_signed signed_by; /* quarantine: in.sender, in.seq, in.bundle_id when given */
    int64_t id, after, limit, audit_id;
    int k;
    bool approve;
    const char *file, *sha256, *reason, *detail, *bundle_id, *opinion;
    struct oa_attachment a;
    int fd;
};

enum { OP_IMPORT, OP_QUARANTINE, OP_OUTBOX, OP_FILE, OP_SENT, OP_PROPOSE, OP_REVIEW, OP_SECRECY };

static int gw_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct gw_job *j = (struct gw_job *)job;
    struct oa_req_job *b = &j->base;
    const struct oa_app_actor *by = OA_REQ_ACTOR(b->r);
    switch (j->op) {
    case OP_IMPORT: return oa_gw_import(s, by, &j->in, &j->res) != 0 ? OA_E_STORAGE : 0;
    case OP_QUARANTINE:
        return oa_gw_quarantine(s, by, j->file, j->sha256, j->reason, j->detail, j->in.sender ? &j->signed_by : NULL,
                                &j->audit_id, &j->res.expected) != 0
                   ? OA_E_STORAGE
                   : 0;
    case OP_OUTBOX: b->out = oa_gw_outbox_page(s, j->after, (int)j->limit); return b->out ? 0 : OA_E_STORAGE;
    case OP_FILE: {
        int rc = oa_gw_outbox_file(s, by, b->r->srv->cfg->data_dir, j->id, j->k, &j->a, &j->fd, &b->err);
        if (rc < 0)
            return OA_E_STORAGE;
        if (rc == 0 && b->err == OA_E_OK) {
            b->err = OA_E_NOT_FOUND;
            b->message = "No such outbox item or file.";
        }
        return 0;
    }
    case OP_SENT:
        return oa_gw_outbox_sent(s, by, j->id, j->bundle_id, j->sha256, &b->err) != 0 ? OA_E_STORAGE : 0;
    case OP_PROPOSE:
        return oa_gw_publication_propose(s, by, j->id, j->opinion, &b->err, &b->message, &b->out) != 0 ? OA_E_STORAGE
                                                                                                      : 0;
    case OP_SECRECY:
        return oa_gw_publication_secrecy_review(s, by, j->id, j->opinion, &b->err, &b->message, &b->out) != 0
                   ? OA_E_STORAGE
                   : 0;
    case OP_REVIEW:
        return oa_gw_publication_review(s, by, j->id, j->approve, j->opinion, &b->err, &b->message, &b->out) != 0
                   ? OA_E_STORAGE
                   : 0;
    }
    return OA_E_INTERNAL;
}

/* 409 out_of_sequence with the seq the server expects next: oagw keeps the bundle and tries again. */
static void answer_out_of_sequence(struct oa_req_job *b, int64_t expected)
{
    cbor_item_t *m = pv_map(3);
    pv_put_text(m, "code", oa_err_code(OA_E_OUT_OF_SEQUENCE));
    pv_put_text(m, "message", oa_err_message(OA_E_OUT_OF_SEQUENCE));
    pv_put_int(m, "expected", expected);
    b->status = 409;
    b->out = m;
}

/* After a run that succeeded: each route's answer; an outbox file's stream has it from then on. */
static bool gw_step(struct oa_req_job *b)
{
    struct gw_job *j = (struct gw_job *)b;
    cbor_item_t *m = NULL;
    switch (j->op) {
    case OP_IMPORT:
        if (j->res.err == OA_E_OUT_OF_SEQUENCE) {
            answer_out_of_sequence(b, j->res.expected);
        } else if (j->res.err != OA_E_OK) {
            oa_req_fail(b, j->res.err, j->res.message);
        } else {
            m = pv_map(2);
            pv_put_text(m, "outcome", j->res.duplicate ? "duplicate" : "imported");
            pv_put_int(m, "document_id", j->res.doc_id);
            b->status = j->res.duplicate ? 200 : 201;
            b->out = m;
        }
        return false;
    case OP_QUARANTINE:
        if (j->res.expected > 0) {
            /* signed by its sender, but seqs before it have not come */
            answer_out_of_sequence(b, j->res.expected);
            return false;
        }
        m = pv_map(1);
        pv_put_int(m, "audit_id", j->audit_id);
        b->status = 201;
        b->out = m;
        return false;
    case OP_SENT:
        m = pv_map(1);
        pv_put_int(m, "id", j->id);
        b->status = 200;
        b->out = m;
        return false;
    case OP_FILE:
        return oa__download_step(b, &j->a, &j->fd);
    default: b->status = 200; return false;
    }
}

/*
 * After the commit, before the answer: an import's staged uploads stay (it
 * committed them), go (a duplicate, or a correction refused for good), or
 * are given back for oagw's retry; an outbox file not streamed is closed.
 */
static void gw_finish(struct oa_req_job *b, bool ok)
{
    struct gw_job *j = (struct gw_job *)b;
    (void)ok;
    if (j->fd >= 0)
        close(j->fd);
    if (j->op != OP_IMPORT)
        return;
    bool committed = b->job.rc == 0;
    bool imported = committed && j->res.err == OA_E_OK && !j->res.duplicate;
    for (size_t i = 0; i < j->in.nfiles; i++) {
        struct upload *u = j->uploads[i];
        if (imported)
            oa__upload_committed(u);
        else if (j->res.duplicate || (committed && j->res.err == OA_E_CORRECTION_REFUSED))
            oa__upload_drop(u); /* the bundle came before, or is refused for good: these copies are void */
        else
            u->claimed = false; /* refused: oagw may retry with them */
    }
    if (imported && j->in.nfiles > 0)
        oa_blobs_reseal_kick(b->r->srv); /* bind the staged files to their document and label */
}

static struct gw_job *gw_job_new(struct oa_req *r, int op)
{
    /* An outbox file's key is unwrapped in the writer's order (OA_REQ_ON_WRITER). */
    struct gw_job *j = oa_req_job_new(r, sizeof(struct gw_job), gw_on_run, op == OP_FILE ? OA_REQ_ON_WRITER : 0);
    j->op = op;
    j->fd = -1;
    j->base.step = gw_step;
    j->base.finish = gw_finish;
    return j;
}

/* Reads the fields of a map that is itself a field (content, a file): false after answering 400. */
static bool sub_fields(struct oa_req *r, const cbor_item_t *map, const char *what, const struct pv_field *f, size_t n)
{
    char why[256];
    if (map == NULL || !cbor_isa_map(map)) {
        snprintf(why, sizeof(why), "%s must be a map.", what);
        oa_reply_error(r, OA_E_BAD_FIELD, why);
        return false;
    }
    enum oa_err e = pv_extract(map, f, n, &r->arena, why, sizeof(why));
    if (e != OA_E_OK) {
        char msg[320];
        snprintf(msg, sizeof(msg), "%s: %s", what, why);
        oa_reply_error(r, e, msg);
        return false;
    }
    return true;
}

/* A sending system's id: 1-64 of [A-Za-z0-9._-]. */
static bool sender_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > OA_GW_SENDER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool files_claim(struct oa_req *r, struct gw_job *j, const cbor_item_t *files)
{
    size_t n = cbor_array_size(files);
    for (size_t i = 0; i < n; i++) {
        struct oa_gw_file *f = &j->files[i];
        const char *upload = NULL;
        char what[32];
        snprintf(what, sizeof(what), "files[%zu]", i);
        struct pv_field ff[] = {
            {"name", PV_TEXT, PV_REQUIRED, 1, OA_ATTACHMENT_NAME_MAX, &f->name, NULL},
            {"sha256", PV_TEXT, PV_REQUIRED, 64, 64, &f->sha256, NULL},
            {"size", PV_INT, PV_REQUIRED, 0, INT64_MAX, &f->size, NULL},
            {"upload", PV_TEXT, PV_REQUIRED, 32, 32, &upload, NULL},
        };
        if (!sub_fields(r, cbor_array_handle(files)[i], what, ff, sizeof(ff) / sizeof(ff[0])))
            return false;
        if (!oa__blob_name_ok(f->name, strlen(f->name)) || !oa_gw_hex64(f->sha256)) {
            oa_reply_error(r, OA_E_BAD_FIELD, "A file's name must be a valid attachment name and its sha256 64 "
                                              "lowercase hex digits.");
            return false;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(j->files[k].name, f->name) == 0) {
                oa_reply_error(r, OA_E_BAD_FIELD, "Two files of the bundle have the same name.");
                return false;
            }
        struct upload *u = oa__upload_staged_find(r->srv, upload, r->who.user_id);
        if (u == NULL) {
            oa_reply_error(r, OA_E_NOT_FOUND, "A file's upload is unknown, unfinished, expired or in another "
                                              "import: upload it again, then retry the import.");
            return false;
        }
        char hex[65];
        sodium_bin2hex(hex, sizeof(hex), u->sha256, 32);
        if ((uint64_t)f->size != u->offset || strcmp(hex, f->sha256) != 0) {
            oa_reply_error(r, OA_E_BAD_FIELD, "A file's size or sha256 differs from what its upload received.");
            return false;
        }
        f->blob = u->b;
        j->uploads[i] = u;
        u->claimed = true;
        j->in.nfiles = i + 1;
    }
    return true;
}

void h_gw_import(struct oa_req *r)
{
    struct gw_job *j = gw_job_new(r, OP_IMPORT);
    struct oa_gw_import *in = &j->in;
    const cbor_item_t *content = NULL, *files = NULL;
    struct pv_field f[] = {
        {"bundle_id", PV_TEXT, PV_REQUIRED, 64, 64, &in->bundle_id, NULL},
        {"sender", PV_TEXT, PV_REQUIRED, 1, OA_GW_SENDER_MAX, &in->sender, NULL},
        {"seq", PV_INT, PV_REQUIRED, 1, INT64_MAX, &in->seq, NULL},
        {"type", PV_TEXT, PV_REQUIRED, 1, 32, &in->type, NULL},
        {"created", PV_TEXT, PV_REQUIRED, 20, 40, &in->created, NULL},
        {"content", PV_ITEM, PV_REQUIRED, 0, 0, &content, NULL},
        {"files", PV_ITEM, PV_REQUIRED, 0, 0, &files, NULL},
    };
    bool ok = oa_req_fields(r, f, sizeof(f) / sizeof(f[0]));
    if (ok && (!oa_gw_hex64(in->bundle_id) || !sender_ok(in->sender) ||
               oa_day_of_instant(in->created, 0) == INT32_MIN)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "bundle_id must be 64 lowercase hex digits, sender 1-64 of A-Za-z0-9._-, "
                                          "created an RFC 3339 time.");
        ok = false;
    }
    if (ok && strcmp(in->type, "public_request") == 0) {
        const cbor_item_t *applicant = NULL;
        struct pv_field c[] = {
            {"applicant", PV_ITEM, PV_REQUIRED, 0, 0, &applicant, NULL},
            {"subject", PV_TEXT, PV_REQUIRED, 1, 16384, &in->subject, NULL},
            {"reply_form", PV_TEXT, PV_REQUIRED, 1, 31, &in->reply_form, NULL},
            {"submitted", PV_TEXT, PV_REQUIRED, 20, 39, &in->submitted, NULL},
            {"confirmed", PV_TEXT, PV_REQUIRED, 20, 39, &in->confirmed, NULL},
        };
        struct pv_field a[] = {
            {"name", PV_TEXT, PV_REQUIRED, 1, 255, &in->name, NULL},
            {"id_type", PV_TEXT, PV_REQUIRED, 1, 31, &in->id_type, NULL},
            {"id_number", PV_TEXT, PV_REQUIRED, 1, 63, &in->id_number, NULL},
            {"contact", PV_TEXT, PV_REQUIRED, 1, 255, &in->contact, NULL},
            {"organisation", PV_TEXT, 0, 0, 255, &in->organisation, NULL},
        };
        ok = sub_fields(r, content, "content", c, sizeof(c) / sizeof(c[0])) &&
             sub_fields(r, applicant, "content.applicant", a, sizeof(a) / sizeof(a[0]));
        if (ok && (oa_day_of_instant(in->confirmed, 0) == INT32_MIN ||
                   oa_day_of_instant(in->submitted, 0) == INT32_MIN)) {
            oa_reply_error(r, OA_E_BAD_FIELD, "content.submitted and content.confirmed must be RFC 3339 times.");
            ok = false;
        }
    } else if (ok && strcmp(in->type, "correction") == 0) {
        struct pv_field c[] = {
            {"request_ref", PV_TEXT, PV_REQUIRED, 64, 64, &in->request_ref, NULL},
            {"text", PV_TEXT, PV_REQUIRED, 0, 16384, &in->text, NULL},
            {"confirmed", PV_TEXT, PV_REQUIRED, 20, 39, &in->confirmed, NULL},
        };
        ok = sub_fields(r, content, "content", c, sizeof(c) / sizeof(c[0]));
        if (ok && (!oa_gw_hex64(in->request_ref) || oa_day_of_instant(in->confirmed, 0) == INT32_MIN)) {
            oa_reply_error(r, OA_E_BAD_FIELD, "content.request_ref must be a bundle id and content.confirmed an "
                                              "RFC 3339 time.");
            ok = false;
        }
    } else if (ok) {
        oa_reply_error(r, OA_E_BAD_FIELD, "type must be public_request or correction.");
        ok = false;
    }
    if (ok && (!cbor_isa_array(files) || cbor_array_size(files) > OA_GW_MAX_FILES)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "files must be a list of at most 64 files.");
        ok = false;
    }
    if (ok && !files_claim(r, j, files))
        ok = false;
    if (!ok) {
        for (size_t i = 0; i < j->in.nfiles; i++)
            j->uploads[i]->claimed = false;
        free(j);
        return;
    }
    in->files = j->files;
    oa_req_job_submit(&j->base);
}

void h_gw_quarantine(struct oa_req *r)
{
    struct gw_job *j = gw_job_new(r, OP_QUARANTINE);
    struct pv_field f[] = {
        {"file", PV_TEXT, PV_REQUIRED, 1, 255, &j->file, NULL},
        {"sha256", PV_TEXT, PV_REQUIRED, 64, 64, &j->sha256, NULL},
        {"reason", PV_TEXT, PV_REQUIRED, 1, 64, &j->reason, NULL},
        {"detail", PV_TEXT, 0, 0, 300, &j->detail, NULL},
        {"sender", PV_TEXT, 0, 1, OA_GW_SENDER_MAX, &j->in.sender, NULL},
        {"seq", PV_INT, 0, 1, INT64_MAX, &j->in.seq, NULL},
        {"bundle_id", PV_TEXT, 0, 64, 64, &j->in.bundle_id, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    if (!oa_gw_hex64(j->sha256)) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "sha256 must be 64 lowercase hex digits.");
        return;
    }
    /* sender, seq and bundle_id together (a bundle whose signature verified), or none */
    bool any = j->in.sender || j->in.seq || j->in.bundle_id, all = j->in.sender && j->in.seq && j->in.bundle_id;
    if (any && (!all || !sender_ok(j->in.sender) || !oa_gw_hex64(j->in.bundle_id))) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "sender, seq and bundle_id come together: the sender's id, a seq >= 1 "
                                          "and 64 lowercase hex digits.");
        return;
    }
    j->signed_by = (struct oa_gw_signed){j->in.sender, j->in.bundle_id, j->in.seq};
    oa_req_job_submit(&j->base);
}

void h_gw_outbox(struct oa_req *r)
{
    struct gw_job *j = gw_job_new(r, OP_OUTBOX);
    const char *after = oa_query_param(r, "after"), *limit = oa_query_param(r, "limit");
    j->limit = 50;
    if ((after && !oa_parse_int(after, 0, INT64_MAX, &j->after)) ||
        (limit && !oa_parse_int(limit, 1, 200, &j->limit))) {
        free(j);
        oa_reply_error(r, OA_E_BAD_REQUEST, "after must be an outbox id (0 for the start), limit 1 to 200.");
        return;
    }
    oa_req_job_submit(&j->base);
}

void h_gw_outbox_file(struct oa_req *r)
{
    struct gw_job *j = gw_job_new(r, OP_FILE);
    int64_t k = 0;
    if (!oa_parse_id(r->params[0], &j->id) || !oa_parse_int(r->params[1], 1, OA_GW_MAX_FILES, &k)) {
        free(j);
        oa_reply_error(r, OA_E_NOT_FOUND, "No such outbox item or file.");
        return;
    }
    j->k = (int)k;
    oa_req_job_submit(&j->base);
}

void h_gw_outbox_sent(struct oa_req *r)
{
    struct gw_job *j = gw_job_new(r, OP_SENT);
    struct pv_field f[] = {
        {"bundle_id", PV_TEXT, PV_REQUIRED, 64, 64, &j->bundle_id, NULL},
        {"sha256", PV_TEXT, PV_REQUIRED, 64, 64, &j->sha256, NULL},
    };
    if (!oa_parse_id(r->params[0], &j->id)) {
        free(j);
        oa_reply_error(r, OA_E_NOT_FOUND, "No such outbox item.");
        return;
    }
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    if (!oa_gw_hex64(j->bundle_id) || !oa_gw_hex64(j->sha256)) {
        free(j);
        oa_reply_error(r, OA_E_BAD_FIELD, "bundle_id and sha256 must be 64 lowercase hex digits.");
        return;
    }
    oa_req_job_submit(&j->base);
}

static void publication(struct oa_req *r, int op)
{
    struct gw_job *j = gw_job_new(r, op);
    bool review = op == OP_REVIEW;
    struct pv_field f[] = {
        {"opinion", PV_TEXT, op != OP_PROPOSE ? PV_REQUIRED : 0, op == OP_SECRECY ? 1 : 0, 500, &j->opinion, NULL},
        {"approve", PV_BOOL, review ? PV_REQUIRED : PV_REFUSED, 0, 0, &j->approve, NULL},
    };
    if (!oa_parse_id(r->params[0], &j->id)) {
        free(j);
        oa_reply_error(r, OA_E_NOT_FOUND, "No such document.");
        return;
    }
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0]))) {
        free(j);
        return;
    }
    oa_req_job_submit(&j->base);
}

void h_publication_propose(struct oa_req *r)
{
    publication(r, OP_PROPOSE);
}

void h_publication_review(struct oa_req *r)
{
    publication(r, OP_REVIEW);
}

void h_publication_secrecy_review(struct oa_req *r)
{
    publication(r, OP_SECRECY);
}
