/*
 * app/request.h: the effects of a public request's lifecycle (依申请公开,
 * definition version 2 of workflow/flow_request): registration with the
 * clock and the receipt (回执) or refusal (回退) that goes out through the
 * gateway, the correction (补正), the third-party consultation (第32条),
 * the extension, the secrecy review (保密审查) and the reply in a form of
 * 第36条.  One function per effect; each runs on the writer thread inside
 * the action's transaction and reads the request's row (storage/gateway.h).
 */
#ifndef OA_APP_REQUEST_H
#define OA_APP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "app/doc_read.h"
#include "model/account.h"
#include "model/document.h"
#include "proto/value.h"

/* One effect's inputs and outputs. */
struct oa_request_fx {
    struct oa_store *s;
    const struct oa_app_actor *by;
    const struct oa_user *actor;  /* who acts (the effective person) */
    struct oa_doc *d;             /* the request; the caller saves it after the effects */
    const cbor_item_t *params;    /* the action's params (a map or NULL) */
    const char *opinion;
    int extend_days;              /* the extension asked for (facts) */
    int64_t reply_id;             /* the reply document (facts) */
    char *detail;                 /* the step's detail, cap bytes */
    size_t cap;
    const char *message;          /* a refusal's sentence */
};

/*
 * Each returns 0, or an OA_E_* code to roll the action back (message set
 * for a refusal: OA_E_CONFLICT when the clock does not allow the event now,
 * OA_E_BAD_FIELD for a bad param; OA_E_STORAGE).
 */
int oa_request_fx_register(struct oa_request_fx *c);
int oa_request_fx_refuse(struct oa_request_fx *c);
int oa_request_fx_ask_correction(struct oa_request_fx *c);
int oa_request_fx_consult(struct oa_request_fx *c);
int oa_request_fx_consult_done(struct oa_request_fx *c);
int oa_request_fx_extend(struct oa_request_fx *c);
int oa_request_fx_secrecy_review(struct oa_request_fx *c);
int oa_request_fx_reply(struct oa_request_fx *c);

/*
 * The facts the version-2 reply guard needs, from the action's params and
 * the reply document: the form is complete (第36条), the reply is an
 * outgoing document, and it may leave through the gateway
 * (oa_access_export: 公开, no scope, the request's secrecy review recorded).
 * 0 or -1.
 */
int oa_request_reply_facts(struct oa_store *s, const struct oa_doc *req, const cbor_item_t *params,
                           int64_t reply_id, bool *form_ok, bool *is_outgoing, bool *exportable);

#endif
