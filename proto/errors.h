/*
 * proto/errors.h: the stable error codes of the oa API.
 *
 * Every error a client sees is {code, message}: `code` is one of the strings
 * below and never changes meaning; `message` is a sentence for a person.  The
 * HTTP status that goes with each code lives here too, so that the server and
 * the clients agree on it.
 */
#ifndef OA_PROTO_ERRORS_H
#define OA_PROTO_ERRORS_H

#define OA_ERRORS(X)                                                          \
    X(OK,                   200, "ok",                     "OK")                                   \
    X(BAD_REQUEST,          400, "bad_request",            "The request is malformed.")            \
    X(BAD_BODY,             400, "bad_body",               "The request body could not be decoded.") \
    X(BAD_FIELD,            400, "bad_field",              "A field is missing or has the wrong type.") \
    X(UNAUTHENTICATED,      401, "unauthenticated",        "Log in first: the request has no valid session token.") \
    X(BAD_CREDENTIALS,      401, "bad_credentials",        "The username or password is wrong, or the account is locked.") \
    X(PASSWORD_CHANGE_REQUIRED, 403, "password_change_required", "Change your one-time password before doing anything else.") \
    X(TOTP_ENROLLMENT_REQUIRED, 403, "totp_enrollment_required", "Set up your authenticator (POST /v1/users/me/totp) before doing anything else.") \
    X(SECOND_FACTOR_REQUIRED, 403, "second_factor_required", "This change needs a current code from your authenticator in the X-OA-OTP header.") \
    X(FORBIDDEN,            403, "forbidden",              "You are not allowed to do this.")      \
    X(NOT_FOUND,            404, "not_found",              "No such resource.")                    \
    X(METHOD_NOT_ALLOWED,   405, "method_not_allowed",     "This resource does not support that method.") \
    X(NOT_ACCEPTABLE,       406, "not_acceptable",         "Ask for application/cbor or application/json.") \
    X(TIMEOUT,              408, "timeout",                "The request took too long to arrive.") \
    X(CONFLICT,             409, "conflict",               "The resource's state does not allow this.") \
    X(LENGTH_REQUIRED,      411, "length_required",        "Send a Content-Length or a chunked body.") \
    X(PRECONDITION_FAILED,  412, "precondition_failed",    "The resource changed since you read it: fetch it again.") \
    X(BODY_TOO_LARGE,       413, "body_too_large",         "The request body is larger than this route accepts.") \
    X(UNSUPPORTED_MEDIA,    415, "unsupported_media_type", "Send the body as application/cbor or application/json.") \
    X(PRECONDITION_REQUIRED,428, "precondition_required",  "Send If-Match with the ETag you read.") \
    X(RATE_LIMITED,         429, "rate_limited",           "Too many attempts: wait and try again.") \
    X(HEADERS_TOO_LARGE,    431, "headers_too_large",      "The request headers are too large.")   \
    X(RANGE_NOT_SATISFIABLE,416, "range_not_satisfiable",  "The range lies outside the file.") \
    X(OFFSET_MISMATCH,      409, "offset_mismatch",        "The upload is at another offset: ask for it and continue from there.") \
    X(REPLAYED,             409, "replayed",               "This sender's sequence number was used by another bundle: the bundle is a replay and was not imported.") \
    X(OUT_OF_SEQUENCE,      409, "out_of_sequence",        "This bundle's sequence number is not the next of its sender: hold it and send the missing ones first.") \
    X(GONE,                 410, "gone",                   "This file was destroyed and cannot be read any more.") \
    X(CURSOR_TOO_OLD,       410, "cursor_too_old",         "Your sync cursor is too old: start again from 0 (a full resync).") \
    X(UNSUPPORTED_VERSION,  400, "unsupported_version",    "This protocol version is not supported; update the client.") \
    X(BLOB_DAMAGED,         500, "blob_damaged",           "The stored file is damaged or not this document's; nothing was sent. An administrator can run oad fsck.") \
    X(INTERNAL,             500, "internal",               "The server failed; the event is logged with this request's id.") \
    X(UNAVAILABLE,          503, "unavailable",            "The server is busy or shutting down; try again.") \
    X(STORAGE,              503, "storage",                "The database could not complete the request; try again.") \
    X(STORAGE_CORRUPT,      500, "storage_corrupt",        "The database is damaged: this will not pass by trying again. An administrator must stop oad and restore the database from backup (oad fsck names the damage).") \
    X(NO_SPACE,             507, "no_space",               "The server's disk is full: nothing can be saved (a change, an upload, a login, or the audit record a classified read needs) until an administrator frees space; reading still works.") \
    /* #16 records: filing, immutability, retention and disposal */ \
    X(RECORD_FILED,         409, "record_filed",           "This document is a filed record: it no longer changes (its metadata only by a correction with a reason).") \
    X(FONDS_UNSET,          409, "fonds_unset",            "The document's organ has no fonds code (全宗号): a records officer sets it first (PUT /v1/organs/{id}/fonds).") \
    X(REASON_REQUIRED,      400, "reason_required",        "Give a reason for this.") \
    X(RETENTION_UNSET,      409, "retention_unset",        "No rule of the organ's retention schedule matches this document: give its retention (Y, D30 or D10).") \
    X(RECORD_CHECK_FAILED,  422, "record_check_failed",    "The record failed the check at filing and was not filed.") \
    X(RECORD_NOT_DUE,       409, "record_not_due",         "The record's retention has not ended (and a permanent record is never disposed of).") \
    X(RECORD_HELD,          409, "record_held",            "The record is under legal hold (冻结): it cannot be disposed of until the hold is lifted.") \
    /* #16 archival packages (branch aip) */ \
    X(AIP_RECIPIENT_MISSING, 409, "aip_recipient_missing", "A package of a 秘密 or higher record leaves only in its envelope: the administrator configures records.recipient_cert (the archive's certificate) first.") \
    X(AIP_UNPACKABLE,       422, "aip_unpackable",         "The record could not be packaged (a file does not decrypt, or the package is too large).") \
    /* #17, keys off the data disk: a document's label no longer matches its MAC */ \
    X(LABEL_TAMPERED,       500, "label_tampered",         "This document's security label was changed outside oad (its integrity check failed); nothing was sent. The event is audited: a security administrator must restore the database from backup.") \
    /* #15, the exchange gateway finished (branch gwf) */ \
    X(CORRECTION_REFUSED,   409, "correction_refused",     "This correction (补正) was not taken: its request is unknown, closed or not awaiting a correction. Nothing changed; the refusal is recorded.")

enum oa_err {
#define X(name, status, code, msg) OA_E_##name,
    OA_ERRORS(X)
#undef X
    OA_E__COUNT
};

/* The HTTP status, machine code and default sentence of an error. */
int oa_err_status(enum oa_err e);
const char *oa_err_code(enum oa_err e);
const char *oa_err_message(enum oa_err e);

#endif
