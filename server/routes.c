/*
 * server/routes.c: the route table.  Everything the API offers is listed
 * here, with its body limit and whether it needs a session.
 */
#include "server/auth.h"
#include "server/handlers.h"
#include "server/server.h"

#define BODY OA_ROUTE_BODY
#define AUTH OA_ROUTE_AUTH
#define EARLY OA_ROUTE_BEFORE_PWCHANGE
#define STREAM OA_ROUTE_STREAM
#define CBOR OA_ROUTE_CBOR
#define GW OA_ROUTE_GATEWAY

const struct oa_route oa_routes[] = {
    {"GET", "/healthz", h_healthz, 0, 0, "healthz"},
    {"GET", "/metrics", h_metrics, OA_ROUTE_TEXT, 0, "metrics"},
    {"POST", "/v1/hello", h_hello, BODY, 64 * 1024, "hello"},

    {"POST", "/v1/sessions", h_login, BODY, 16 * 1024, "login"},
    {"GET", "/v1/sessions", h_sessions_list, AUTH | GW | EARLY, 0, "sessions.list"},
    {"DELETE", "/v1/sessions/current", h_logout, AUTH | GW | EARLY, 0, "logout"},
    {"DELETE", "/v1/sessions/{}", h_session_delete, AUTH | GW | EARLY, 0, "session.end"},

    {"GET", "/v1/users/me", h_me, AUTH | GW | EARLY, 0, "me"},
    {"POST", "/v1/users/me/password", h_me_password, BODY | AUTH | GW | EARLY, 16 * 1024, "me.password"},
    {"POST", "/v1/users/me/totp", h_me_totp_enroll, AUTH | EARLY, 0, "me.totp"},
    {"POST", "/v1/users/me/totp/confirm", h_me_totp_confirm, BODY | AUTH | EARLY, 1024, "me.totp.confirm"},

    {"GET", "/v1/organs", h_org_list, AUTH, 0, "organs.list"},
    {"POST", "/v1/organs", h_organ_create, BODY | AUTH, 16 * 1024, "organs.create"},
    {"POST", "/v1/departments", h_department_create, BODY | AUTH, 16 * 1024, "departments.create"},

    {"GET", "/v1/documents", h_doc_list, AUTH, 0, "documents.list"},
    {"POST", "/v1/documents", h_doc_create, BODY | AUTH, 2 * 1024 * 1024, "documents.create"},
    {"GET", "/v1/documents/{}", h_doc_get, AUTH, 0, "documents.get"},
    {"PATCH", "/v1/documents/{}", h_doc_edit, BODY | AUTH, 2 * 1024 * 1024, "documents.edit"},
    {"POST", "/v1/documents/{}/actions", h_doc_action, BODY | AUTH, 64 * 1024, "documents.action"},
    {"GET", "/v1/documents/{}/history", h_doc_history, AUTH, 0, "documents.history"},
    {"GET", "/v1/documents/{}/revisions/{}", h_doc_revision, AUTH, 0, "documents.revision"},
    {"POST", "/v1/documents/{}/label", h_doc_relabel, BODY | AUTH, 16 * 1024, "documents.label"},
    {"GET", "/v1/documents/{}/attachments", h_attachments_list, AUTH, 0, "attachments.list"},
    {"POST", "/v1/documents/{}/attachments", h_attachment_create, STREAM | AUTH, 0, "attachments.create"},
    {"GET", "/v1/documents/{}/attachments/{}", h_attachment_get, AUTH, 0, "attachments.get"},
    {"PUT", "/v1/documents/{}/attachments/{}", h_attachment_replace, STREAM | AUTH, 0, "attachments.replace"},
    {"POST", "/v1/uploads", h_upload_create, BODY | AUTH | GW, 4096, "uploads.create"},
    {"GET", "/v1/uploads/{}", h_upload_get, AUTH | GW, 0, "uploads.get"},
    {"PATCH", "/v1/uploads/{}", h_upload_patch, STREAM | AUTH | GW, 0, "uploads.patch"},
    {"DELETE", "/v1/uploads/{}", h_upload_delete, AUTH | GW, 0, "uploads.delete"},
    {"GET", "/v1/sync/changes", h_sync_changes, AUTH | CBOR, 0, "sync.changes"},
    {"POST", "/v1/sync/push", h_sync_push, BODY | AUTH | CBOR, 8 * 1024 * 1024, "sync.push"},
    {"GET", "/v1/labels/expired", h_labels_expired, AUTH, 0, "labels.expired"},
    {"POST", "/v1/documents/{}/publication", h_publication_propose, BODY | AUTH, 16 * 1024, "publication.propose"},
    {"POST", "/v1/documents/{}/publication/review", h_publication_review, BODY | AUTH, 16 * 1024,
     "publication.review"},
    {"POST", "/v1/documents/{}/publication/secrecy_review", h_publication_secrecy_review, BODY | AUTH, 16 * 1024,
     "publication.secrecy_review"},

    {"POST", "/v1/gateway/bundles", h_gw_import, BODY | AUTH | GW, 1024 * 1024, "gateway.import"},
    {"POST", "/v1/gateway/quarantine", h_gw_quarantine, BODY | AUTH | GW, 16 * 1024, "gateway.quarantine"},
    {"GET", "/v1/gateway/outbox", h_gw_outbox, AUTH | GW, 0, "gateway.outbox"},
    {"GET", "/v1/gateway/outbox/{}/files/{}", h_gw_outbox_file, AUTH | GW, 0, "gateway.outbox.file"},
    {"POST", "/v1/gateway/outbox/{}/sent", h_gw_outbox_sent, BODY | AUTH | GW, 4096, "gateway.outbox.sent"},

    {"GET", "/v1/delegations", h_delegation_list, AUTH, 0, "delegations.list"},
    {"POST", "/v1/delegations", h_delegation_create, BODY | AUTH, 4096, "delegations.create"},
    {"DELETE", "/v1/delegations/{}", h_delegation_end, AUTH, 0, "delegations.end"},
    {"GET", "/v1/calendar", h_calendar_list, AUTH, 0, "calendar.list"},
    {"PUT", "/v1/calendar/{}", h_calendar_put, BODY | AUTH, 4096, "calendar.put"},
    {"DELETE", "/v1/calendar/{}", h_calendar_delete, AUTH, 0, "calendar.delete"},
    {"GET", "/v1/chases", h_chases_list, AUTH, 0, "chases.list"},

    {"GET", "/v1/audit/entries", h_audit_entries, AUTH, 0, "audit.entries"},
    {"GET", "/v1/audit/checkpoint", h_audit_checkpoint, AUTH, 0, "audit.checkpoint"},
    {"GET", "/v1/audit/proof/inclusion", h_audit_inclusion, AUTH, 0, "audit.inclusion"},
    {"GET", "/v1/audit/proof/consistency", h_audit_consistency, AUTH, 0, "audit.consistency"},
    {"GET", "/v1/audit/export", h_audit_export, AUTH, 0, "audit.export"},
    {"GET", "/v1/audit/report", h_audit_report, AUTH, 0, "audit.report"},

    {"GET", "/v1/users", h_users_list, AUTH, 0, "users.list"},
    {"POST", "/v1/users", h_user_create, BODY | AUTH, 64 * 1024, "users.create"},
    {"GET", "/v1/users/{}", h_user_get, AUTH, 0, "users.get"},
    {"PATCH", "/v1/users/{}", h_user_patch, BODY | AUTH, 64 * 1024, "users.patch"},
    {"POST", "/v1/users/{}/password-reset", h_user_reset_password, AUTH, 0, "users.reset"},
    {"POST", "/v1/users/{}/unlock", h_user_unlock, AUTH, 0, "users.unlock"},
    {"PUT", "/v1/users/{}/clearance", h_user_clearance, BODY | AUTH, 64 * 1024, "users.clearance"},
    {"PUT", "/v1/users/{}/totp", h_user_totp, BODY | AUTH, 1024, "users.totp"},

    /* #16 records: the literal paths before /v1/records/{} */
    {"PUT", "/v1/organs/{}/fonds", h_organ_fonds, BODY | AUTH, 4096, "organs.fonds"},
    {"GET", "/v1/records/schedule", h_records_schedule_list, AUTH, 0, "records.schedule"},
    {"PUT", "/v1/records/schedule", h_records_schedule_put, BODY | AUTH, 4096, "records.schedule.put"},
    {"GET", "/v1/records/appraisal", h_records_appraisal, AUTH, 0, "records.appraisal"},
    {"GET", "/v1/records/declassification", h_records_declassification, AUTH, 0, "records.declassification"},
    {"GET", "/v1/records", h_records_catalogue, AUTH, 0, "records.catalogue"},
    {"POST", "/v1/records", h_record_file, BODY | AUTH, 16 * 1024, "records.file"},
    {"GET", "/v1/records/{}", h_record_get, AUTH, 0, "records.get"},
    {"POST", "/v1/records/{}/corrections", h_record_correct, BODY | AUTH, 16 * 1024, "records.correct"},
    {"PUT", "/v1/records/{}/hold", h_record_hold, BODY | AUTH, 16 * 1024, "records.hold"},
    /* #16 archival packages */
    {"GET", "/v1/records/{}/package", h_record_package, AUTH, 0, "records.package"},
    {"POST", "/v1/records/{}/check", h_record_check, AUTH, 0, "records.check"},
    {"POST", "/v1/transfers", h_transfer_create, BODY | AUTH, 256 * 1024, "transfers.create"},
    {"GET", "/v1/transfers/{}", h_transfer_get, AUTH, 0, "transfers.get"},
    {"GET", "/v1/transfers/{}/package", h_transfer_package, AUTH, 0, "transfers.package"},
    {"POST", "/v1/transfers/{}/receipt", h_transfer_receipt, BODY | AUTH, 80 * 1024, "transfers.receipt"},
    {"GET", "/v1/disposals", h_disposals_list, AUTH, 0, "disposals.list"},
    {"POST", "/v1/disposals", h_disposal_propose, BODY | AUTH, 64 * 1024, "disposals.propose"},
    {"POST", "/v1/disposals/{}/decision", h_disposal_decide, BODY | AUTH, 16 * 1024, "disposals.decide"},
};

const int oa_nroutes = (int)(sizeof(oa_routes) / sizeof(oa_routes[0]));
