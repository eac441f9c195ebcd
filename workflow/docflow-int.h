/*
 * workflow/docflow-int.h: internal to the lifecycle tables (docflow.c and
 * the per-kind table files flow_outgoing.c, flow_incoming.c,
 * flow_request.c).  A kind's file defines its rules, states and versions
 * as one oa__flow_kind; docflow.c is the engine that reads them.  Nobody
 * else includes this header.
 */
#ifndef OA_WORKFLOW_DOCFLOW_INT_H
#define OA_WORKFLOW_DOCFLOW_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "workflow/access.h"
#include "workflow/docflow.h"

/* Role shorthands for the tables. */
#define ST OA_ROLE_STAFF
#define SEC OA_ROLE_SECRETARIAT
#define HEAD OA_ROLE_DEPT_HEAD
#define LEAD OA_ROLE_LEADER
#define REC OA_ROLE_RECORDS
#define GW OA_ROLE_GATEWAY
#define PEOPLE (ST | SEC | HEAD | LEAD | REC)

/* In a rule's `effects`: the forward action of its state, whose actors make up the to-do list. */
#define PRIMARY 0x80000000u

/* Guards: preconditions over struct oa_doc_facts (the sentences are in docflow.c). */
enum oa__flow_guard {
    G_NONE,
    G_OPINION,
    G_PREFIX,
    G_LEAD_DEPT,
    G_READERS,
    G_ASSIGNEE,
    G_REPLY,
    G_EXTEND,
    G_TARGET,
    G_REPLY_EXPORT,
    G__COUNT
};

/*
 * A branch: a rule whose next state depends on the facts.  The rule's
 * `next` points at the branch's `marker` (a control character no state
 * name starts with), so the rule alone leads to its branch.
 */
struct oa__flow_branch {
    char marker[2];                                /* "\x01": first member, so the rule's `next` is the branch */
    bool (*first)(const struct oa_doc_facts *x);   /* true: next[0], else next[1] */
    const char *next[2];
    unsigned effects[2];                           /* effects added with next[0] / next[1] */
    const char *sentence;                          /* which fact chooses, for the generated reference */
};
#define OA__FLOW_BRANCH_MARK '\x01'

/* One definition (version) of a kind. */
struct oa__flow {
    const struct oa_flow_rule *rules;
    int nrules;
    const char *const *states;
    int nstates;
    const char *initial;
    const char *const *terminal; /* NULL-terminated */
    unsigned creators;           /* roles that may create a document of this kind */
    const char *const *dept_states; /* NULL-terminated, or NULL: states whose role-wide to-do belongs to the
                                       department the copy is addressed to, not to the whole organ */
};

/* A kind: its definitions, version 1 first; the last is the current one. */
struct oa__flow_kind {
    const struct oa__flow *versions;
    int nversions;
};

#define OA__N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The tables, one file per kind (flow_<name>.c), listed in flow_kinds.def. */
#define OA_FLOW_KIND(e, name, title) extern const struct oa__flow_kind oa__flow_##name;
#include "workflow/flow_kinds.def"
#undef OA_FLOW_KIND

#endif
