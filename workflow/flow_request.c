/*
 * workflow/flow_request.c: the lifecycle of public information requests
 * (依申请公开): imported from the exchange gateway, registered (the reply is
 * due 20 working days after receipt, 政府信息公开条例 (2019)),
 * assigned to a handler, handled and replied to with a linked outgoing
 * document labelled 公开; a leader may extend the deadline once.  One table
 * per definition version; the engine is docflow.c (see docflow-int.h).
 */
#include "workflow/docflow-int.h"

static const struct oa_flow_rule request_v1[] = {
    {"imported", "register", "registered", SEC, 0, PRIMARY | OA_FX_SET_DUE_REQUEST, G_NONE},
    {"registered", "assign", "assigned", SEC, 0, PRIMARY | OA_FX_SET_ASSIGNEE, G_ASSIGNEE},
    {"assigned", "start", "handling", 0, OA_REL_ASSIGNEE, PRIMARY, G_NONE},
    {"handling", "reply", "replied", 0, OA_REL_ASSIGNEE, PRIMARY | OA_FX_LINK_REPLY, G_REPLY},
    {"registered", "extend", NULL, LEAD, 0, OA_FX_EXTEND_DUE, G_EXTEND},
    {"assigned", "extend", NULL, LEAD, 0, OA_FX_EXTEND_DUE, G_EXTEND},
    {"handling", "extend", NULL, LEAD, 0, OA_FX_EXTEND_DUE, G_EXTEND},
    {"replied", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const request_states[] = {
    "imported", "registered", "assigned", "handling", "replied", "archived",
};

static const char *const request_terminal[] = {"archived", NULL};

static const struct oa__flow request_flows[] = {
    {request_v1, OA__N(request_v1), request_states, OA__N(request_states), "imported", request_terminal, GW | SEC},
};

const struct oa__flow_kind oa__flow_request = {request_flows, OA__N(request_flows)};
