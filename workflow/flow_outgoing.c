/*
 * workflow/flow_outgoing.c: the lifecycle of outgoing documents (发文):
 * drafting, review by the secretariat (核稿), countersigning (会签),
 * sign-off by a leader (签发), registration with a number (登记、编号) and
 * issue (印发), per 党政机关公文处理工作条例 (2012).  One table per definition
 * version; the engine is docflow.c (see docflow-int.h).
 */
#include "workflow/docflow-int.h"

static bool countersigners_named(const struct oa_doc_facts *x)
{
    return x->countersign_named > 0;
}

static bool last_countersigner(const struct oa_doc_facts *x)
{
    return x->countersign_pending <= 1;
}

/* After review: countersigning when countersigners are named, else straight to sign-off. */
static const struct oa__flow_branch after_review = {
    {OA__FLOW_BRANCH_MARK, 0}, countersigners_named, {"countersign", "signoff"}, {0, 0},
    "countersign when countersigners are named (facts.countersign_named > 0), else signoff.",
};

/* A countersigner's approval: the last one moves the document on and closes the round. */
static const struct oa__flow_branch after_vote = {
    {OA__FLOW_BRANCH_MARK, 0}, last_countersigner, {"signoff", "countersign"}, {OA_FX_END_ROUND, 0},
    "signoff when this is the last pending countersigner (facts.countersign_pending <= 1), else it stays in "
    "countersign.",
};

static const struct oa_flow_rule outgoing_v1[] = {
    {"draft", "submit", "review", 0, OA_REL_DRAFTER, PRIMARY | OA_FX_NAME_COUNTERSIGNERS, G_NONE},
    {"draft", "edit", NULL, 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"draft", "cancel", "cancelled", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"review", "approve", after_review.marker, SEC, 0, PRIMARY | OA_FX_NAME_COUNTERSIGNERS, G_NONE},
    {"review", "return", "draft", SEC, 0, OA_FX_NONE, G_OPINION},
    {"review", "withdraw", "draft", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    {"countersign", "approve", after_vote.marker, 0, OA_REL_COUNTERSIGNER, PRIMARY | OA_FX_COUNTERSIGN_VOTE, G_NONE},
    {"countersign", "object", "draft", 0, OA_REL_COUNTERSIGNER, OA_FX_COUNTERSIGN_OBJECT | OA_FX_END_ROUND,
     G_OPINION},
    {"countersign", "return", "draft", SEC, 0, OA_FX_END_ROUND, G_OPINION},
    {"countersign", "withdraw", "draft", 0, OA_REL_DRAFTER, OA_FX_END_ROUND, G_NONE},
    {"signoff", "sign", "register", LEAD, 0, PRIMARY | OA_FX_SET_SIGNER, G_NONE},
    {"signoff", "return", "draft", LEAD, 0, OA_FX_NONE, G_OPINION},
    {"signoff", "withdraw", "draft", 0, OA_REL_DRAFTER, OA_FX_NONE, G_NONE},
    /* A substantive change after sign-off goes back to the signer (复核). */
    {"register", "edit", "signoff", SEC, 0, OA_FX_NONE, G_OPINION},
    {"register", "register", "issue", SEC, 0, PRIMARY | OA_FX_ALLOCATE_NUMBER, G_PREFIX},
    {"issue", "edit", "signoff", SEC, 0, OA_FX_VOID_NUMBER, G_OPINION},
    {"issue", "void_number", "register", SEC, 0, OA_FX_VOID_NUMBER, G_OPINION},
    {"issue", "issue", "issued", SEC, 0, PRIMARY | OA_FX_DISTRIBUTE, G_NONE},
    {"issued", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"issued", "revoke", "revoked", LEAD, 0, OA_FX_NONE, G_OPINION},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const outgoing_states[] = {
    "draft", "review", "countersign", "signoff", "register", "issue", "issued", "archived", "revoked", "cancelled",
};

static const char *const outgoing_terminal[] = {"archived", "revoked", "cancelled", NULL};

static const struct oa__flow outgoing_flows[] = {
    {outgoing_v1, OA__N(outgoing_v1), outgoing_states, OA__N(outgoing_states), "draft", outgoing_terminal,
     ST | SEC | HEAD | LEAD, NULL},
};

const struct oa__flow_kind oa__flow_outgoing = {outgoing_flows, OA__N(outgoing_flows)};
