/*
 * workflow/flow_incoming.c: the lifecycle of incoming documents (收文):
 * signing for (签收), registering (登记), the first check (初审), the
 * proposal (拟办), a leader's instruction (批办), handling by the lead
 * department (承办) and archiving, with circulation (传阅) and chases (催办)
 * at any live step, per 党政机关公文处理工作条例 (2012).  One table per
 * definition version; the engine is docflow.c (see docflow-int.h).
 */
#include "workflow/docflow-int.h"

static const struct oa_flow_rule incoming_v1[] = {
    {"receiving", "sign_for", "registering", SEC, 0, PRIMARY, G_NONE},
    {"registering", "register", "first_check", SEC, 0, PRIMARY, G_NONE},
    {"first_check", "accept", "proposing", SEC, 0, PRIMARY, G_NONE},
    {"first_check", "send_back", "returned", SEC, 0, OA_FX_NONE, G_OPINION},
    {"proposing", "propose", "instructing", SEC | HEAD, 0, PRIMARY, G_OPINION},
    {"instructing", "instruct", "handling", LEAD, 0, PRIMARY | OA_FX_SET_LEAD_DEPT, G_LEAD_DEPT},
    {"handling", "complete", "completed", 0, OA_REL_LEAD_DEPT, PRIMARY, G_NONE},
    {"completed", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"*", "circulate", NULL, SEC | LEAD, 0, OA_FX_CIRCULATE, G_READERS},
    {"*", "read", NULL, 0, OA_REL_READER, OA_FX_READ_RECEIPT, G_NONE},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const incoming_states[] = {
    "receiving", "registering", "first_check", "proposing", "instructing", "handling", "completed", "archived",
    "returned",
};

static const char *const incoming_terminal[] = {"archived", "returned", NULL};

/* An incoming copy addressed to a department is signed for and registered by that department's clerks
 * (第24条); later steps (the leader's instruction, records) stay organ-wide. */
static const char *const incoming_dept_states[] = {"receiving", "registering", NULL};

static const struct oa__flow incoming_flows[] = {
    {incoming_v1, OA__N(incoming_v1), incoming_states, OA__N(incoming_states), "receiving", incoming_terminal, SEC,
     incoming_dept_states},
};

const struct oa__flow_kind oa__flow_incoming = {incoming_flows, OA__N(incoming_flows)};
