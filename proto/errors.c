/* proto/errors.c: the table behind proto/errors.h. */
#include "proto/errors.h"

static const struct {
    int status;
    const char *code;
    const char *message;
} table[] = {
#define X(name, status, code, msg) {status, code, msg},
    OA_ERRORS(X)
#undef X
};

int oa_err_status(enum oa_err e)
{
    return e < OA_E__COUNT ? table[e].status : 500;
}

const char *oa_err_code(enum oa_err e)
{
    return e < OA_E__COUNT ? table[e].code : "internal";
}

const char *oa_err_message(enum oa_err e)
{
    return e < OA_E__COUNT ? table[e].message : table[OA_E_INTERNAL].message;
}
