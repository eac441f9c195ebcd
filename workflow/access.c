/* workflow/access.c: levels, roles and the access decision.  See access.h. */
#include "workflow/access.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *en, *zh;
} levels[] = {
    {"public", "公开"}, {"internal", "内部"}, {"secret", "秘密"},
    {"confidential", "机密"}, {"top-secret", "绝密"},
};

const char *oa_level_name(int level)
{
    if (level < 0 || level > OA_LEVEL_MAX)
        return NULL;
    return levels[level].en;
}

int oa_level_parse(const char *s)
{
    for (int i = 0; i <= OA_LEVEL_MAX; i++)
        if (strcmp(s, levels[i].en) == 0 || strcmp(s, levels[i].zh) == 0)
            return i;
    return -1;
}

static const char *const role_names[] = {
    "staff", "secretariat", "dept_head", "leader", "records", "gateway",
    "sysadmin", "secadmin", "auditor",
};

const char *oa_role_name(unsigned role)
{
    for (unsigned i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (role == 1u << i)
            return role_names[i];
    return NULL;
}

unsigned oa_role_parse(const char *s)
{
    for (unsigned i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (strcmp(s, role_names[i]) == 0)
            return 1u << i;
    return 0;
}

static int popcount(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

bool oa_roles_valid(unsigned roles)
{
    if (roles == 0 || (roles & ~OA_ROLES_ALL) != 0)
        return false;
    unsigned special = roles & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY);
    if (special != 0)
        return popcount(roles) == 1;
    return true;
}

/*
 * Which role may perform each action.  The three administrators never share
 * an action, so no one of them can do another's job.
 */
static const unsigned action_role[OA_ACT__COUNT] = {
    [OA_ACT_USER_CREATE] = OA_ROLE_SYSADMIN,
    [OA_ACT_USER_READ] = OA_ROLE_SYSADMIN | OA_ROLE_SECADMIN,
    [OA_ACT_USER_ENABLE] = OA_ROLE_SYSADMIN,
    [OA_ACT_USER_ROLES] = OA_ROLE_SYSADMIN,
    [OA_ACT_USER_RESET_PW] = OA_ROLE_SYSADMIN,
    [OA_ACT_USER_UNLOCK] = OA_ROLE_SYSADMIN,
    [OA_ACT_USER_CLEARANCE] = OA_ROLE_SECADMIN,
    [OA_ACT_USER_REQUIRE_2FA] = OA_ROLE_SECADMIN,
    [OA_ACT_ORG_MANAGE] = OA_ROLE_SYSADMIN,
    [OA_ACT_CONFIG] = OA_ROLE_SYSADMIN,
    [OA_ACT_AUDIT_READ] = OA_ROLE_AUDITOR,
    [OA_ACT_RELABEL] = OA_ROLE_SECADMIN,
    [OA_ACT_METRICS_READ] = OA_ROLE_SYSADMIN | OA_ROLE_AUDITOR,
    [OA_ACT_RECORDS_MANAGE] = OA_ROLE_RECORDS,
    [OA_ACT_RECORDS_READ] = OA_ROLE_RECORDS | OA_ROLE_LEADER,
    [OA_ACT_DISPOSAL_APPROVE] = OA_ROLE_LEADER,
};

/* Actions that change another account's rights or standing. */
static bool acts_on_user(enum oa_action a)
{
    return a == OA_ACT_USER_ENABLE || a == OA_ACT_USER_ROLES || a == OA_ACT_USER_RESET_PW ||
           a == OA_ACT_USER_UNLOCK || a == OA_ACT_USER_CLEARANCE || a == OA_ACT_USER_REQUIRE_2FA;
}

enum oa_decision oa_access_decide(const struct oa_subject *who, enum oa_action action,
                                  const struct oa_object *what)
{
    if (who == NULL || (unsigned)action >= OA_ACT__COUNT)
        return OA_DENY_ROLE;
    bool named = action == OA_ACT_RELABEL && who->declassifier && (who->roles & OA_ROLES_ADMIN) == 0;
    if ((who->roles & action_role[action]) == 0 && !named)
        return OA_DENY_ROLE;
    if (acts_on_user(action) && what != NULL) {
        /* No administrator widens their own rights or resets their own standing. */
        if (what->user_id == who->id)
            return OA_DENY_SELF;
        /* The three administrators' accounts are not each other's to change.
         * sysadmin may lift another administrator's lockout (which gives no
         * rights), but never reset their password: a reset hands the resetter
         * a way in as that account, so administrators' passwords are reset
         * only at the server's console (oad admin reset-password). */
        if ((what->user_roles & OA_ROLES_ADMIN) != 0 && action != OA_ACT_USER_UNLOCK &&
            action != OA_ACT_USER_REQUIRE_2FA)
            return OA_DENY_ADMIN;
    }
    /* A disposal list is approved by someone other than its proposer. */
    if (action == OA_ACT_DISPOSAL_APPROVE && what != NULL && what->user_id == who->id)
        return OA_DENY_SELF;
    return OA_ALLOW;
}

enum oa_decision oa_access_read_doc(const struct oa_subject *who, int level)
{
    if (who == NULL || level < 0 || level > OA_LEVEL_MAX)
        return OA_DENY_LABEL;
    if (who->roles & OA_ROLES_ADMIN)
        return OA_DENY_ROLE;
    if (who->held)
        return OA_DENY_HELD;
    if ((who->roles & OA_ROLE_GATEWAY) && level != OA_LEVEL_PUBLIC)
        return OA_DENY_LABEL;
    return who->clearance >= level ? OA_ALLOW : OA_DENY_LABEL;
}

static bool in_scope(const struct oa_reader *r, const char *entry)
{
    char buf[96];
    if (strncmp(entry, "user:", 5) == 0)
        return r->username != NULL && strcmp(entry + 5, r->username) == 0;
    if (strncmp(entry, "dept:", 5) == 0) {
        snprintf(buf, sizeof(buf), "%lld", (long long)r->department_id);
        return r->department_id > 0 && strcmp(entry + 5, buf) == 0;
    }
    for (size_t i = 0; i < r->ncompartments; i++)
        if (strcmp(r->compartments[i], entry) == 0)
            return true;
    return false;
}

enum oa_decision oa_access_read(const struct oa_reader *reader, const struct oa_label *label)
{
    if (reader == NULL || label == NULL)
        return OA_DENY_LABEL;
    enum oa_decision d = oa_access_read_doc(reader->who, label->level);
    if (d != OA_ALLOW)
        return d;
    if (label->nscope == 0)
        return OA_ALLOW;
    if (reader->who->roles & OA_ROLE_GATEWAY)
        return OA_DENY_SCOPE;
    for (size_t i = 0; i < label->nscope; i++)
        if (in_scope(reader, label->scope[i]))
            return OA_ALLOW;
    return OA_DENY_SCOPE;
}

static bool scope_has(const struct oa_label *l, const char *entry)
{
    for (size_t i = 0; i < l->nscope; i++)
        if (strcmp(l->scope[i], entry) == 0)
            return true;
    return false;
}

bool oa_label_dominates(const struct oa_label *derived, const struct oa_label *source)
{
    if (derived->level < source->level)
        return false;
    if (source->nscope == 0)
        return true;
    /* A scoped source: the derivative must be scoped, within the source's scope. */
    if (derived->nscope == 0)
        return false;
    for (size_t i = 0; i < derived->nscope; i++)
        if (!scope_has(source, derived->scope[i]))
            return false;
    return true;
}

bool oa_label_derive(const struct oa_label *source, const struct oa_label *asked, bool has_level, bool has_scope,
                     struct oa_label *out)
{
    out->level = has_level ? asked->level : source->level;
    out->scope = has_scope ? asked->scope : source->scope;
    out->nscope = has_scope ? asked->nscope : source->nscope;
    return oa_label_dominates(out, source);
}

enum oa_label_edit oa_label_edit_check(const struct oa_subject *editor, const struct oa_label *cur,
                                       const struct oa_label *asked, bool has_level, bool has_scope)
{
    if (has_level && asked->level < cur->level)
        return OA_LABEL_EDIT_LOWERS;
    if (has_level && oa_access_read_doc(editor, asked->level) != OA_ALLOW)
        return OA_LABEL_EDIT_ABOVE_CLEARANCE;
    if (has_scope) {
        struct oa_label next = {has_level ? asked->level : cur->level, asked->scope, asked->nscope};
        if (!oa_label_dominates(&next, cur))
            return OA_LABEL_EDIT_WIDENS;
    }
    return OA_LABEL_EDIT_OK;
}

const char *oa_label_edit_reason(enum oa_label_edit e)
{
    switch (e) {
    case OA_LABEL_EDIT_OK: return NULL;
    case OA_LABEL_EDIT_LOWERS: return "Lowering a label is a declassification step for secadmin.";
    case OA_LABEL_EDIT_ABOVE_CLEARANCE: return "You cannot label a document above your own clearance.";
    case OA_LABEL_EDIT_WIDENS: return "Widening a document's scope is a declassification step for secadmin.";
    }
    return NULL;
}

enum oa_delegation oa_delegation_check(int64_t from_id, unsigned from_roles, bool to_active, int64_t to_id,
                                       unsigned to_roles)
{
    if (!to_active)
        return OA_DELEGATION_NO_SUCH_USER;
    if (to_id == from_id)
        return OA_DELEGATION_SELF;
    if ((to_roles | from_roles) & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY))
        return OA_DELEGATION_ROLE;
    return OA_DELEGATION_OK;
}

bool oa_calendar_may_change(unsigned roles)
{
    return (roles & OA_ROLE_SECRETARIAT) != 0;
}

bool oa_sync_cacheable(int level, unsigned cache_max_level)
{
    return level <= (int)cache_max_level;
}

bool oa_access_export(const struct oa_label *label, bool reviewed)
{
    return label != NULL && label->level == OA_LEVEL_PUBLIC && label->nscope == 0 && reviewed;
}

enum oa_decision oa_access_route(unsigned roles, bool gateway_route, bool gateway_allowed)
{
    bool gw = (roles & OA_ROLE_GATEWAY) != 0;
    if (gw && !gateway_allowed)
        return OA_DENY_ROLE;
    if (!gw && gateway_route)
        return OA_DENY_ROLE;
    return OA_ALLOW;
}

bool oa_request_personal_visible(unsigned roles, bool is_assignee)
{
    return is_assignee || (roles & (OA_ROLE_SECRETARIAT | OA_ROLE_LEADER)) != 0;
}

const char *oa_decision_reason(enum oa_decision d)
{
    switch (d) {
    case OA_ALLOW: return "allowed";
    case OA_DENY_ROLE: return "your role does not permit this";
    case OA_DENY_SELF: return "nobody may change their own rights";
    case OA_DENY_ADMIN: return "administrator accounts cannot be changed this way";
    case OA_DENY_LABEL: return "the document's classification is above your clearance";
    case OA_DENY_SCOPE: return "you are outside the document's need-to-know scope";
    case OA_DENY_HELD: return "your password was reset: secadmin must confirm your clearance before you see documents";
    case OA_DENY_CERT: return "the client certificate does not belong to this account";
    }
    return "refused";
}

bool oa_publication_may(unsigned roles, bool is_drafter, bool review)
{
    if (roles & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY))
        return false;
    if (review)
        return (roles & OA_ROLE_LEADER) != 0;
    return is_drafter || (roles & OA_ROLE_SECRETARIAT) != 0;
}

enum oa_decision oa_access_client_cert(bool mapped, const char *cert_cn, const char *account)
{
    if (!mapped)
        return OA_ALLOW;
    if (cert_cn == NULL || account == NULL || strcmp(cert_cn, account) != 0)
        return OA_DENY_CERT;
    return OA_ALLOW;
}

bool oa_publication_secrecy_may(unsigned roles, bool is_proposer)
{
    if (roles & (OA_ROLES_ADMIN | OA_ROLE_GATEWAY))
        return false;
    return !is_proposer && (roles & (OA_ROLE_SECRETARIAT | OA_ROLE_LEADER)) != 0;
}

/* Whether the view's account sees no document at all. */
static bool sees_nothing(const struct oa_access_view *v)
{
    return v->disabled || v->held || (v->roles & OA_ROLES_ADMIN) != 0;
}

static bool has_compartment(const struct oa_access_view *v, const char *c)
{
    for (size_t i = 0; i < v->ncompartments; i++)
        if (v->compartments[i] != NULL && strcmp(v->compartments[i], c) == 0)
            return true;
    return false;
}

bool oa_access_widened(const struct oa_access_view *before, const struct oa_access_view *after)
{
    if (before == NULL || after == NULL || sees_nothing(after))
        return false;
    if (sees_nothing(before))
        return true;
    bool gw_before = (before->roles & OA_ROLE_GATEWAY) != 0, gw_after = (after->roles & OA_ROLE_GATEWAY) != 0;
    if (gw_after) /* 公开 with no scope, whatever the rest says: no more than before */
        return false;
    if (gw_before)
        return true;
    if (after->clearance > before->clearance || (after->roles & ~before->roles) != 0)
        return true;
    if (after->department_id > 0 && after->department_id != before->department_id)
        return true;
    for (size_t i = 0; i < after->ncompartments; i++)
        if (after->compartments[i] != NULL && !has_compartment(before, after->compartments[i]))
            return true;
    return false;
}
