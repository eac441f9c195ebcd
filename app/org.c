/* app/org.c: see org.h. */
#include "app/org.h"

#include <stdlib.h>

#include "proto/alloc.h"
#include "storage/accounts.h"
#include "storage/documents.h"

/* Builds the organs' maps as their rows arrive, grouped by organ. */
struct org_list {
    cbor_item_t *organs[1024], *depts[1024];
    size_t norgans, ndepts;
    cbor_item_t *organ; /* the organ whose rows are arriving */
    int64_t organ_id;
};

static void org_close(struct org_list *l)
{
    if (l->organ == NULL)
        return;
    pv_put(l->organ, "departments", pv_array_from(l->depts, l->ndepts));
    l->organs[l->norgans++] = l->organ;
    l->organ = NULL;
    l->ndepts = 0;
}

static void org_row(void *arg, const struct oa_org_row *row)
{
    struct org_list *l = arg;
    if (l->organ == NULL || row->organ_id != l->organ_id) {
        org_close(l);
        if (l->norgans == 1024)
            return;
        l->organ_id = row->organ_id;
        l->organ = pv_map(4);
        pv_put_int(l->organ, "id", row->organ_id);
        pv_put_text(l->organ, "code", row->organ_code);
        pv_put_text(l->organ, "name", row->organ_name);
    }
    if (row->dept_id != 0 && l->ndepts < 1024) {
        cbor_item_t *d = pv_map(3);
        pv_put_int(d, "id", row->dept_id);
        pv_put_text(d, "code", row->dept_code);
        pv_put_text(d, "name", row->dept_name);
        l->depts[l->ndepts++] = d;
    }
}

int oa_app_org_list(struct oa_store *s, cbor_item_t **out)
{
    struct org_list *l = oa_xcalloc(1, sizeof(*l));
    int rc = oa_org_each(s, org_row, l);
    org_close(l);
    if (rc == 0) {
        *out = pv_map(1);
        pv_put(*out, "organs", pv_array_from(l->organs, l->norgans));
    } else {
        for (size_t i = 0; i < l->norgans; i++)
            cbor_decref(&l->organs[i]);
    }
    free(l);
    return rc == 0 ? 0 : OA_E_STORAGE;
}

int oa_app_org_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                      int64_t organ_id, const char *code, const char *name, struct oa_app_outcome *o,
                      cbor_item_t **out)
{
    const char *event = organ_id == 0 ? "organ.create" : "department.create";
    enum oa_decision d = oa_access_decide(who, OA_ACT_ORG_MANAGE, NULL);
    if (d != OA_ALLOW) {
        oa_app_refuse(o, OA_E_FORBIDDEN, oa_decision_reason(d));
        return oa_app_audit(s, by, event, code, "refused", oa_decision_reason(d)) == 0 ? 0 : OA_E_STORAGE;
    }
    int64_t id;
    if (organ_id == 0) {
        id = oa_organ_insert(s, code, name);
    } else {
        int64_t organ = oa_organ_find(s, organ_id);
        if (organ < 0)
            return OA_E_STORAGE;
        if (organ == 0) {
            oa_app_refuse(o, OA_E_BAD_FIELD, "No organ has that organ_id.");
            return 0;
        }
        id = oa_department_insert(s, organ_id, code, name);
    }
    if (id < 0)
        return OA_E_STORAGE;
    if (id == 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "That code is taken.");
        return 0;
    }
    if (oa_change_record(s, organ_id == 0 ? "organ" : "department", id, "create") < 0 ||
        oa_app_audit(s, by, event, code, "ok", name) != 0)
        return OA_E_STORAGE;
    *out = pv_map(organ_id == 0 ? 3 : 4);
    pv_put_int(*out, "id", id);
    if (organ_id != 0)
        pv_put_int(*out, "organ_id", organ_id);
    pv_put_text(*out, "code", code);
    pv_put_text(*out, "name", name);
    return 0;
}
