/*
 * server/h_users.c: account administration's routes.  HTTP only: the use
 * case (who may do what to which account, the change, its audit entry) is
 * app/users.c's; here the request is decoded (fields, roles, compartments),
 * a one-time password is made and hashed on the pool, and the answer
 * encoded.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/accounts.h"
#include "proto/value.h"
#include "server/auth.h"
#include "server/handlers.h"
#include "server/server.h"
#include "workflow/access.h"

struct admin {
    struct oa_req_job base;
    struct oa_app_user_cmd cmd;   /* app/users.c's */
    struct oa_app_second_factor step_up;
    char otp[21];
    char otp_hash[128];
    struct oa_app_user_answer ans;
};

static int admin_on_run(struct oa_store *s, struct oa_db_job *job)
{
    struct admin *a = (struct admin *)job;
    struct oa_req *r = a->base.r;
    const struct oa_config *cfg = r->srv->cfg;
    struct oa_subject who = {.id = r->who.user_id, .roles = r->who.roles, .clearance = r->who.clearance};
    /* Only a clearance change steps up, on the writer: srv->keys is never read on a reader (h_blobs.c). */
    if (a->cmd.op == OA_USER_CLEARANCE) {
        a->step_up = (struct oa_app_second_factor){r->srv->keys, r->otp, cfg->lockout_threshold, cfg->lockout_s};
        a->cmd.step_up = &a->step_up;
    }
    a->cmd.if_match = r->if_match;
    a->cmd.otp_hash = a->otp_hash;
    struct oa_app_outcome o = {0};
    int rc = oa_app_user_admin(s, OA_REQ_ACTOR(r), &who, &a->cmd, &a->ans, &o);
    if (rc != 0)
        return rc;
    if (o.end != OA_APP_DONE) {
        oa_req_fail(&a->base, o.err, o.message);
        return oa_app_job_rc(&o);
    }
    a->base.status = 200;
    if (a->cmd.op == OA_USER_LIST) {
        a->base.out = a->ans.list;
        a->ans.list = NULL;
        return 0;
    }
    cbor_item_t *body = oa_app_user_item(&a->ans.user, a->ans.compartments);
    if (a->cmd.op == OA_USER_CREATE || a->cmd.op == OA_USER_RESET) {
        cbor_item_t *m = pv_map(2);
        pv_put(m, "user", body);
        pv_put_text(m, "one_time_password", a->otp);
        body = m;
    }
    oa_app_user_etag(&a->ans.user, a->base.etag, sizeof(a->base.etag));
    a->base.status = a->cmd.op == OA_USER_CREATE ? 201 : 200;
    a->base.out = body;
    return 0;
}

/* After the answer: what the use case allocated, and no copy of the one-time password or its hash. */
static void admin_finish(struct oa_req_job *j, bool ok)
{
    (void)ok;
    struct admin *a = (struct admin *)j;
    if (a->ans.list)
        cbor_decref(&a->ans.list);
    oa_strv_free(a->ans.compartments);
    a->ans.compartments = NULL;
    sodium_memzero(a->otp, sizeof(a->otp));
    sodium_memzero(a->otp_hash, sizeof(a->otp_hash));
}

static struct admin *admin_new(struct oa_req *r, enum oa_app_user_op op, enum oa_action action)
{
    struct admin *a = oa_req_job_new(r, sizeof(*a), admin_on_run, 0);
    a->cmd.op = op;
    a->cmd.action = action;
    a->base.finish = admin_finish;
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
        oa_reply_error(a->base.r, OA_E_INTERNAL, NULL);
        free(a);
        return;
    }
    snprintf(a->otp_hash, sizeof(a->otp_hash), "%s", new_hash);
    oa_req_job_submit(&a->base);
}

/* Issues a one-time password: hashed on the pool, then the job runs. */
static void submit_with_otp(struct admin *a)
{
    const struct oa_config *cfg = a->base.r->srv->cfg;
    oa_password_generate(a->otp);
    oa_password_work(a->base.r->srv->loop, NULL, NULL, a->otp, cfg->argon2_opslimit, cfg->argon2_memlimit,
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
    struct admin *a = admin_new(r, OA_USER_LIST, OA_ACT_USER_READ);
    a->cmd.after = after;
    a->cmd.limit = limit;
    oa_req_job_submit(&a->base);
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
    struct admin *a = admin_new(r, OA_USER_CREATE, OA_ACT_USER_CREATE);
    if (!read_roles(r, roles, &a->cmd.in.roles)) {
        free(a);
        return;
    }
    snprintf(a->cmd.in.username, sizeof(a->cmd.in.username), "%s", username);
    snprintf(a->cmd.in.display_name, sizeof(a->cmd.in.display_name), "%s", display);
    a->cmd.in.department_id = dept;
    submit_with_otp(a);
}

void h_user_get(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id))
        return;
    struct admin *a = admin_new(r, OA_USER_GET, OA_ACT_USER_READ);
    a->cmd.target_id = id;
    oa_req_job_submit(&a->base);
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
    struct admin *a = admin_new(r, OA_USER_PATCH, OA_ACT_USER_ROLES);
    a->cmd.target_id = id;
    if (has_roles && !read_roles(r, roles, &a->cmd.roles)) {
        free(a);
        return;
    }
    a->cmd.set_name = has_name;
    a->cmd.display_name = display;
    a->cmd.set_roles = has_roles;
    a->cmd.set_dept = has_dept;
    a->cmd.department_id = dept;
    a->cmd.set_disabled = has_disabled;
    a->cmd.disabled = disabled;
    oa_req_job_submit(&a->base);
}

void h_user_reset_password(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_RESET_PW, "user.password_reset"))
        return;
    struct admin *a = admin_new(r, OA_USER_RESET, OA_ACT_USER_RESET_PW);
    a->cmd.target_id = id;
    submit_with_otp(a);
}

void h_user_unlock(struct oa_req *r)
{
    int64_t id;
    if (!parse_id(r, &id) || !role_precheck(r, OA_ACT_USER_UNLOCK, "user.unlock"))
        return;
    struct admin *a = admin_new(r, OA_USER_UNLOCK, OA_ACT_USER_UNLOCK);
    a->cmd.target_id = id;
    oa_req_job_submit(&a->base);
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
    struct admin *a = admin_new(r, OA_USER_CLEARANCE, OA_ACT_USER_CLEARANCE);
    a->cmd.declassifier = declassifier;
    a->cmd.set_declassifier = has_declassifier;
    a->cmd.target_id = id;
    a->cmd.clearance = (int)level;
    if (comps != NULL) {
        if (!cbor_isa_array(comps) || cbor_array_size(comps) > OA_APP_MAX_COMPARTMENTS) {
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
            a->cmd.compartments[a->cmd.ncomp++] =
                oa_arena_strndup(&r->arena, cbor_string_handle(it), cbor_string_length(it));
        }
    }
    oa_req_job_submit(&a->base);
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
    struct admin *a = admin_new(r, OA_USER_TOTP, OA_ACT_USER_REQUIRE_2FA);
    a->cmd.target_id = id;
    a->cmd.totp_required = required;
    a->cmd.totp_reset = reset;
    oa_req_job_submit(&a->base);
}
