/* app/audit_read.c: see audit_read.h.  The SQL is storage/audit.c's. */
#include "app/audit_read.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "storage/audit.h"
#include "storage/merkle.h"
#include "storage/report.h"

static cbor_item_t *bytes_item(const void *p, size_t n)
{
    cbor_item_t *it = cbor_build_bytestring(p, n);
    if (it == NULL)
        abort();
    return it;
}

static cbor_item_t *row_item(const struct oa_audit_row *r)
{
    cbor_item_t *m = pv_map(15);
    pv_put_int(m, "id", r->id);
    pv_put_int(m, "at", r->at);
    if (r->has_actor_id)
        pv_put_int(m, "actor_id", r->actor_id);
    else
        pv_put_text(m, "actor_id", NULL);
    pv_put_text(m, "actor", r->has_actor ? r->actor : NULL);
    pv_put_text(m, "on_behalf", r->has_on_behalf ? r->on_behalf : NULL);
    pv_put_text(m, "event", r->event);
    pv_put_text(m, "target", r->has_target ? r->target : NULL);
    if (r->has_doc_id)
        pv_put_int(m, "doc_id", r->doc_id);
    else
        pv_put_text(m, "doc_id", NULL);
    if (r->has_label)
        pv_put_int(m, "label", r->label);
    else
        pv_put_text(m, "label", NULL);
    pv_put_text(m, "from_state", r->has_from ? r->from_state : NULL);
    pv_put_text(m, "to_state", r->has_to ? r->to_state : NULL);
    pv_put_text(m, "source", r->has_source ? r->source : NULL);
    pv_put_text(m, "outcome", r->outcome);
    pv_put_text(m, "detail", r->has_detail ? r->detail : NULL);
    pv_put(m, "leaf", bytes_item(r->leaf, OA_HASH));
    return m;
}

/*
 * The latest checkpoint as an item, or NULL when there is none.  `note` is
 * the checkpoint as a signed note (c2sp.org/tlog-checkpoint), rebuilt from
 * the row; null for a checkpoint signed before notes (no origin).
 */
static cbor_item_t *checkpoint_item(struct oa_store *s, const unsigned char pk[32], uint64_t *size, oa_hash root)
{
    struct oa_checkpoint cp;
    if (oa_audit_checkpoint_latest(s, &cp) != 1)
        return NULL;
    cbor_item_t *m = pv_map(6);
    *size = cp.size;
    memcpy(root, cp.root, OA_HASH);
    char note[OA_AUDIT_NOTE_MAX];
    bool has_note = cp.origin[0] != '\0' &&
                    oa_audit_note(cp.origin, cp.size, cp.root, cp.at, pk, cp.sig, note, sizeof(note)) > 0;
    pv_put_int(m, "tree_size", (int64_t)cp.size);
    pv_put(m, "root", bytes_item(cp.root, OA_HASH));
    pv_put_int(m, "at", cp.at);
    pv_put(m, "signature", bytes_item(cp.sig, sizeof(cp.sig)));
    pv_put(m, "public_key", bytes_item(pk, 32));
    pv_put_text(m, "note", has_note ? note : NULL);
    return m;
}

static cbor_item_t *path_item(const oa_hash *path, size_t n)
{
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++)
        pv_push(arr, bytes_item(path[i], OA_HASH));
    return arr;
}

/* A page of entries as they arrive. */
struct rows {
    cbor_item_t **items;
    size_t n;
    int64_t last;
};

static void entry_row(void *arg, const struct oa_audit_row *row)
{
    struct rows *r = arg;
    r->last = row->id;
    r->items[r->n++] = row_item(row);
}

/* The export bundle's entries: each as its exact CBOR with its inclusion proof. */
struct export_rows {
    const oa_hash *leaves;
    uint64_t n;
    cbor_item_t *arr;
};

static void export_row(void *arg, const struct oa_audit_row *row)
{
    struct export_rows *x = arg;
    oa_hash path[OA_PROOF_MAX];
    size_t len = 0;
    unsigned char *enc = oa_audit_encode(row, &len);
    size_t c = oa_merkle_inclusion(x->leaves, x->n, (uint64_t)row->id - 1, path);
    cbor_item_t *e = pv_map(3);
    pv_put_int(e, "leaf_index", row->id - 1);
    pv_put(e, "entry", bytes_item(enc, len));
    pv_put(e, "path", path_item(path, c));
    free(enc);
    pv_push(x->arr, e);
}

int oa_app_audit_read(struct oa_store *s, struct oa_audit_read *a, cbor_item_t **out)
{
    *out = NULL;
    uint64_t size = 0;
    oa_hash root;
    switch (a->op) {
    case OA_AUDIT_ENTRIES: {
        struct rows rows = {oa_xmalloc((size_t)a->filter.limit * sizeof(cbor_item_t *)), 0, 0};
        if (oa_audit_rows_each(s, &a->filter, entry_row, &rows) != 0) {
            for (size_t i = 0; i < rows.n; i++)
                cbor_decref(&rows.items[i]);
            free(rows.items);
            break;
        }
        *out = pv_map(2);
        pv_put(*out, "entries", pv_array_from(rows.items, rows.n));
        free(rows.items);
        if (rows.n == (size_t)a->filter.limit)
            pv_put_int(*out, "next_after", rows.last);
        else
            pv_put_text(*out, "next_after", NULL);
        break;
    }
    case OA_AUDIT_CHECKPOINT:
        *out = checkpoint_item(s, a->pk, &size, root);
        if (*out == NULL) {
            a->err = OA_E_NOT_FOUND;
            a->message = "No checkpoint has been signed yet.";
        }
        break;
    case OA_AUDIT_INCLUSION:
    case OA_AUDIT_CONSISTENCY:
    case OA_AUDIT_EXPORT: {
        cbor_item_t *cp = checkpoint_item(s, a->pk, &size, root);
        uint64_t n = a->op == OA_AUDIT_EXPORT ? size : (uint64_t)a->b;
        if (cp == NULL || n == 0 || n > size) {
            if (cp)
                cbor_decref(&cp);
            a->err = OA_E_BAD_FIELD;
            a->message = "The tree size must be between 1 and the latest checkpoint's size.";
            break;
        }
        if ((a->op == OA_AUDIT_INCLUSION && (a->a < 0 || (uint64_t)a->a >= n)) ||
            (a->op == OA_AUDIT_CONSISTENCY && (a->a < 1 || (uint64_t)a->a > n)) ||
            (a->op == OA_AUDIT_EXPORT && (a->a < 1 || a->b < a->a || (uint64_t)a->b > size || a->b - a->a >= 10000))) {
            cbor_decref(&cp);
            a->err = OA_E_BAD_FIELD;
            a->message = a->op == OA_AUDIT_EXPORT ? "Export 1 to 10000 entries under the latest checkpoint."
                                           : "The index or first size is out of range.";
            break;
        }
        oa_hash *leaves = oa_audit_leaves(s, n);
        if (leaves == NULL) {
            cbor_decref(&cp);
            break;
        }
        oa_hash path[OA_PROOF_MAX];
        if (a->op == OA_AUDIT_INCLUSION) {
            size_t c = oa_merkle_inclusion(leaves, n, (uint64_t)a->a, path);
            oa_hash r;
            oa_merkle_root(leaves, n, r);
            *out = pv_map(5);
            pv_put_int(*out, "leaf_index", a->a);
            pv_put_int(*out, "tree_size", (int64_t)n);
            pv_put(*out, "leaf", bytes_item(leaves[a->a], OA_HASH));
            pv_put(*out, "root", bytes_item(r, OA_HASH));
            pv_put(*out, "path", path_item(path, c));
            cbor_decref(&cp);
        } else if (a->op == OA_AUDIT_CONSISTENCY) {
            size_t c = oa_merkle_consistency(leaves, n, (uint64_t)a->a, path);
            oa_hash r1, r2;
            oa_merkle_root(leaves, (uint64_t)a->a, r1);
            oa_merkle_root(leaves, n, r2);
            *out = pv_map(5);
            pv_put_int(*out, "first", a->a);
            pv_put_int(*out, "second", (int64_t)n);
            pv_put(*out, "first_root", bytes_item(r1, OA_HASH));
            pv_put(*out, "second_root", bytes_item(r2, OA_HASH));
            pv_put(*out, "path", path_item(path, c));
            cbor_decref(&cp);
        } else {
            /* The bundle: the signed checkpoint, and each entry as its exact
             * CBOR with an inclusion proof against that checkpoint. */
            struct export_rows ex = {leaves, n, pv_array((size_t)(a->b - a->a + 1))};
            if (oa_audit_rows_range(s, a->a, a->b, export_row, &ex) != 0) {
                cbor_decref(&ex.arr);
                cbor_decref(&cp);
                free(leaves);
                break;
            }
            cbor_item_t *arr = ex.arr;
            *out = pv_map(3);
            pv_put_text(*out, "format", "oa-audit-bundle-1");
            pv_put(*out, "checkpoint", cp);
            pv_put(*out, "entries", arr);
        }
        free(leaves);
        break;
    }
    case OA_AUDIT_REPORT:
        *out = oa_security_report(s, a->month);
        if (*out == NULL) {
            a->err = OA_E_BAD_FIELD;
            a->message = "month must be YYYY-MM.";
        }
        break;
    }
    if (*out == NULL && a->err == OA_E_OK)
        return OA_E_STORAGE;
    return 0;
}

