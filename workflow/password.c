/* workflow/password.c: the password policy.  See password.h. */
#include "workflow/password.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/*
 * Passwords that security self-checks keep finding; any of these, in any
 * case, is refused.  Most are shorter than the minimum already; the list
 * catches the long ones and documents the intent.
 */
static const char *const common[] = {
    "123456789012", "1234567890123", "12345678901234", "123456789abc", "1234567890qwe",
    "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u", "q1w2e3r4t5y6",
    "qwertyuiop12", "qwertyuiop123", "qwertyuiopasdf", "qwerty123456", "asdfghjkl123",
    "zxcvbnm12345", "password1234", "password12345", "password123!", "passw0rd1234",
    "p@ssw0rd1234", "P@ssw0rd123!", "admin1234567", "admin@123456", "administrator",
    "administrator1", "administrator123", "admin123456789", "root12345678", "changeme1234",
    "welcome12345", "welcome@1234", "iloveyou1234", "woaini131452", "woaini1314520",
    "aa1234567890", "abc123456789", "abcd12345678", "abcdefghijkl", "abcdefg12345",
    "a123456789012", "111111111111", "000000000000", "123123123123", "112233445566",
    "147258369000", "147258369147", "159357159357", "5201314520131", "qazwsxedcrfv",
    "qazwsxedc123", "zaq12wsxcde3", "letmein12345", "trustno1trustno1", "sunshine1234",
    "football1234", "baseball1234", "superman1234", "dragon123456", "monkey123456",
    "master123456", "shadow123456", "computer1234", "internet1234", "secret123456",
    "test12345678", "testtest1234", "guest1234567", "oa1234567890", "oaadmin12345",
    "gov123456789", "zhengfu12345", "bangongshi123", "sysadmin1234", "secadmin1234",
    "auditor12345", "P@ssword1234", "Aa123456789!", "Aa1234567890", "Abc@12345678",
    "Admin@123456", "Qwer1234!@#$", "Huawei@12345", "Huawei12#$56",
};

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return false;
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return false;
}

const char *oa_password_check(const char *username, const char *password)
{
    size_t len = strlen(password);
    if (len < OA_PASSWORD_MIN)
        return "The password must be at least 12 characters long.";
    if (len > OA_PASSWORD_MAX)
        return "The password must be at most 256 characters long.";
    if (username != NULL && username[0] != '\0' && contains_nocase(password, username))
        return "The password must not contain the username.";
    bool all_same = true;
    for (size_t i = 1; i < len; i++)
        if (password[i] != password[0])
            all_same = false;
    if (all_same)
        return "The password must not repeat a single character.";
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (strcasecmp(password, common[i]) == 0)
            return "The password is on the list of commonly used passwords; choose another.";
    return NULL;
}
