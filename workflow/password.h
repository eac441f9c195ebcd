/*
 * workflow/password.h: the password policy (pure).
 *
 * At least OA_PASSWORD_MIN characters (bytes of UTF-8), at most
 * OA_PASSWORD_MAX; not the username, nor containing it; not one of the
 * commonly used passwords shipped in password.c (compared without case);
 * not a single repeated character.
 */
#ifndef OA_WORKFLOW_PASSWORD_H
#define OA_WORKFLOW_PASSWORD_H

#define OA_PASSWORD_MIN 12
#define OA_PASSWORD_MAX 256

/* NULL when the password is acceptable, else a sentence saying why not. */
const char *oa_password_check(const char *username, const char *password);

#endif
