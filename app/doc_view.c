/*
 * app/doc_view.c: a document as the API shows it (see doc_view.h): its
 * fields with its label's scope and, when asked, its body (both read from
 * storage), as an item tree or as CBOR bytes written directly.
 */
#include "app/doc_view.h"

#include <stdio.h>
#include <stdlib.h>

#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"

void oa_app_doc_etag(const struct oa_doc *d, char *out, size_t n)
{
    snprintf(out, n, "\"d%lld-%lld\"", (long long)d->id, (long long)d->revision);
}

void oa_app_doc_put_opt(cbor_item_t *m, const char *k, const char *v)
{
    pv_put_text(m, k, v && v[0] ? v : NULL);
}

/*
 * Where a document's fields go: an item tree (m), or CBOR bytes written
 * directly (o, the list pages' path: no tree to build, encode and free).
 * One list of fields for both, so that their bytes stay the same.
 */
struct doc_sink {
    cbor_item_t *m;
    struct pv_out *o;
    size_t n; /* pairs written to o */
};

static void sink_text(struct doc_sink *k, const char *key, const char *v)
{
    if (k->m != NULL) {
        pv_put_text(k->m, key, v);
        return;
    }
    pv_out_text(k->o, key);
    pv_out_text(k->o, v);
    k->n++;
}

static void sink_int(struct doc_sink *k, const char *key, int64_t v)
{
    if (k->m != NULL) {
        pv_put_int(k->m, key, v);
        return;
    }
    pv_out_text(k->o, key);
    pv_out_int(k->o, v);
    k->n++;
}

static void sink_bool(struct doc_sink *k, const char *key, bool v)
{
    if (k->m != NULL) {
        pv_put_bool(k->m, key, v);
        return;
    }
    pv_out_text(k->o, key);
    pv_out_bool(k->o, v);
    k->n++;
}

/* An id, or null when there is none. */
static void sink_id(struct doc_sink *k, const char *key, int64_t v)
{
    if (v > 0)
        sink_int(k, key, v);
    else
        sink_text(k, key, NULL);
}

/* Text, or null when empty. */
static void sink_opt(struct doc_sink *k, const char *key, const char *v)
{
    sink_text(k, key, v && v[0] ? v : NULL);
}

#define DOC_ITEM_PAIRS 35 /* without the body */

/* The document as the API shows it, with its label's scope; the body only when asked. */
static void doc_fields(struct oa_store *s, const struct oa_doc *d, bool with_body, struct doc_sink *k)
{
    size_t nscope = 0;
    char **scope = oa_doc_scope_of(s, d, &nscope);
    if (k->m != NULL) {
        cbor_item_t *sc = pv_array(nscope);
        for (size_t i = 0; i < nscope; i++)
            pv_push(sc, pv_text(scope[i]));
        pv_put(k->m, "scope", sc);
    } else {
        pv_out_text(k->o, "scope");
        pv_out_array(k->o, nscope);
        for (size_t i = 0; i < nscope; i++)
            pv_out_text(k->o, scope[i]);
        k->n++;
    }
    oa_strv_free(scope);
    sink_opt(k, "declass_date", d->declass_date);
    sink_int(k, "id", d->id);
    sink_text(k, "kind", d->kind);
    sink_int(k, "def_version", d->def_version);
    sink_text(k, "state", d->state);
    sink_int(k, "revision", d->revision);
    sink_text(k, "title", d->title);
    sink_text(k, "doc_type", d->doc_type);
    sink_text(k, "copy_no", d->copy_no);
    sink_int(k, "level", d->level);
    sink_text(k, "level_name", oa_level_name(d->level));
    sink_text(k, "secrecy_period", d->secrecy_period);
    sink_text(k, "urgency", d->urgency);
    sink_id(k, "organ_id", d->organ_id);
    sink_id(k, "department_id", d->department_id);
    sink_opt(k, "doc_number", d->doc_number);
    sink_text(k, "signer", d->signer);
    sink_text(k, "main_recipients", d->main_recipients);
    sink_text(k, "copied_recipients", d->copied_recipients);
    if (with_body) {
        oa_doc_load_body(s, (struct oa_doc *)d);
        sink_text(k, "body", d->body ? d->body : "");
    }
    sink_text(k, "attachment_note", d->attachment_note);
    sink_text(k, "doc_date", d->doc_date);
    sink_text(k, "note", d->note);
    sink_text(k, "printing_organ", d->printing_organ);
    sink_text(k, "printing_date", d->printing_date);
    sink_int(k, "drafter_id", d->drafter_id);
    sink_id(k, "source_id", d->source_id);
    sink_id(k, "reply_id", d->reply_id);
    sink_id(k, "assignee_id", d->assignee_id);
    sink_id(k, "lead_department_id", d->lead_department_id);
    sink_opt(k, "step_due", d->step_due);
    sink_opt(k, "request_due", d->request_due);
    sink_bool(k, "extended", d->extended);
    sink_int(k, "created_at", d->created_at);
    sink_int(k, "updated_at", d->updated_at);
}

cbor_item_t *oa_app_doc_item(struct oa_store *s, const struct oa_doc *d, bool with_body)
{
    /* with the body, room for a request's facts too (the answer to a create or an edit) */
    struct doc_sink k = {.m = pv_map(DOC_ITEM_PAIRS + (with_body ? 2 : 0))};
    doc_fields(s, d, with_body, &k);
    return k.m;
}

void oa_app_doc_item_out(struct pv_out *o, struct oa_store *s, const struct oa_doc *d, bool with_body)
{
    struct doc_sink k = {.o = o};
    pv_out_map(o, DOC_ITEM_PAIRS + with_body);
    doc_fields(s, d, with_body, &k);
    if (k.n != DOC_ITEM_PAIRS + (size_t)with_body)
        abort(); /* the head above says how many pairs follow */
}

/* What an action changed: the answer to an action, also kept for its retries. */
cbor_item_t *oa_app_doc_state_item(const struct oa_doc *d)
{
    cbor_item_t *m = pv_map(11);
    pv_put_int(m, "id", d->id);
    pv_put_text(m, "kind", d->kind);
    pv_put_text(m, "state", d->state);
    pv_put_int(m, "revision", d->revision);
    pv_put_int(m, "level", d->level);
    oa_app_doc_put_opt(m, "doc_number", d->doc_number);
    pv_put_text(m, "signer", d->signer);
    oa_app_doc_put_opt(m, "step_due", d->step_due);
    oa_app_doc_put_opt(m, "request_due", d->request_due);
    pv_put_bool(m, "extended", d->extended);
    pv_put_int(m, "updated_at", d->updated_at);
    return m;
}

int oa_app_doc_current_revision(struct oa_store *s, int64_t id, int64_t *revision)
{
    struct oa_doc d;
    int rc = oa_doc_load(s, id, &d);
    if (rc == 1) {
        *revision = d.revision;
        oa_doc_free(&d);
    }
    return rc;
}
