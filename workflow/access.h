/*
 * workflow/access.h: classification levels, roles, and the one access-decision
 * function of oa.
 *
 * Pure logic: no I/O, no allocation, no global state.  Every path that asks
 * "may this person do this?" calls oa_access_decide and audits the answer;
 * nothing else in oa decides access.
 */
#ifndef OA_WORKFLOW_ACCESS_H
#define OA_WORKFLOW_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Classification levels, low to high. */
enum oa_level {
    OA_LEVEL_PUBLIC = 0,   /* 公开 */
    OA_LEVEL_INTERNAL = 1, /* 内部 */
    OA_LEVEL_SECRET = 2,   /* 秘密 */
    OA_LEVEL_CONFIDENTIAL = 3, /* 机密 */
    OA_LEVEL_TOP_SECRET = 4,   /* 绝密 */
};
#define OA_LEVEL_MAX OA_LEVEL_TOP_SECRET

/* "public", "internal", ...; NULL when out of range. */
const char *oa_level_name(int level);
/* The level named by s ("secret" or "秘密"), or -1. */
int oa_level_parse(const char *s);

/* Roles, as bits: a user may hold several, within the rules of oa_roles_valid. */
enum oa_role {
    OA_ROLE_STAFF = 1u << 0,       /* drafts and handles documents */
    OA_ROLE_SECRETARIAT = 1u << 1, /* reviews, registers, numbers, distributes */
    OA_ROLE_DEPT_HEAD = 1u << 2,
    OA_ROLE_LEADER = 1u << 3,      /* signs off */
    OA_ROLE_RECORDS = 1u << 4,     /* records officer */
    OA_ROLE_GATEWAY = 1u << 5,     /* the exchange gateway (a machine) */
    OA_ROLE_SYSADMIN = 1u << 6,    /* accounts, departments, configuration */
    OA_ROLE_SECADMIN = 1u << 7,    /* clearances, scopes, security policy */
    OA_ROLE_AUDITOR = 1u << 8,     /* reads and verifies the audit trail */
};
#define OA_ROLES_ADMIN (OA_ROLE_SYSADMIN | OA_ROLE_SECADMIN | OA_ROLE_AUDITOR)
#define OA_ROLES_ALL 0x1FFu

/* The name of one role bit ("staff", "sysadmin", ...), or NULL. */
const char *oa_role_name(unsigned role);
/* The bit named by s, or 0. */
unsigned oa_role_parse(const char *s);

/*
 * True when a set of roles may be held by one account: at least one role, only
 * known bits, at most one of the three administrator roles (三员分立), and an
 * administrator or the gateway holds no other role at all.
 */
bool oa_roles_valid(unsigned roles);

/* What someone wants to do. */
enum oa_action {
    OA_ACT_USER_CREATE,      /* create an account */
    OA_ACT_USER_READ,        /* read another account */
    OA_ACT_USER_ENABLE,      /* disable or re-enable an account */
    OA_ACT_USER_ROLES,       /* change an account's roles or department */
    OA_ACT_USER_RESET_PW,    /* give an account a new one-time password */
    OA_ACT_USER_UNLOCK,      /* lift a lockout */
    OA_ACT_USER_CLEARANCE,   /* change clearance or compartments */
    OA_ACT_USER_REQUIRE_2FA, /* require a second factor */
    OA_ACT_ORG_MANAGE,       /* organs and departments */
    OA_ACT_CONFIG,           /* server configuration */
    OA_ACT_AUDIT_READ,       /* read or export the audit trail */
    OA_ACT_RELABEL,          /* lower or change a document's label (declassify) */
    OA_ACT_METRICS_READ,     /* read the server's metrics (GET /metrics) */
    /* #16 records: filing, corrections, holds and disposal lists (records officers); the catalogue and the
     * appraisal list (records officers and leaders); approving a disposal list (a leader, never its proposer:
     * what->user_id names the proposer). */
    OA_ACT_RECORDS_MANAGE,
    OA_ACT_RECORDS_READ,
    OA_ACT_DISPOSAL_APPROVE,
    OA_ACT__COUNT
};

/* The acting person, as the server knows them after authentication. */
struct oa_subject {
    int64_t id;
    unsigned roles;
    int clearance;
    bool declassifier; /* named by secadmin: may relabel documents they can read */
    bool held;         /* password reset by sysadmin, clearance not yet confirmed by secadmin */
};

/* What the action is aimed at; fields that do not apply stay zero. */
struct oa_object {
    int64_t user_id;       /* the account acted on, for user actions */
    unsigned user_roles;   /* that account's current roles */
};

enum oa_decision {
    OA_ALLOW = 0,
    OA_DENY_ROLE,   /* the subject's roles do not permit the action */
    OA_DENY_SELF,   /* nobody widens their own rights */
    OA_DENY_ADMIN,  /* an administrator account is beyond this actor's reach */
    OA_DENY_LABEL,  /* the document's label is above the person's clearance */
    OA_DENY_SCOPE,  /* the person is outside the document's need-to-know scope */
    OA_DENY_HELD,   /* the account's password was reset; secadmin has not confirmed its clearance */
    OA_DENY_CERT,   /* #17: the client certificate is not this account's */
};

/*
 * A document's label: its level and its need-to-know scope (知悉范围).  A
 * scope entry names a compartment that secadmin grants ("finance-audit"),
 * a department ("dept:7") or a person ("user:zhang.san"); an empty scope
 * means everyone cleared for the level.
 */
struct oa_label {
    int level;
    const char *const *scope;
    size_t nscope;
};

/* What a person brings to a label: compartments granted, department and name. */
struct oa_reader {
    const struct oa_subject *who;
    const char *username;
    int64_t department_id;
    const char *const *compartments;
    size_t ncompartments;
};

/*
 * May this person see this document?  Nobody reads above their clearance
 * (no read up) or outside the scope; the three administrators handle no
 * documents at all (三员分立); the gateway sees only 公开 with no scope.
 * Every path that touches a document asks this.
 */
enum oa_decision oa_access_read(const struct oa_reader *reader, const struct oa_label *label);

/* The level-only part of oa_access_read (lists use it to pre-filter). */
enum oa_decision oa_access_read_doc(const struct oa_subject *who, int level);

/*
 * May a document with `derived` be made from one labelled `source` (a reply,
 * copy or excerpt)?  Its level must be at least the source's and its scope
 * no wider (no write down).
 */
bool oa_label_dominates(const struct oa_label *derived, const struct oa_label *source);

/*
 * The label of a document derived from `source` (a reply, copy or excerpt):
 * the level `asked` for when has_level, else the source's; the scope asked
 * for when has_scope, else the source's.  Fills *out (its scope points into
 * `asked` or `source`) and returns whether it dominates the source: a
 * derived document is labelled at least as high, and scoped no wider, than
 * its source, and is refused otherwise.
 */
bool oa_label_derive(const struct oa_label *source, const struct oa_label *asked, bool has_level, bool has_scope,
                     struct oa_label *out);

/*
 * An edit of a document's label (PATCH, by whoever may edit the document):
 * raising the level or narrowing the scope is an edit; lowering the level
 * or widening the scope is a declassification step (secadmin's relabel
 * route); and nobody labels a document above their own clearance.  `cur` is
 * the label now (its scope is needed only with has_scope), `asked` what the
 * edit asks for (its level counts with has_level, its scope with
 * has_scope).  The checks run in that order; the first that fails answers.
 */
enum oa_label_edit {
    OA_LABEL_EDIT_OK,
    OA_LABEL_EDIT_LOWERS,          /* the level asked for is below the current one */
    OA_LABEL_EDIT_ABOVE_CLEARANCE, /* the level asked for is above the editor's clearance */
    OA_LABEL_EDIT_WIDENS,          /* the scope asked for is wider than the current one */
};
enum oa_label_edit oa_label_edit_check(const struct oa_subject *editor, const struct oa_label *cur,
                                       const struct oa_label *asked, bool has_level, bool has_scope);
/* A sentence for the person, for a refusal; NULL for OA_LABEL_EDIT_OK. */
const char *oa_label_edit_reason(enum oa_label_edit e);

/*
 * Delegation (代理): a person delegates approvals to another active person,
 * never to themselves; administrators and the gateway neither give nor hold
 * delegations.  `to_active` is false when the named account is missing or
 * disabled.
 */
enum oa_delegation {
    OA_DELEGATION_OK,
    OA_DELEGATION_NO_SUCH_USER, /* the delegate is not an active account */
    OA_DELEGATION_SELF,
    OA_DELEGATION_ROLE,         /* an administrator or the gateway on either side */
};
enum oa_delegation oa_delegation_check(int64_t from_id, unsigned from_roles, bool to_active, int64_t to_id,
                                       unsigned to_roles);

/* Who keeps the working-day calendar (holidays, make-up days): the secretariat. */
bool oa_calendar_may_change(unsigned roles);

/*
 * The sync cache policy: a client may keep a document's text on disk when
 * its level is at most the configured sync.cache_max_level.
 */
bool oa_sync_cacheable(int level, unsigned cache_max_level);

/*
 * May a document with this label leave through the exchange gateway?  Only
 * 公开 with no scope, and only after its secrecy review (保密审查) was
 * recorded (`reviewed`).
 */
bool oa_access_export(const struct oa_label *label, bool reviewed);

/*
 * The gateway's confinement: an account with the gateway role may use only
 * the routes marked for it (its session, its uploads, /v1/gateway/...), and
 * nobody else may use the gateway's own routes.  `gateway_route`: the route
 * is one of /v1/gateway/...; `gateway_allowed`: the route is open to the
 * gateway (those, plus its session and uploads).
 */
enum oa_decision oa_access_route(unsigned roles, bool gateway_route, bool gateway_allowed);

/*
 * Whether a public request's applicant's personal data (name, id number,
 * contact, organisation) is shown to this person: only to those handling the
 * request, the secretariat that registers it, its assignee and the leaders
 * who approve its steps; everyone else who may read the request sees it
 * redacted.
 */
bool oa_request_personal_visible(unsigned roles, bool is_assignee);

/*
 * 主动公开: the drafter of an issued document or the secretariat proposes
 * it for publication (review false); a leader reviews it (信息发布审核,
 * review true).
 */
bool oa_publication_may(unsigned roles, bool is_drafter, bool review);
/*
 * 主动公开's secrecy review (保密审查, #15): the secretariat or a leader,
 * and not the person who proposed the publication (a second pair of eyes).
 */
bool oa_publication_secrecy_may(unsigned roles, bool is_proposer);

/* The decision; pure and total. */
enum oa_decision oa_access_decide(const struct oa_subject *who, enum oa_action action,
                                  const struct oa_object *what);

/* A short reason for a refusal, for the audit trail and the error message. */
const char *oa_decision_reason(enum oa_decision d);

/*
 * #17, mutual TLS: may a session of `account` be used over a connection
 * whose client certificate names `cert_cn` (NULL: no certificate)?  When
 * certificates are mapped to accounts (`mapped`), only the certificate's own
 * account may: OA_ALLOW or OA_DENY_CERT.  Otherwise always OA_ALLOW.
 */
enum oa_decision oa_access_client_cert(bool mapped, const char *cert_cn, const char *account);

/*
 * An account as the documents it may see depend on it (oa_access_read, and
 * the to-do flag a synced record carries): its roles, clearance, whether it
 * is held after a password reset or disabled, its department and its
 * compartments (need not be sorted).
 */
struct oa_access_view {
    unsigned roles;
    int clearance;
    bool held, disabled;
    int64_t department_id; /* 0: none */
    const char *const *compartments;
    size_t ncompartments;
};

/*
 * Did the account's access widen from `before` to `after`: may it now see a
 * document (or have one in its to-do list) that it could not before?  True
 * when, `after` seeing anything at all (enabled, not held, not an
 * administrator), `before` saw nothing (disabled, held, an administrator),
 * or only what the gateway sees, or: the clearance is higher, a compartment
 * or a role was added, or the department is another one.  A narrowing
 * alone (clearance lowered, a compartment or role taken away) is not a
 * widening; a change that both narrows and widens is.  Being named a
 * declassifier changes no read (oa_access_read does not ask it).  The sync
 * feed sends the account's clients back to 0 after a widening (proto/SYNC.md).
 */
bool oa_access_widened(const struct oa_access_view *before, const struct oa_access_view *after);

#endif
