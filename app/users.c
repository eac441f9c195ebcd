/*
 * app/users.c: one's own account and password, and account administration
 * (see accounts.h).
 *
 * sysadmin creates, disables and re-enables accounts, sets roles and
 * departments, resets passwords and lifts lockouts; secadmin sets clearances
 * and compartments; nobody else does any of it.  Every attempt, allowed or
 * refused, is decided by oa_access_decide and audited in the same
 * transaction as the change.  The three administrator roles are held only by
 * the accounts `oad init` creates: the API grants none of them.  A change
 * that widens what the account may see (workflow/access.h
 * oa_access_widened) is recorded for the sync feed, which sends the
 * account's clients back to 0 once (proto/SYNC.md, Access widened).
 */
#include <stdio.h>
#include <string.h>

#include "app/accounts.h"
#include "proto/etag.h"
#include "proto/value.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "storage/sync.h"
#include "workflow/access.h"

cbor_item_t *oa_app_user_item(const struct oa_user *u, char **compartments)
{
    cbor_item_t *m = pv_map(14);
    pv_put_int(m, "id", u->id);
    pv_put_text(m, "username", u->username);
    pv_put_text(m, "display_name", u->display_name);
    if (u->department_id > 0)
        pv_put_int(m, "department_id", u->department_id);
    else
        pv_put_text(m, "department_id", NULL);
    size_t nroles = 0;
    for (unsigned b = 1; b <= OA_ROLES_ALL; b <<= 1)
        if (u->roles & b)
            nroles++;
    cbor_item_t *roles = pv_array(nroles);
    for (unsigned b = 1; b <= OA_ROLES_ALL; b <<= 1)
        if (u->roles & b)
            pv_push(roles, pv_text(oa_role_name(b)));
    pv_put(m, "roles", roles);
    pv_put_int(m, "clearance", u->clearance);
    pv_put_text(m, "clearance_name", oa_level_name(u->clearance));
    size_t nc = 0;
    while (compartments && compartments[nc])
        nc++;
    cbor_item_t *comps = pv_array(nc);
    for (size_t i = 0; i < nc; i++)
        pv_push(comps, pv_text(compartments[i]));
    pv_put(m, "compartments", comps);
    pv_put_bool(m, "must_change_password", u->must_change_pw);
    pv_put_bool(m, "disabled", u->disabled);
    pv_put_bool(m, "locked", u->locked_until > oa_now());
    pv_put_bool(m, "totp_required", u->totp_required);
    pv_put_bool(m, "totp_active", u->totp_confirmed);
    pv_put_bool(m, "declassifier", u->declassifier);
    return m;
}

void oa_app_user_etag(const struct oa_user *u, char *out, size_t n)
{
    snprintf(out, n, "\"u%lld-%lld\"", (long long)u->id, (long long)u->version);
}

int oa_app_me_read(struct oa_store *s, const struct oa_app_actor *by, struct oa_user *me, char ***compartments)
{
    if (oa_app_me(s, by, me) != 0)
        return OA_E_STORAGE;
    *compartments = oa_user_compartments(s, me->id);
    return 0;
}

int oa_app_password_change(struct oa_store *s, const struct oa_app_actor *by, int64_t keep_session, bool verified,
                           const char *new_hash)
{
    struct oa_user now;
    if (oa_app_me(s, by, &now) != 0)
        return OA_E_STORAGE;
    if (!verified)
        return oa_app_audit(s, by, "password.change", now.username, "refused", "the current password was wrong") == 0
                   ? 0
                   : OA_E_STORAGE;
    snprintf(now.pw_hash, sizeof(now.pw_hash), "%s", new_hash);
    now.must_change_pw = false;
    if (oa_user_update(s, &now) != 0 || oa_session_delete_user(s, now.id, keep_session) < 0)
        return OA_E_STORAGE;
    return oa_app_audit(s, by, "password.change", now.username, "ok", NULL) == 0 ? 0 : OA_E_STORAGE;
}

/* Asks oa_access_decide; a refusal is audited (o).  0 allowed, 1 refused, or OA_E_STORAGE. */
static int decide(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                  enum oa_action action, const struct oa_user *target, struct oa_app_outcome *o)
{
    struct oa_object what = {target ? target->id : 0, target ? target->roles : 0};
    enum oa_decision d = oa_access_decide(who, action, target ? &what : NULL);
    if (d == OA_ALLOW)
        return 0;
    oa_app_refuse(o, OA_E_FORBIDDEN, oa_decision_reason(d));
    if (oa_app_audit(s, by, "access.refused", target ? target->username : NULL, "refused", oa_decision_reason(d)) != 0)
        return OA_E_STORAGE;
    return 1;
}

static int list_users(struct oa_store *s, const struct oa_app_user_cmd *c, struct oa_app_user_answer *out)
{
    int64_t ids[500];
    size_t n = 0;
    if (oa_user_ids_page(s, c->after, c->limit, ids, 500, &n) != 0)
        return OA_E_STORAGE;
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++) {
        struct oa_user u;
        if (oa_user_by_id(s, ids[i], &u) != 1) {
            cbor_decref(&arr);
            return OA_E_STORAGE;
        }
        char **comps = oa_user_compartments(s, u.id);
        pv_push(arr, oa_app_user_item(&u, comps));
        oa_strv_free(comps);
    }
    out->list = pv_map(2);
    pv_put(out->list, "users", arr);
    if (n == (size_t)c->limit)
        pv_put_int(out->list, "next_after", ids[n - 1]);
    else
        pv_put_text(out->list, "next_after", NULL);
    return 0;
}

/* 1 when the department exists (or none is named), 0 when not, -1 on error. */
static int department_ok(struct oa_store *s, int64_t id)
{
    if (id <= 0)
        return 1;
    int64_t organ = oa_department_organ(s, id);
    return organ < 0 ? -1 : organ > 0;
}

static int user_create(struct oa_store *s, const struct oa_app_actor *by, const struct oa_app_user_cmd *c,
                       struct oa_app_user_answer *out, struct oa_app_outcome *o)
{
    int rc = department_ok(s, c->in.department_id);
    if (rc <= 0) {
        oa_app_refuse(o, OA_E_BAD_FIELD, "No department has that department_id.");
        return rc < 0 ? OA_E_STORAGE : 0;
    }
    out->user = c->in;
    out->user.must_change_pw = true;
    snprintf(out->user.pw_hash, sizeof(out->user.pw_hash), "%s", c->otp_hash);
    rc = oa_user_insert(s, &out->user);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        oa_app_refuse(o, OA_E_CONFLICT, "That username is taken.");
        return 0;
    }
    char detail[256];
    snprintf(detail, sizeof(detail), "roles=%u department=%lld", c->in.roles, (long long)c->in.department_id);
    if (oa_app_audit(s, by, "user.create", c->in.username, "ok", detail) != 0)
        return OA_E_STORAGE;
    out->compartments = oa_user_compartments(s, out->user.id);
    return 0;
}

/*
 * The change c makes to the account u (read, decided, its version matched):
 * sets *event (NULL: nothing to write) and detail, and *end_sessions when
 * the account's rights change.  0, 1 refused (o), or OA_E_STORAGE.
 */
static int user_change(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                       const struct oa_app_user_cmd *c, struct oa_user *u, const char **event, char *detail,
                       size_t dcap, bool *end_sessions, struct oa_app_outcome *o)
{
    int rc;
    switch (c->op) {
    case OA_USER_PATCH:
        if (c->set_disabled || c->set_roles) {
            /* Disabling and role changes are decided separately from the PATCH's main action. */
            if ((rc = decide(s, by, who, c->set_roles ? OA_ACT_USER_ROLES : OA_ACT_USER_ENABLE, u, o)) != 0)
                return rc;
        }
        if (c->set_dept && (rc = department_ok(s, c->department_id)) <= 0) {
            oa_app_refuse(o, OA_E_BAD_FIELD, "No department has that department_id.");
            return rc < 0 ? OA_E_STORAGE : 1;
        }
        if (c->set_name)
            snprintf(u->display_name, sizeof(u->display_name), "%s", c->display_name);
        if (c->set_dept)
            u->department_id = c->department_id;
        if (c->set_roles && c->roles != u->roles) {
            u->roles = c->roles;
            *end_sessions = true;
        }
        if (c->set_disabled && c->disabled != u->disabled) {
            u->disabled = c->disabled;
            *end_sessions = true;
        }
        snprintf(detail, dcap, "roles=%u department=%lld disabled=%d", u->roles, (long long)u->department_id,
                 u->disabled);
        *event = c->set_disabled ? (c->disabled ? "user.disable" : "user.enable") : "user.update";
        return 0;
    case OA_USER_RESET:
        snprintf(u->pw_hash, sizeof(u->pw_hash), "%s", c->otp_hash);
        u->must_change_pw = true;
        u->failed_logins = 0;
        u->locked_until = 0;
        /* Whoever knows the one-time password could act as this person:
         * until secadmin confirms the clearance, the account sees nothing. */
        u->clearance_hold = true;
        *end_sessions = true;
        snprintf(detail, dcap, "one-time password issued; clearance held until secadmin confirms it");
        *event = "user.password_reset";
        return 0;
    case OA_USER_UNLOCK:
        u->failed_logins = 0;
        u->locked_until = 0;
        snprintf(detail, dcap, "lockout lifted");
        *event = "user.unlock";
        return 0;
    case OA_USER_CLEARANCE: {
        enum oa_err e = oa_app_step_up(s, by, c->step_up);
        if (e == OA_E_STORAGE)
            return OA_E_STORAGE;
        if (e != OA_E_OK) {
            oa_app_refuse(o, e, NULL);
            return 1;
        }
        snprintf(detail, dcap, "clearance %d -> %d, %d compartments", u->clearance, c->clearance, c->ncomp);
        u->clearance = c->clearance;
        if (u->clearance_hold) {
            u->clearance_hold = false;
            size_t dl = strlen(detail);
            snprintf(detail + dl, dcap - dl, ", confirmed after a password reset");
        }
        if (c->set_declassifier) {
            if (c->declassifier && (u->roles & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY))) {
                oa_app_refuse(o, OA_E_BAD_FIELD, "Administrators and the gateway cannot be named declassifiers.");
                return 1;
            }
            u->declassifier = c->declassifier;
            size_t dl = strlen(detail);
            snprintf(detail + dl, dcap - dl, ", declassifier=%d", c->declassifier);
        }
        if (oa_user_set_compartments(s, u->id, c->compartments, c->ncomp) != 0)
            return OA_E_STORAGE;
        *end_sessions = true;
        *event = "user.clearance";
        return 0;
    }
    case OA_USER_TOTP:
        if (c->totp_required && (u->roles & (OA_ROLES_ADMIN | OA_ROLE_LEADER)) == 0) {
            oa_app_refuse(o, OA_E_BAD_FIELD, "A second factor can be required of administrators and leaders.");
            return 1;
        }
        u->totp_required = c->totp_required;
        if (c->totp_reset) {
            u->totp_confirmed = false;
            u->totp_secret_len = 0;
            u->totp_last_step = 0;
            *end_sessions = true;
        }
        snprintf(detail, dcap, "required=%d reset=%d", c->totp_required, c->totp_reset);
        *event = "user.totp";
        return 0;
    case OA_USER_GET:
    case OA_USER_CREATE:
    case OA_USER_LIST:
        return 0;
    }
    return 0;
}

/* What u's account may see depends on, with its n compartments. */
static struct oa_access_view access_view(const struct oa_user *u, const char *const *comps, size_t n)
{
    return (struct oa_access_view){u->roles, u->clearance, u->clearance_hold, u->disabled, u->department_id,
                                   comps, n};
}

/* The length of a NULL-terminated list (0 for none). */
static size_t strv_len(char **v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

/*
 * After the change c made to u (from `before`, whose compartments were
 * was_comps; c's own when it set them): when the account may now see more
 * (oa_access_widened), records the change for the sync feed, which sends
 * every client of the user behind it back to 0 (proto/SYNC.md), and says so
 * in the audit detail.  0 or -1.
 */
static int note_widened(struct oa_store *s, const struct oa_app_user_cmd *c, const struct oa_user *before,
                        char **was_comps, const struct oa_user *u, char *detail, size_t dcap)
{
    bool comps_set = c->op == OA_USER_CLEARANCE;
    struct oa_access_view was = access_view(before, (const char *const *)was_comps, strv_len(was_comps));
    struct oa_access_view now = comps_set ? access_view(u, c->compartments, (size_t)c->ncomp) : was;
    now.roles = u->roles;
    now.clearance = u->clearance;
    now.held = u->clearance_hold;
    now.disabled = u->disabled;
    now.department_id = u->department_id;
    if (!oa_access_widened(&was, &now))
        return 0;
    size_t dl = strlen(detail);
    snprintf(detail + dl, dcap - dl, "; access widened: clients resync from 0");
    return oa_sync_widened_record(s, u->id);
}

int oa_app_user_admin(struct oa_store *s, const struct oa_app_actor *by, const struct oa_subject *who,
                      const struct oa_app_user_cmd *c, struct oa_app_user_answer *out, struct oa_app_outcome *o)
{
    int rc;
    if (c->op == OA_USER_CREATE || c->op == OA_USER_LIST) {
        if ((rc = decide(s, by, who, c->action, NULL, o)) != 0)
            return rc == 1 ? 0 : rc;
        return c->op == OA_USER_LIST ? list_users(s, c, out) : user_create(s, by, c, out, o);
    }
    struct oa_user *u = &out->user;
    rc = oa_user_by_id(s, c->target_id, u);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0) {
        oa_app_refuse(o, OA_E_NOT_FOUND, NULL);
        return 0;
    }
    /* Anyone may read their own account; the decision covers the rest. */
    if (!(c->op == OA_USER_GET && c->target_id == by->user_id)) {
        if ((rc = decide(s, by, who, c->action, u, o)) != 0)
            return rc == 1 ? 0 : rc;
    }
    if (c->op != OA_USER_GET && c->op != OA_USER_RESET && c->op != OA_USER_UNLOCK) {
        char etag[48];
        oa_app_user_etag(u, etag, sizeof(etag));
        enum oa_err e = oa_etag_if_match(c->if_match, etag);
        if (e != OA_E_OK) {
            oa_app_refuse(o, e, NULL);
            return 0;
        }
    }
    const char *event = NULL;
    char detail[320];
    bool end_sessions = false;
    struct oa_user before = *u;
    char **was_comps = c->op == OA_USER_CLEARANCE ? oa_user_compartments(s, u->id) : NULL;
    rc = user_change(s, by, who, c, u, &event, detail, sizeof(detail), &end_sessions, o);
    if (rc != 0) {
        oa_strv_free(was_comps);
        return rc == 1 ? 0 : rc;
    }
    if (event != NULL) {
        rc = oa_user_update(s, u) != 0 ? -1 : note_widened(s, c, &before, was_comps, u, detail, sizeof(detail));
        oa_strv_free(was_comps);
        if (rc != 0)
            return OA_E_STORAGE;
        if (end_sessions && oa_session_delete_user(s, u->id, 0) < 0)
            return OA_E_STORAGE;
        if (oa_app_audit(s, by, event, u->username, "ok", detail) != 0)
            return OA_E_STORAGE;
    } else {
        oa_strv_free(was_comps);
    }
    out->compartments = oa_user_compartments(s, u->id);
    return 0;
}
