/*
 * server/h_users.c: account administration.
 *
 * sysadmin creates, disables and re-enables accounts, sets roles and
 * departments, resets passwords and lifts lockouts; secadmin sets clearances
 * and compartments; nobody else does any of it.  Every attempt, allowed or
 * refused, is decided by oa_access_decide and recorded by oa_audit in the same
 * transaction as the change.  The three administrator roles are held only by
 * the accounts `oad init` creates: the API grants none of them.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "proto/value.h"
#include "server/auth.h"
#include "server/handlers.h"
#include "server/server.h"
#include "storage/accounts.h"
#include "storage/documents.h"
#include "workflow/access.h"

cbor_item_t *oa_user_item(const struct oa_user *u, char **compartments);

#define MAX_COMPARTMENTS 64

enum admin_op { OP_CREATE, OP_GET, OP_PATCH, OP_RESET, OP_UNLOCK, OP_CLEARANCE, OP_TOTP, OP_LIST };

struct admin {
    struct oa_db_job job;
    struct oa_req *r;
    enum admin_op op;
    enum oa_action action;
    int64_t target_id;

    /* inputs */
    struct oa_user in;        /* OP_CREATE: the new account */
    bool set_name, set_roles, set_dept, set_disabled;
    const char *display_name;
    unsigned roles;
    int64_t department_id;
    bool disabled;
    int clearance;
    bool declassifier, set_declassifier;
    const char *compartments[MAX_COMPARTMENTS];
    int ncomp;
    bool totp_required, totp_reset;
    char otp[21];
    char otp_hash[128];
    int64_t after, limit;

    /* outputs */
    enum oa_err result;
    const char *message;
    struct oa_user user;
    char **user_comps;
    cbor_item_t *list;
};

static enum oa_err decide(struct oa_store *s, struct admin *a, const struct oa_user *target)
{
    struct oa_subject who = {.id = a->r->who.user_id, .roles = a->r->who.roles, .clearance = a->r->who.clearance};
    struct oa_object what = {target ? target->id : 0, target ? target->roles : 0};
    enum oa_decision d = oa_access_decide(&who, a->action, target ? &what : NULL);
    if (d == OA_ALLOW)
        return OA_E_OK;
    a->message = oa_decision_reason(d);
    if (oa_app_audit(s, OA_REQ_ACTOR(a->r), "access.refused", target ? target->username : NULL, "refused",
                     oa_decision_reason(d)) != 0)
        return OA_E_STORAGE;
    return OA_E_FORBIDDEN;
}

static int audit_ok(struct oa_store *s, struct admin *a, const char *event, const char *target, const char *detail)
{
    return oa_app_audit(s, OA_REQ_ACTOR(a->r), event, target, "ok", detail);
}

static int load_target(struct oa_store *s, struct admin *a)
{
    int rc = oa_user_by_id(s, a->target_id, &a->user);
    if (rc < 0)
        return OA_E_STORAGE;
    if (rc == 0)
        a->result = OA_E_NOT_FOUND;
    return 0;
}

static void user_etag(const struct oa_user *u, char *out, size_t n)
{
    snprintf(out, n, "\"u%lld-%lld\"", (long long)u->id, (long long)u->version);
}

static int list_users(struct oa_store *s, struct admin *a)
{
    int64_t ids[500];
    size_t n = 0;
    if (oa_user_ids_page(s, a->after, a->limit, ids, 500, &n) != 0)
        return OA_E_STORAGE;
    cbor_item_t *arr = pv_array(n);
    for (size_t i = 0; i < n; i++) {
        struct oa_user u;
        if (oa_user_by_id(s, ids[i], &u) != 1) {
            cbor_decref(&arr);
            return OA_E_STORAGE;
        }
        char **comps = oa_user_compartments(s, u.id);
        pv_push(arr, oa_user_item(&u, comps));
        oa_strv_free(comps);
    }
    a->list = pv_map(2);
    pv_put(a->list, "users", arr);
    if (n == (size_t)a->limit)
        pv_put_int(a->list, "next_after", ids[n - 1]);
    else
        pv_put_text(a->list, "next_after", NULL);
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

static int admin_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct admin *a = (struct admin *)job;
    char detail[256];
    int rc;

    a->result = OA_E_OK;
    if (a->op == OP_CREATE || a->op == OP_LIST) {
        if ((a->result = decide(s, a, NULL)) != OA_E_OK)
            return a->result == OA_E_STORAGE ? OA_E_STORAGE : 0;
        if (a->op == OP_LIST)
            return list_users(s, a);
        if ((rc = department_ok(s, a->in.department_id)) <= 0) {
            a->result = OA_E_BAD_FIELD;
            a->message = "No department has that department_id.";
            return rc < 0 ? OA_E_STORAGE : 0;
        }
        a->in.must_change_pw = true;
        snprintf(a->in.pw_hash, sizeof(a->in.pw_hash), "%s", a->otp_hash);
        rc = oa_user_insert(s, &a->in);
        if (rc < 0)
            return OA_E_STORAGE;
        if (rc == 0) {
            a->result = OA_E_CONFLICT;
            a->message = "That username is taken.";
            return 0;
        }
        snprintf(detail, sizeof(detail), "roles=%u department=%lld", a->in.roles, (long long)a->in.department_id);
        if (audit_ok(s, a, "user.create", a->in.username, detail) != 0)
            return OA_E_STORAGE;
        a->user = a->in;
        a->user_comps = oa_user_compartments(s, a->user.id);
        return 0;
    }

    if ((rc = load_target(s, a)) != 0 || a->result != OA_E_OK)
        return rc;
    /* Anyone may read their own account; the decision covers the rest. */
    if (!(a->op == OP_GET && a->target_id == a->r->who.user_id)) {
        if ((a->result = decide(s, a, &a->user)) != OA_E_OK)
            return a->result == OA_E_STORAGE ? OA_E_STORAGE : 0;
    }
    if (a->op != OP_GET && a->op != OP_RESET && a->op != OP_UNLOCK) {
        char etag[48];
        user_etag(&a->user, etag, sizeof(etag));
        if ((a->result = oa_req_if_match(a->r, etag)) != OA_E_OK)
            return 0;
    }

    struct oa_user *u = &a->user;
    bool end_sessions = false;
    const char *event = NULL;
    switch (a->op) {
    case OP_GET:
        break;
    case OP_PATCH:
        if (a->set_disabled || a->set_roles) {
            /* Disabling and role changes are decided separately from the PATCH's main action. */
            enum oa_action other = a->set_roles ? OA_ACT_USER_ROLES : OA_ACT_USER_ENABLE;
            enum oa_action saved = a->action;
            a->action = other;
            a->result = decide(s, a, u);
            a->action = saved;
            if (a->result != OA_E_OK)
                return a->result == OA_E_STORAGE ? OA_E_STORAGE : 0;
        }
        if (a->set_dept && (rc = department_ok(s, a->department_id)) <= 0) {
            a->result = OA_E_BAD_FIELD;
            a->message = "No department has that department_id.";
            return rc < 0 ? OA_E_STORAGE : 0;
        }
        if (a->set_name)
            snprintf(u->display_name, sizeof(u->display_name), "%s", a->display_name);
        if (a->set_dept)
            u->department_id = a->department_id;
        if (a->set_roles && a->roles != u->roles) {
            u->roles = a->roles;
            end_sessions = true;
        }
        if (a->set_disabled && a->disabled != u->disabled) {
            u->disabled = a->disabled;
            end_sessions = true;
        }
        snprintf(detail, sizeof(detail), "roles=%u department=%lld disabled=%d", u->roles,
                 (long long)u->department_id, u->disabled);
        event = a->set_disabled ? (a->disabled ? "user.disable" : "user.enable") : "user.update";
        break;
    case OP_RESET:
        snprintf(u->pw_hash, sizeof(u->pw_hash), "%s", a->otp_hash);
        u->must_change_pw = true;
        u->failed_logins = 0;
        u->locked_until = 0;
        /* Whoever knows the one-time password could act as this person:
         * until secadmin confirms the clearance, the account sees nothing. */
        u->clearance_hold = true;
        end_sessions = true;
        snprintf(detail, sizeof(detail), "one-time password issued; clearance held until secadmin confirms it");
        event = "user.password_reset";
        break;
    case OP_UNLOCK:
        u->failed_logins = 0;
        u->locked_until = 0;
        snprintf(detail, sizeof(detail), "lockout lifted");
        event = "user.unlock";
        break;
    case OP_CLEARANCE:
        if ((a->result = oa_step_up(s, a->r)) != OA_E_OK)
            return a->result == OA_E_STORAGE ? OA_E_STORAGE : 0;
        snprintf(detail, sizeof(detail), "clearance %d -> %d, %d compartments", u->clearance, a->clearance,
                 a->ncomp);
        u->clearance = a->clearance;
        if (u->clearance_hold) {
            u->clearance_hold = false;
            size_t dl = strlen(detail);
            snprintf(detail + dl, sizeof(detail) - dl, ", confirmed after a password reset");
        }
        if (a->set_declassifier) {
            if (a->declassifier && (u->roles & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY))) {
                a->result = OA_E_BAD_FIELD;
                a->message = "Administrators and the gateway cannot be named declassifiers.";
                return 0;
            }
            u->declassifier = a->declassifier;
            size_t dl = strlen(detail);
            snprintf(detail + dl, sizeof(detail) - dl, ", declassifier=%d", a->declassifier);
        }
        if (oa_user_set_compartments(s, u->id, a->compartments, a->ncomp) != 0)
            return OA_E_STORAGE;
        end_sessions = true;
        event = "user.clearance";
        break;
    case OP_TOTP:
        if (a->totp_required && (u->roles & (OA_ROLES_ADMIN | OA_ROLE_LEADER)) == 0) {
            a->result = OA_E_BAD_FIELD;
            a->message = "A second factor can be required of administrators and leaders.";
            return 0;
        }
        u->totp_required = a->totp_required;
        if (a->totp_reset) {
            u->totp_confirmed = false;
            u->totp_secret_len = 0;
            u->totp_last_step = 0;
            end_sessions = true;
        }
        snprintf(detail, sizeof(detail), "required=%d reset=%d", a->totp_required, a->totp_reset);
        event = "user.totp";
        break;
    case OP_CREATE:
    case OP_LIST:
        break;
    }
    if (event != NULL) {
        if (oa_user_update(s, u) != 0)
            return OA_E_STORAGE;
        if (end_sessions && oa_session_delete_user(s, u->id, 0) < 0)
            return OA_E_STORAGE;
        if (audit_ok(s, a, event, u->username, detail) != 0)
            return OA_E_STORAGE;
    }
    a->user_comps = oa_user_compartments(s, u->id);
    return 0;
}

static void admin_on_done(struct oa_db_job *job)
{
    struct admin *a = (struct admin *)job;
    struct oa_req *r = a->r;
    if (job->rc) {
        oa_reply_error(r, (enum oa_err)job->rc, NULL);
    } else if (a->result != OA_E_OK) {
        oa_reply_error(r, a->result, a->message);
    } else if (a->op == OP_LIST) {
        oa_reply(r, 200, a->list);
        a->list = NULL;
    } else {
        cbor_item_t *body = oa_user_item(&a->user, a->user_comps);
        if (a->op == OP_CREATE || a->op == OP_RESET) {
            cbor_item_t *m = pv_map(2);
            pv_put(m, "user", body);
            pv_put_text(m, "one_time_password", a->otp);
            body = m;
        }
        user_etag(&a->user, r->etag, sizeof(r->etag));
        oa_reply(r, a->op == OP_CREATE ? 201 : 200, body);
    }
    if (a->list)
        cbor_decref(&a->list);
    oa_strv_free(a->user_comps);
    sodium_memzero(a, sizeof(*a));
    free(a);
}

static struct admin *admin_new(struct oa_req *r, enum admin_op op, enum oa_action action)
{
    struct admin *a = oa_xcalloc(1, sizeof(*a));
    a->r = r;
    a->op = op;
    a->action = action;
    a->job.run = admin_on_run;
    a->job.done = admin_on_done;
    return a;
}

/* Refuses early, and audits, when the caller's roles cannot perform `action` at all. */
static bool role_precheck(struct oa_req *r, enum oa_action action, const char *event)
{
    struct oa_subject who = {.id = r->who.user_id, .roles = r->who.roles, .clearance = r->who.clearance};
    enum oa_decision d = oa_access_decide(&who, action, NULL);
    if (d == OA_ALLOW)
        return true;
    oa_refuse(r, OA_E_FORBIDDEN, oa_decision_reason(d), event, r->params[0]);
    return false;
}

static bool parse_id(struct oa_req *r, int64_t *out)
{
    return oa_path_id(r, 0, "No account has that id.", out);
}

static void otp_on_hashed(void *arg, bool verified, const char *new_hash)
{
    struct admin *a = arg;
    if (new_hash == NULL) {
        oa_reply_error(a->r, OA_E_INTERNAL, NULL);
        free(a);
        return;
    }
    snprintf(a->otp_hash, sizeof(a->otp_hash), "%s", new_hash);
    oa_jobs_write(a->r->srv->jobs, &a->job);
}

/* Issues a one-time password: hashed on the pool, then the job runs. */
static void submit_with_otp(struct admin *a)
{
    const struct oa_config *cfg = a->r->srv->cfg;
    oa_password_generate(a->otp);
    oa_password_work(a->r->srv->loop, NULL, NULL, a->otp, cfg->argon2_opslimit, cfg->argon2_memlimit,
                     otp_on_hashed, a);
}

static bool username_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > OA_USERNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* Reads a roles array; replies 400 and returns false on any problem. */
static bool read_roles(struct oa_req *r, const cbor_item_t *arr, unsigned *out)
{
    unsigned roles = 0;
    if (!cbor_isa_array(arr) || cbor_array_size(arr) == 0 || cbor_array_size(arr) > 16) {
        oa_reply_error(r, OA_E_BAD_FIELD, "field 'roles' must be a list of 1 to 16 role names");
        return false;
    }
    for (size_t i = 0; i < cbor_array_size(arr); i++) {
        cbor_item_t *it = cbor_array_handle(arr)[i];
        char name[32];
        if (!cbor_isa_string(it) || !cbor_string_is_definite(it) || cbor_string_length(it) >= sizeof(name)) {
            oa_reply_error(r, OA_E_BAD_FIELD, "field 'roles' must hold role names");
            return false;
        }
        memcpy(name, cbor_string_handle(it), cbor_string_length(it));
        name[cbor_string_length(it)] = '\0';
        unsigned bit = oa_role_parse(name);
        if (bit == 0) {
            oa_reply_error(r, OA_E_BAD_FIELD,
                           "unknown role; roles are staff, secretariat, dept_head, leader, records, gateway");
            return false;
        }
        roles |= bit;
    }
    if ((roles & OA_ROLES_ADMIN) != 0) {
        oa_reply_error(r, OA_E_BAD_FIELD, "The administrator roles belong to the accounts oad init creates.");
        return false;
    }
    if (!oa_roles_valid(roles)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "The gateway role cannot be combined with other roles.");
        return false;
    }
    *out = roles;
    return true;
}

void h_users_list(struct oa_req *r)
{
    if (!role_precheck(r, OA_ACT_USER_READ, "user.list"))
        return;
    int64_t after, limit;
    if (!oa_query_int(r, "after", 0, INT64_MAX, 0, &after) || !oa_query_clamped(r, "limit", 1, 500, 100, &limit))
        return;
    struct admin *a = admin_new(r, OP_LIST, OA_ACT_USER_READ);
    a->after = after;
    a->limit = limit;
    oa_jobs_write(r->srv->jobs, &a->job);
}

void h_user_create(struct oa_req *r)
{
    if (!role_precheck(r, OA_ACT_USER_CREATE, "user.create"))
        return;
    const char *username = NULL, *display = NULL;
    const cbor_item_t *roles = NULL;
    int64_t dept = 0;
    struct pv_field f[] = {
        {"username", PV_TEXT, PV_REQUIRED, 2, OA_USERNAME_MAX, &username, NULL},
        {"display_name", PV_TEXT, PV_REQUIRED, 1, 200, &display, NULL},
        {"roles", PV_ITEM, PV_REQUIRED, 0, 0, &roles, NULL},
        {"department_id", PV_INT, 0, 1, INT64_MAX, &dept, NULL},
    };
    if (!oa_req_fields(r, f, 4))
        return;
    if (!username_ok(username)) {
        oa_reply_error(r, OA_E_BAD_FIELD, "field 'username' must be 2 to 64 of a-z, 0-9, '.', '_' and '-'");
        return;
    }
    struct admin *a = admin_new(r, OP_CREATE, OA_ACT_USER_CREATE);
    if (!read_roles(r, roles, &a->in.roles)) {
        free(a);
        return;
    }
    snprintf(a->in.username, sizeof(a->in.username), "%s", username);
    snprintf(a->in.display_name, sizeof(a->in.display_name), "%s", display);
    a->in.department_id = dept;
    submit_with_otp(a);
}

void h_user_get(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id))
        return;
    struct admin *a = admin_new(r, OP_GET, OA_ACT_USER_READ);
    a->target_id = id;
    oa_jobs_write(r->srv->jobs, &a->job);
}

void h_user_patch(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_ROLES, "user.update"))
        return;
    const char *display = NULL;
    const cbor_item_t *roles = NULL;
    int64_t dept = 0;
    bool disabled = false, has_name, has_roles, has_dept, has_disabled;
    struct pv_field f[] = {
        {"display_name", PV_TEXT, 0, 1, 200, &display, &has_name},
        {"roles", PV_ITEM, 0, 0, 0, &roles, &has_roles},
        {"department_id", PV_INT, 0, 1, INT64_MAX, &dept, &has_dept},
        {"disabled", PV_BOOL, 0, 0, 0, &disabled, &has_disabled},
        /* secadmin's (PUT .../clearance), or the person's own: never sysadmin's. */
        {"clearance", PV_ITEM, PV_REFUSED, 0, 0, NULL, NULL},
        {"compartments", PV_ITEM, PV_REFUSED, 0, 0, NULL, NULL},
        {"declassifier", PV_ITEM, PV_REFUSED, 0, 0, NULL, NULL},
        {"password", PV_ITEM, PV_REFUSED, 0, 0, NULL, NULL},
        {"totp_required", PV_ITEM, PV_REFUSED, 0, 0, NULL, NULL},
    };
    if (!oa_req_fields(r, f, sizeof(f) / sizeof(f[0])))
        return;
    struct admin *a = admin_new(r, OP_PATCH, OA_ACT_USER_ROLES);
    a->target_id = id;
    if (has_roles && !read_roles(r, roles, &a->roles)) {
        free(a);
        return;
    }
    a->set_name = has_name;
    a->display_name = display;
    a->set_roles = has_roles;
    a->set_dept = has_dept;
    a->department_id = dept;
    a->set_disabled = has_disabled;
    a->disabled = disabled;
    oa_jobs_write(r->srv->jobs, &a->job);
}

void h_user_reset_password(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_RESET_PW, "user.password_reset"))
        return;
    struct admin *a = admin_new(r, OP_RESET, OA_ACT_USER_RESET_PW);
    a->target_id = id;
    submit_with_otp(a);
}

void h_user_unlock(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_UNLOCK, "user.unlock"))
        return;
    struct admin *a = admin_new(r, OP_UNLOCK, OA_ACT_USER_UNLOCK);
    a->target_id = id;
    oa_jobs_write(r->srv->jobs, &a->job);
}

void h_user_clearance(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_CLEARANCE, "user.clearance"))
        return;
    int64_t level = 0;
    const cbor_item_t *comps = NULL;
    bool declassifier = false, has_declassifier = false;
    struct pv_field f[] = {
        {"clearance", PV_INT, PV_REQUIRED, 0, OA_LEVEL_MAX, &level, NULL},
        {"compartments", PV_ITEM, 0, 0, 0, &comps, NULL},
        {"declassifier", PV_BOOL, 0, 0, 0, &declassifier, &has_declassifier},
    };
    if (!oa_req_fields(r, f, 3))
        return;
    struct admin *a = admin_new(r, OP_CLEARANCE, OA_ACT_USER_CLEARANCE);
    a->declassifier = declassifier;
    a->set_declassifier = has_declassifier;
    a->target_id = id;
    a->clearance = (int)level;
    if (comps != NULL) {
        if (!cbor_isa_array(comps) || cbor_array_size(comps) > MAX_COMPARTMENTS) {
            oa_reply_error(r, OA_E_BAD_FIELD, "field 'compartments' must be a list of at most 64 names");
            free(a);
            return;
        }
        for (size_t i = 0; i < cbor_array_size(comps); i++) {
            cbor_item_t *it = cbor_array_handle(comps)[i];
            if (!cbor_isa_string(it) || !cbor_string_is_definite(it) || cbor_string_length(it) == 0 ||
                cbor_string_length(it) > 64 ||
                !pv_utf8_ok(cbor_string_handle(it), cbor_string_length(it))) {
                oa_reply_error(r, OA_E_BAD_FIELD, "field 'compartments' must hold names of 1 to 64 bytes");
                free(a);
                return;
            }
            a->compartments[a->ncomp++] =
                oa_arena_strndup(&r->arena, cbor_string_handle(it), cbor_string_length(it));
        }
    }
    oa_jobs_write(r->srv->jobs, &a->job);
}

void h_user_totp(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_REQUIRE_2FA, "user.totp"))
        return;
    bool required = false, reset = false;
    struct pv_field f[] = {
        {"required", PV_BOOL, PV_REQUIRED, 0, 0, &required, NULL},
        {"reset", PV_BOOL, 0, 0, 0, &reset, NULL},
    };
    if (!oa_req_fields(r, f, 2))
        return;
    struct admin *a = admin_new(r, OP_TOTP, OA_ACT_USER_REQUIRE_2FA);
    a->target_id = id;
    a->totp_required = required;
    a->totp_reset = reset;
    oa_jobs_write(r->srv->jobs, &a->job);
}
