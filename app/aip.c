/*
 * app/aip.c: a record's archival package and its check (see aip.h).
 *
 * Each record contributes its formal text as 正文.txt (the document's body,
 * UTF-8), each current attachment decrypted to its original bytes with the
 * type sniffed when it was uploaded, its steps as process metadata, and
 * every audit entry about the document that the latest signed checkpoint
 * covers, with its inclusion proof.  The metadata is the record's catalogue
 * entry (records.c), so what the package says is what was filed.
 */
#include "app/aip.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "app/audit.h"
#include "app/doc_read.h"
#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/blobs.h"
#include "storage/doc_history.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "workflow/access.h"

/* One record's facts, owned here until the package is written. */
struct rec {
    struct oa_doc d;
    char piece[8], level[16], date[16];
    struct aip_file *files;
    size_t nfiles;
    struct aip_step *steps;
    char **strings; /* every string the steps point to */
    size_t nsteps, nstrings, capsteps, capstrings;
    struct aip_proof *proofs;
    size_t nproofs, capproofs;
};

static char *keep(struct rec *r, const char *s)
{
    if (r->nstrings == r->capstrings) {
        r->capstrings = r->capstrings ? r->capstrings * 2 : 32;
        r->strings = oa_xrealloc(r->strings, r->capstrings * sizeof(*r->strings));
    }
    return r->strings[r->nstrings++] = oa_xstrdup(s ? s : "");
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->nfiles; i++)
        free((void *)r->files[i].data);
    free(r->files);
    for (size_t i = 0; i < r->nstrings; i++)
        free(r->strings[i]);
    free(r->strings);
    free(r->steps);
    for (size_t i = 0; i < r->nproofs; i++) {
        free((void *)r->proofs[i].entry);
        free((void *)r->proofs[i].path);
    }
    free(r->proofs);
    if (r->d.id)
        oa_doc_free(&r->d);
}

static void rfc3339(int64_t at, char *out, size_t cap)
{
    time_t t = (time_t)at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void step_row(void *arg, const struct oa_step_row *s)
{
    struct rec *r = arg;
    if (r->nsteps == r->capsteps) {
        r->capsteps = r->capsteps ? r->capsteps * 2 : 16;
        r->steps = oa_xrealloc(r->steps, r->capsteps * sizeof(*r->steps));
    }
    char at[32];
    rfc3339(s->at, at, sizeof at);
    struct aip_step *st = &r->steps[r->nsteps++];
    st->action = keep(r, s->action);
    st->actor = keep(r, s->on_behalf && *s->on_behalf ? s->on_behalf : s->actor);
    st->at = keep(r, at);
    st->opinion = keep(r, s->opinion);
}

/* The audit entries of a document, each with its proof in the checkpoint's tree. */
struct proofs_arg {
    struct rec *r;
    const struct oa_merkle_tree *tree;
    uint64_t size;
};

static void audit_row(void *arg, const struct oa_audit_row *row)
{
    struct proofs_arg *a = arg;
    struct rec *r = a->r;
    uint64_t index = (uint64_t)row->id - 1;
    if (row->id < 1 || index >= a->size)
        return; /* not under the checkpoint yet */
    if (r->nproofs == r->capproofs) {
        r->capproofs = r->capproofs ? r->capproofs * 2 : 16;
        r->proofs = oa_xrealloc(r->proofs, r->capproofs * sizeof(*r->proofs));
    }
    struct aip_proof *p = &r->proofs[r->nproofs++];
    oa_hash *path = oa_xmalloc(OA_PROOF_MAX * sizeof(oa_hash));
    p->entry = oa_audit_encode(row, &p->entry_len);
    p->index = index;
    p->npath = oa_merkle_tree_path(a->tree, index, path);
    p->path = path;
}

/* Collects a blob's plaintext, at most OA_AIP_MAX_BYTES. */
struct sink {
    unsigned char *p;
    size_t len, cap;
};

static int sink_add(void *arg, const void *data, size_t len)
{
    struct sink *k = arg;
    if (k->len + len > OA_AIP_MAX_BYTES)
        return 1;
    if (k->len + len > k->cap) {
        k->cap = (k->len + len) * 2 > OA_AIP_MAX_BYTES ? OA_AIP_MAX_BYTES : (k->len + len) * 2;
        k->p = oa_xrealloc(k->p, k->cap);
    }
    memcpy(k->p + k->len, data, len);
    k->len += len;
    return 0;
}

static void add_file(struct rec *r, const char *name, const char *type, unsigned char *data, size_t len)
{
    r->files = oa_xrealloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
    r->files[r->nfiles++] = (struct aip_file){keep(r, name), keep(r, type), "oa", data, len};
}

/* Gathers one record; 0, 1 (why), -1. */
static int gather(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *row, struct rec *r,
                  const struct oa_merkle_tree *tree, uint64_t size, char *why, size_t whylen)
{
    int rc = oa_doc_load(s, row->doc_id, &r->d);
    if (rc != 1) {
        snprintf(why, whylen, "document %lld is not there", (long long)row->doc_id);
        return rc == 0 ? 1 : -1;
    }
    if (oa_doc_load_body(s, &r->d) != 0)
        return -1;
    snprintf(r->piece, sizeof r->piece, "%04d", row->item_no);
    /* 密级 as the standards write it (GB/T 18894: the mark itself). */
    static const char *const marks[] = {"公开", "内部", "秘密", "机密", "绝密"};
    snprintf(r->level, sizeof r->level, "%s", row->level >= 0 && row->level <= OA_LEVEL_MAX ? marks[row->level] : "");
    const char *body = r->d.body ? r->d.body : "";
    add_file(r, "正文.txt", "text/plain", (unsigned char *)oa_xstrdup(body), strlen(body));
    size_t n = 0;
    struct oa_attachment *atts = oa_attachment_list(s, row->doc_id, &n, &rc);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct oa_blob_row *b = &atts[i].blob;
        char path[4096], ad[256], cause[256] = "";
        unsigned char dek[OA_DEK_LEN];
        struct sink k = {0};
        int bad = b->shredded || oa_blob_path(env->data_dir, b->file, path, sizeof path) != 0 ||
                  oa_dek_unwrap(*env->keys, b->level, b->kek_version, b->dek, dek) != 0;
        if (!bad) {
            size_t adlen = oa_blob_ad(b, ad, sizeof ad);
            bad = oa_blob_read(path, dek, ad, adlen, 0, UINT64_MAX, b->info.digest, sink_add, &k, cause,
                               sizeof cause) != 0;
            sodium_memzero(dek, sizeof dek);
        }
        if (bad) {
            free(k.p);
            snprintf(why, whylen, "%s: attachment %s does not decrypt%s%s", row->archival_no, atts[i].name,
                     cause[0] ? ": " : "", cause);
            free(atts);
            return 1;
        }
        add_file(r, atts[i].name, b->content_type, k.p ? k.p : oa_xmalloc(1), k.len);
    }
    free(atts);
    if (oa_doc_steps_each(s, row->doc_id, step_row, r) != 0)
        return -1;
    struct oa_audit_filter f = {.doc = row->doc_id, .limit = 100000};
    struct proofs_arg pa = {r, tree, size};
    if (size > 0 && oa_audit_rows_each(s, &f, audit_row, &pa) != 0)
        return -1;
    return 0;
}

int oa_aip_write(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *recs, size_t n,
                 const char *name, const char *transfer_list, int fd, char *why, size_t whylen)
{
    int rc = -1;
    struct rec *rs = oa_xcalloc(n ? n : 1, sizeof(*rs));
    struct aip_record *ar = oa_xcalloc(n ? n : 1, sizeof(*ar));
    struct oa_merkle_tree tree = {0};
    oa_hash *leaves = NULL;
    struct oa_checkpoint cp = {0};
    char note[OA_AUDIT_NOTE_MAX] = "", vkey[OA_AUDIT_VKEY_MAX] = "", date[16];
    int c = oa_audit_checkpoint_latest(s, &cp);
    if (c < 0)
        goto out;
    if (c == 1 && cp.origin[0]) {
        if (!(leaves = oa_audit_leaves(s, cp.size)))
            goto out;
        oa_merkle_tree_build(&tree, leaves, cp.size);
        oa_audit_note(cp.origin, cp.size, cp.root, cp.at, env->audit_pk, cp.sig, note, sizeof note);
        oa_audit_vkey(cp.origin, env->audit_pk, vkey, sizeof vkey);
    } else {
        cp.size = 0; /* no note yet: the package has no proofs, and its check says so */
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = gather(s, env, &recs[i], &rs[i], &tree, cp.size, why, whylen)) != 0)
            goto out;
        const struct oa_record_row *row = &recs[i];
        struct rec *r = &rs[i];
        ar[i] = (struct aip_record){
            .doc_id = row->doc_id,
            .piece = r->piece,
            .files = r->files,
            .nfiles = r->nfiles,
            .steps = r->steps,
            .nsteps = r->nsteps,
            .proofs = r->proofs,
            .nproofs = r->nproofs,
        };
        ar[i].meta[AIP_M_ARCHIVAL_CODE] = row->archival_no;
        ar[i].meta[AIP_M_TITLE] = row->title;
        ar[i].meta[AIP_M_DOC_NUMBER] = row->doc_number;
        ar[i].meta[AIP_M_AUTHOR] = row->responsible;
        ar[i].meta[AIP_M_DATE] = row->doc_date;
        /* 机构或问题: the class code, else the organ's fonds (a record filed without a class). */
        ar[i].meta[AIP_M_CLASS] = row->class_code[0] ? row->class_code : row->fonds;
        ar[i].meta[AIP_M_RETENTION] = row->retention;
        ar[i].meta[AIP_M_SECRECY] = r->level;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    char org[OA_REC_TEXT];
    snprintf(org, sizeof org, "%s", n ? recs[0].responsible : "");
    struct aip_package_in in = {
        .name = name,
        .organization = org,
        .bagging_date = date,
        .records = ar,
        .nrecords = n,
        .tree_size = cp.size,
        .checkpoint = note,
        .log_vkey = vkey,
        .transfer_list = transfer_list,
    };
    rc = aip_write(fd, &in, why, whylen) == 0 ? 0 : 1;
out:
    for (size_t i = 0; i < n; i++)
        rec_free(&rs[i]);
    free(rs);
    free(ar);
    oa_merkle_tree_free(&tree);
    free(leaves);
    return rc;
}

int oa_aip_check(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *recs, size_t n,
                 bool at_filing, struct aip_report *report, char *why, size_t whylen)
{
    int fd = memfd_create("oa-aip", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "no memory file for the package");
        return -1;
    }
    int rc = oa_aip_write(s, env, recs, n, "check", NULL, fd, why, whylen);
    unsigned char *buf = NULL;
    struct aip_pkg p = {0};
    if (rc != 0)
        goto out;
    off_t len = lseek(fd, 0, SEEK_END);
    if (len < 0 || (uint64_t)len > OA_AIP_MAX_BYTES) {
        snprintf(why, whylen, "the package is larger than %u MiB", OA_AIP_MAX_BYTES >> 20);
        rc = 1;
        goto out;
    }
    buf = oa_xmalloc((size_t)len + 1);
    if (pread(fd, buf, (size_t)len, 0) != len) {
        rc = -1;
        goto out;
    }
    struct aip_limits lim;
    aip_limits_default(&lim);
    lim.max_total_bytes = (uint64_t)len;
    if (aip_read(buf, (size_t)len, &lim, &p, why, whylen) != 0) {
        rc = 1;
        goto out;
    }
    /* The log's own key: oad trusts itself; the archive checks with the published one (oaverify). */
    char vkey[OA_AUDIT_VKEY_MAX] = "", origin[OA_AUDIT_ORIGIN_MAX];
    if (oa_audit_origin(s, origin, sizeof origin) == 0)
        oa_audit_vkey(origin, env->audit_pk, vkey, sizeof vkey);
    struct aip_check_policy pol = {.scan_optional = true};
    struct aip_report all = {0};
    if (aip_check(&p, vkey[0] ? vkey : NULL, &pol, &all, why, whylen) != 0) {
        rc = 1;
        goto out;
    }
    report->records = all.records;
    report->files = all.files;
    report->entries = all.entries;
    report->key_trusted = all.key_trusted;
    for (size_t i = 0; i < all.n; i++) {
        const struct aip_finding *f = &all.f[i];
        /* At filing the newest entries may wait for the next checkpoint (at most a second). */
        if (at_filing && (strcmp(f->code, "audit") == 0 || strcmp(f->code, "checkpoint") == 0))
            continue;
        aip_report_add(report, f->property, f->code, f->where, "%s", f->message);
    }
    aip_report_free(&all);
out:
    aip_pkg_free(&p);
    free(buf);
    close(fd);
    return rc;
}

int oa_aip_filing_check(struct oa_store *s, const struct oa_rec_filing *f, void *arg, const char **why)
{
    static _Thread_local char sentence[512];
    struct aip_report rep = {0};
    int rc = oa_aip_check(s, arg, f->record, 1, true, &rep, sentence, sizeof sentence);
    if (rc < 0) {
        aip_report_free(&rep);
        return -1;
    }
    if (rc == 0 && aip_report_ok(&rep)) {
        aip_report_free(&rep);
        return 0;
    }
    if (rc == 0) {
        size_t o = (size_t)snprintf(sentence, sizeof sentence, "The record failed the four-property check (四性检测):");
        for (size_t i = 0; i < rep.n && i < 3 && o < sizeof sentence; i++)
            o += (size_t)snprintf(sentence + o, sizeof sentence - o, "%s %s %s: %s", i ? ";" : "",
                                  aip_property_title(rep.f[i].property), rep.f[i].code, rep.f[i].message);
    }
    aip_report_free(&rep);
    *why = sentence;
    return 1;
}

int oa_aip_bytes(struct oa_store *s, const struct oa_aip_env *env, const struct oa_record_row *recs, size_t n,
                 const char *name, const char *transfer_list, const char *recipient_cert, unsigned char **out,
                 size_t *len, char *why, size_t whylen)
{
    *out = NULL;
    *len = 0;
    unsigned char *tar = NULL;
    int efd = -1, fd = memfd_create("oa-aip", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = oa_aip_write(s, env, recs, n, name, transfer_list, fd, why, whylen);
    off_t size = rc == 0 ? lseek(fd, 0, SEEK_END) : 0;
    if (rc != 0)
        goto out;
    rc = 1;
    if (size < 0 || (uint64_t)size > OA_AIP_MAX_BYTES) {
        snprintf(why, whylen, "the package would be larger than %u MiB", OA_AIP_MAX_BYTES >> 20);
        goto out;
    }
    tar = oa_xmalloc((size_t)size + 1);
    if (pread(fd, tar, (size_t)size, 0) != size) {
        rc = -1;
        goto out;
    }
    if (!recipient_cert) {
        *out = tar;
        *len = (size_t)size;
        tar = NULL;
        rc = 0;
        goto out;
    }
    efd = memfd_create("oa-aip-env", MFD_CLOEXEC);
    if (efd < 0 || aip_envelope_seal(tar, (size_t)size, recipient_cert, efd, why, whylen) != 0)
        goto out;
    off_t en = lseek(efd, 0, SEEK_END);
    if (en <= 0)
        goto out;
    *out = oa_xmalloc((size_t)en);
    if (pread(efd, *out, (size_t)en, 0) != en) {
        free(*out);
        *out = NULL;
        rc = -1;
        goto out;
    }
    *len = (size_t)en;
    rc = 0;
out:
    free(tar);
    if (efd >= 0)
        close(efd);
    close(fd);
    return rc;
}

/* ---- the records officer's use cases ---- */

/* Loads the officer and the filed record; 1 ready, 0 refused (o, audited), -1 error. */
static int record_open(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id, const char *event,
                       struct oa_user *me, struct oa_record_row *row, struct oa_app_outcome *o)
{
    char target[32];
    snprintf(target, sizeof target, "document:%lld", (long long)doc_id);
    if (oa_user_by_id(s, by->user_id, me) != 1)
        return -1;
    struct oa_subject who = {me->id, me->roles, me->clearance, me->declassifier, me->clearance_hold};
    enum oa_decision d = oa_access_decide(&who, OA_ACT_RECORDS_MANAGE, NULL);
    if (d != OA_ALLOW) {
        oa_app_refuse(o, OA_E_FORBIDDEN, oa_decision_reason(d));
        return oa_app_audit(s, by, event, target, "refused", oa_decision_reason(d)) == 0 ? 0 : -1;
    }
    int rc = oa_rec_load(s, doc_id, row);
    if (rc <= 0) {
        if (rc == 0)
            oa_app_refuse(o, OA_E_NOT_FOUND, "No record of that document.");
        return rc;
    }
    if (strcmp(row->state, "disposed") == 0) {
        oa_app_refuse(o, OA_E_NOT_FOUND, "That record was disposed of: only its tombstone remains.");
        return 0;
    }
    return 1;
}

int oa_aip_record_package(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by,
                          int64_t doc_id, const char *recipient_cert, unsigned char **out, size_t *len,
                          bool *enveloped, struct oa_app_outcome *o)
{
    struct oa_user me;
    struct oa_record_row *row = oa_xcalloc(1, sizeof(*row));
    struct oa_doc d = {0};
    int err = OA_E_STORAGE;
    char why[512] = "";
    static _Thread_local char sentence[600];
    *out = NULL;
    *enveloped = false;
    int rc = record_open(s, by, doc_id, "record.package", &me, row, o);
    if (rc <= 0) {
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    /* The package holds the content: the officer must be able to read it. */
    if (oa_doc_load(s, doc_id, &d) != 1)
        goto out;
    rc = oa_doc_gate_read(s, by, &me, &d, "record.package");
    if (rc <= 0) {
        if (rc == 0)
            oa_app_refuse(o, OA_E_NOT_FOUND, "No record of that document.");
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    bool classified = d.level >= OA_LEVEL_SECRET;
    if (classified && (!recipient_cert || !*recipient_cert)) {
        oa_app_refuse(o, OA_E_AIP_RECIPIENT_MISSING, NULL);
        err = oa_app_audit_doc(s, by, "record.package", &d, NULL, NULL, NULL, "refused",
                               "no recipient certificate for a classified package") == 0
                  ? 0
                  : OA_E_STORAGE;
        goto out;
    }
    char name[128];
    snprintf(name, sizeof name, "oa-record-%lld", (long long)doc_id);
    rc = oa_aip_bytes(s, env, row, 1, name, NULL, classified ? recipient_cert : NULL, out, len, why, sizeof why);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        snprintf(sentence, sizeof sentence, "The record could not be packaged: %s", why);
        oa_app_refuse(o, OA_E_AIP_UNPACKABLE, sentence);
        err = oa_app_audit_doc(s, by, "record.package", &d, NULL, NULL, NULL, "refused", why) == 0 ? 0 : OA_E_STORAGE;
        goto out;
    }
    *enveloped = classified;
    if (oa_app_audit_doc(s, by, "record.package", &d, NULL, NULL, NULL, "ok",
                         *enveloped ? "enveloped to the recipient certificate" : row->archival_no) != 0) {
        free(*out);
        *out = NULL;
        goto out;
    }
    err = 0;
out:
    free(row);
    if (d.id)
        oa_doc_free(&d);
    return err;
}

int oa_aip_record_check(struct oa_store *s, const struct oa_aip_env *env, const struct oa_app_actor *by,
                        int64_t doc_id, struct oa_app_outcome *o, cbor_item_t **out)
{
    struct oa_user me;
    struct oa_record_row *row = oa_xcalloc(1, sizeof(*row));
    struct aip_report rep = {0};
    char why[512] = "", target[32];
    int err = OA_E_STORAGE;
    snprintf(target, sizeof target, "document:%lld", (long long)doc_id);
    int rc = record_open(s, by, doc_id, "record.check", &me, row, o);
    if (rc <= 0) {
        err = rc < 0 ? OA_E_STORAGE : 0;
        goto out;
    }
    rc = oa_aip_check(s, env, row, 1, false, &rep, why, sizeof why);
    if (rc < 0)
        goto out;
    if (rc > 0)
        aip_report_add(&rep, AIP_USABILITY, "unpackable", row->archival_no, "%s", why);
    bool ok = aip_report_ok(&rep);
    char *json = aip_report_json(&rep, row->archival_no);
    char *text = aip_report_text(&rep, row->archival_no);
    cbor_item_t *report = NULL;
    char jwhy[128];
    if (pv_decode_json(json, strlen(json), &report, jwhy, sizeof jwhy) != OA_E_OK)
        report = NULL;
    *out = pv_map(5);
    pv_put_int(*out, "document_id", doc_id);
    pv_put_text(*out, "archival_no", row->archival_no);
    pv_put(*out, "passed", cbor_build_bool(ok));
    if (report)
        pv_put(*out, "report", report);
    pv_put_text(*out, "text", text);
    free(json);
    free(text);
    char detail[160];
    snprintf(detail, sizeof detail, "%s: %s, %zu findings", row->archival_no, ok ? "passed" : "failed", rep.n);
    err = oa_app_audit(s, by, "record.check", target, "ok", detail) == 0 ? 0 : OA_E_STORAGE;
out:
    aip_report_free(&rep);
    free(row);
    return err;
}
