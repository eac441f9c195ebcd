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

/*
 * Version 2 (#15): the request comes in through the exchange gateway with
 * its receipt date (第31条).  Registering sends a receipt (回执), refusing a
 * 回退 with the reason; a correction (补正, 第30条) stops the clock until the
 * corrected application arrives (the gateway's import moves it back); a
 * third-party consultation (第32条) pauses it; a leader extends it once
 * (第33条); the secrecy review (保密审查) is recorded before the reply, which
 * takes a form of 第36条 and leaves through the gateway only when
 * oa_access_export allows it (else 403).  The clock is
 * workflow/deadline.c's; the effects are app/request.c's.
 */
static const struct oa_flow_rule request_v2[] = {
    {"imported", "register", "registered", SEC, 0, PRIMARY | OA_FX_REGISTER_REQUEST, G_NONE},
    {"imported", "refuse", "refused", SEC, 0, OA_FX_REFUSE_REQUEST, G_OPINION},
    {"registered", "assign", "assigned", SEC, 0, PRIMARY | OA_FX_SET_ASSIGNEE, G_ASSIGNEE},
    {"assigned", "start", "handling", 0, OA_REL_ASSIGNEE, PRIMARY, G_NONE},
    {"registered", "request_correction", "correcting", SEC, 0, OA_FX_ASK_CORRECTION, G_OPINION},
    {"assigned", "request_correction", "correcting", SEC, OA_REL_ASSIGNEE, OA_FX_ASK_CORRECTION, G_OPINION},
    {"handling", "request_correction", "correcting", SEC, OA_REL_ASSIGNEE, OA_FX_ASK_CORRECTION, G_OPINION},
    {"correcting", "close", "withdrawn", SEC, 0, OA_FX_NONE, G_OPINION},
    {"handling", "consult", "consulting", 0, OA_REL_ASSIGNEE, OA_FX_CONSULT, G_OPINION},
    {"consulting", "consult_done", "handling", 0, OA_REL_ASSIGNEE, PRIMARY | OA_FX_CONSULT_DONE, G_NONE},
    {"registered", "extend", NULL, LEAD, 0, OA_FX_EXTEND_CLOCK, G_EXTEND},
    {"assigned", "extend", NULL, LEAD, 0, OA_FX_EXTEND_CLOCK, G_EXTEND},
    {"handling", "extend", NULL, LEAD, 0, OA_FX_EXTEND_CLOCK, G_EXTEND},
    {"consulting", "extend", NULL, LEAD, 0, OA_FX_EXTEND_CLOCK, G_EXTEND},
    {"handling", "secrecy_review", NULL, SEC | LEAD, 0, OA_FX_SECRECY_REVIEW, G_OPINION},
    {"handling", "reply", "replied", 0, OA_REL_ASSIGNEE, PRIMARY | OA_FX_REPLY_REQUEST, G_REPLY_EXPORT},
    {"replied", "archive", "archived", REC, 0, PRIMARY, G_NONE},
    {"*", "chase", NULL, SEC | LEAD, 0, OA_FX_CHASE, G_TARGET},
    {"*", "comment", NULL, PEOPLE, 0, OA_FX_NONE, G_OPINION},
};

static const char *const request_states_v2[] = {
    "imported", "registered", "assigned", "handling", "correcting", "consulting",
    "replied", "refused", "withdrawn", "archived",
};

static const char *const request_terminal_v2[] = {"archived", "refused", "withdrawn", NULL};

static const struct oa__flow request_flows[] = {
    {request_v1, OA__N(request_v1), request_states, OA__N(request_states), "imported", request_terminal, GW | SEC,
     NULL},
    {request_v2, OA__N(request_v2), request_states_v2, OA__N(request_states_v2), "imported", request_terminal_v2,
     GW | SEC, NULL},
};

const struct oa__flow_kind oa__flow_request = {request_flows, OA__N(request_flows)};
