/*
 * workflow/docflow.h: the lifecycles of official documents, as data.
 *
 * Three kinds of document, each a table of (state, action) -> next state,
 * with who may act (roles, or a relationship to the document such as being
 * its drafter or a named countersigner) and a guard over facts about the
 * document.  The tables follow 党政机关公文处理工作条例 (2012) and
 * 政府信息公开条例 (2019); see ../shared/notes/domain.md.
 *
 * Every document keeps the definition version it started with
 * (def_version); oa_flow_step looks the table up by kind and version, so a
 * new definition never changes documents already in flight.  Each kind's
 * tables are one file (flow_outgoing.c, flow_incoming.c, flow_request.c),
 * listed once in flow_kinds.def; docflow.c is the engine.
 *
 * Pure: no I/O, no allocation.  The use case (app/doc_action.c) gathers
 * the facts, asks oa_flow_step, and applies the answer's effects, one
 * named function per effect.
 */
#ifndef OA_WORKFLOW_DOCFLOW_H
#define OA_WORKFLOW_DOCFLOW_H

#include <stdbool.h>
#include <stdint.h>

/* The kinds, from the list in flow_kinds.def. */
enum oa_doc_kind {
#define OA_FLOW_KIND(e, name, title) OA_KIND_##e,
#include "workflow/flow_kinds.def"
#undef OA_FLOW_KIND
    OA_KIND__COUNT
};

/*
 * The current definition version of a kind (new documents start under it);
 * each kind has its own, so a new version of one kind leaves the others be.
 * 0 for an unknown kind.
 */
int oa_flow_version(enum oa_doc_kind kind);

/* Relationships a person can have to a document (bits). */
enum oa_relation {
    OA_REL_DRAFTER = 1u << 0,       /* wrote it (or the drafter's delegate) */
    OA_REL_COUNTERSIGNER = 1u << 1, /* named to countersign, not yet acted */
    OA_REL_ASSIGNEE = 1u << 2,      /* the handler a public request is assigned to */
    OA_REL_LEAD_DEPT = 1u << 3,     /* member of the lead department handling it */
    OA_REL_READER = 1u << 4,        /* named to read it in circulation, not yet read */
};

/* Facts about the document that guards look at. */
struct oa_doc_facts {
    int countersign_pending;  /* named countersigners who have not acted */
    int countersign_named;    /* named in this round, or named by this action's params */
    bool has_opinion;         /* this action carries a written opinion */
    bool extended;            /* a public request's deadline was extended already */
    int extend_days;          /* the extension asked for */
    bool has_lead_dept;       /* params name the lead department */
    bool has_readers;         /* params name readers */
    bool has_prefix;          /* params name the number prefix */
    bool has_recipients;      /* params name departments to issue to */
    bool has_assignee;        /* params name a handler */
    bool reply_is_public_outgoing; /* params link a 公开 outgoing reply */
    bool has_target;          /* params name whom a chase is for */
    bool reply_form_ok;       /* params.form is a form of 第36条 with what it needs (reason, organ) */
    bool reply_is_outgoing;   /* params.reply_document_id names an outgoing document */
    bool reply_exportable;    /* ... that oa_access_export lets out (公开, no scope, secrecy review recorded) */
};

/* What the actor is, for this document. */
struct oa_doc_actor {
    unsigned roles;     /* workflow/access.h role bits */
    unsigned relations; /* enum oa_relation bits */
};

enum oa_flow_result {
    OA_FLOW_OK,
    OA_FLOW_UNKNOWN_ACTION, /* not an action of this kind at all */
    OA_FLOW_BAD_STATE,      /* the action is not allowed in this state (409) */
    OA_FLOW_NOT_ALLOWED,    /* this person may not take it (403) */
    OA_FLOW_GUARD,          /* a precondition does not hold (409, with a reason) */
    OA_FLOW_BAD_VERSION,    /* the document's definition version is unknown */
};

/* Side effects the use case performs when a transition is taken (app/doc_action.c). */
enum oa_flow_effect {
    OA_FX_NONE = 0,
    OA_FX_ALLOCATE_NUMBER = 1u << 0, /* allocate the document number */
    OA_FX_VOID_NUMBER = 1u << 1,     /* void the allocated number (recorded) */
    OA_FX_DISTRIBUTE = 1u << 2,      /* create incoming copies for recipients */
    OA_FX_NAME_COUNTERSIGNERS = 1u << 3, /* params.countersigners start a round */
    OA_FX_COUNTERSIGN_VOTE = 1u << 4,    /* record this countersigner's approval */
    OA_FX_SET_DUE_REQUEST = 1u << 5,     /* due = OA_REQUEST_DAYS working days after receipt (deadline.h) */
    OA_FX_EXTEND_DUE = 1u << 6,          /* due += extend_days working days */
    OA_FX_SET_ASSIGNEE = 1u << 7,
    OA_FX_SET_LEAD_DEPT = 1u << 8,
    OA_FX_CIRCULATE = 1u << 9,           /* add readers */
    OA_FX_READ_RECEIPT = 1u << 10,       /* this reader has read it */
    OA_FX_CHASE = 1u << 11,              /* record a chase for params.target */
    OA_FX_LINK_REPLY = 1u << 12,
    OA_FX_SET_SIGNER = 1u << 13,         /* the signer (签发人) is whoever signs */
    OA_FX_COUNTERSIGN_OBJECT = 1u << 14, /* record this countersigner's objection */
    OA_FX_END_ROUND = 1u << 15,          /* the countersign round ends: cancel who has not acted */
    /* A public request, version 2 (app/request.c): the clock and the gateway's outbox. */
    OA_FX_REGISTER_REQUEST = 1u << 16,   /* due from the receipt date on the clock; a receipt (回执) goes out */
    OA_FX_REFUSE_REQUEST = 1u << 17,     /* a refusal receipt (回退) with the opinion as its reason goes out */
    OA_FX_ASK_CORRECTION = 1u << 18,     /* 补正: once, within 7 working days of receipt; the clock stops */
    OA_FX_CONSULT = 1u << 19,            /* 第32条: the clock pauses from params.since (or today) */
    OA_FX_CONSULT_DONE = 1u << 20,       /* the pause ends; its working days do not count */
    OA_FX_EXTEND_CLOCK = 1u << 21,       /* the clock gets params.days more working days, once */
    OA_FX_SECRECY_REVIEW = 1u << 22,     /* 保密审查 recorded (a reply may leave only after it) */
    OA_FX_REPLY_REQUEST = 1u << 23,      /* the reply's form (第36条) recorded, linked, and put in the outbox */
};

struct oa_flow_answer {
    const char *next_state;  /* may equal the current state */
    unsigned effects;        /* enum oa_flow_effect bits */
    const char *reason;      /* for refusals: a sentence for the person */
    bool conflict;           /* OA_FLOW_GUARD: the guard fails on the document's own state (a request
                                already extended), not on what the request carries (409, not 400) */
    bool forbidden;          /* OA_FLOW_GUARD: what the action would send out may not leave (403) */
};

/*
 * Decides one action.  `state` and `action` are names ("countersign",
 * "approve").  Returns OA_FLOW_OK and fills `out`, or a refusal with
 * out->reason set.
 */
enum oa_flow_result oa_flow_step(enum oa_doc_kind kind, int def_version, const char *state, const char *action,
                                 const struct oa_doc_actor *actor, const struct oa_doc_facts *facts,
                                 struct oa_flow_answer *out);

/*
 * Whether someone with `roles` may create a document of this kind (under
 * the current definition): outgoing by staff, the secretariat, department
 * heads and leaders; incoming by the secretariat; public requests by the
 * exchange gateway and the secretariat.
 */
bool oa_flow_may_create(enum oa_doc_kind kind, unsigned roles);

/* The state a new document of this kind starts in. */
const char *oa_flow_initial(enum oa_doc_kind kind);
/* True when nothing more happens to a document in this state. */
bool oa_flow_terminal(enum oa_doc_kind kind, int def_version, const char *state);
/* True when `state` is a state of this kind. */
bool oa_flow_state_known(enum oa_doc_kind kind, int def_version, const char *state);

/*
 * Who is expected to act in a state: roles that may, and relationships that
 * may.  The server keeps each document's to-do queue from this.
 */
void oa_flow_expected(enum oa_doc_kind kind, int def_version, const char *state, unsigned *roles,
                      unsigned *relations);

/*
 * True when the role-wide to-do of `state` belongs to the department the
 * document is addressed to (its department_id), not to its whole organ:
 * an incoming copy is signed for and registered by the addressed
 * department's clerks.
 */
bool oa_flow_department_step(enum oa_doc_kind kind, int def_version, const char *state);

const char *oa_kind_name(enum oa_doc_kind k);
/* The kind's name in Chinese and English, for the generated reference ("发文, outgoing documents"). */
const char *oa_kind_title(enum oa_doc_kind k);
int oa_kind_parse(const char *s); /* -1 when unknown */

/* Table introspection, for table-driven tests. */
struct oa_flow_rule {
    const char *state;   /* "*" matches every non-terminal state */
    const char *action;
    const char *next;    /* NULL: stays in the same state */
    unsigned roles;      /* any of these roles may act ... */
    unsigned relations;  /* ... or anyone with one of these relationships */
    unsigned effects;
    int guard;           /* index into the guard table; 0 = none */
};
const struct oa_flow_rule *oa_flow_rules(enum oa_doc_kind kind, int def_version, int *count);
const char *const *oa_flow_states(enum oa_doc_kind kind, int def_version, int *count);

/*
 * What one rule of oa_flow_rules means, in names and sentences, for the
 * action reference generated from the tables (docs/gen_actions.c).  Fills
 * `out` with pointers to static strings; reads nothing but the rule.
 */
struct oa_flow_rule_info {
    const char *next[2];     /* where it leads: next[0], and next[1] when the facts choose between
                                two states (a branch); next[0] NULL: it stays in the same state */
    const char *branch;      /* for a branch: which fact chooses, a sentence; else NULL */
    unsigned effects;        /* enum oa_flow_effect bits, as oa_flow_step answers them */
    bool primary;            /* the forward action of its state: who may take it makes up that
                                state's to-do list (oa_flow_expected) */
    const char *guard;       /* the guard's refusal sentence (oa_flow_answer.reason); NULL: no guard */
    const char *guard_needs; /* what the request must carry for the guard to hold, comma-separated
                                ("opinion", "params.prefix", ...); NULL: no guard */
};
void oa_flow_rule_describe(const struct oa_flow_rule *r, struct oa_flow_rule_info *out);

#endif
