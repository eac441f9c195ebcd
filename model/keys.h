/*
 * model/keys.h: the key file's keys in memory (storage/keys.h loads, saves
 * and rotates them; app/ and server/ hold them).
 */
#ifndef OA_MODEL_KEYS_H
#define OA_MODEL_KEYS_H

#include <stdbool.h>

#define OA_KEY_LEN 32
#define OA_KEY_LEVELS 5
#define OA_KEY_VERSIONS 16

struct oa_keys {
    int kek_version[OA_KEY_LEVELS];                         /* current version per level */
    unsigned char kek[OA_KEY_LEVELS][OA_KEY_VERSIONS][OA_KEY_LEN];
    unsigned char kek_present[OA_KEY_LEVELS][OA_KEY_VERSIONS];
    unsigned char kek_token[OA_KEY_LEVELS][OA_KEY_VERSIONS]; /* #17: the KEK is in the token, kek[][] unused */
    unsigned char audit_seed[OA_KEY_LEN];
    unsigned char db_key[OA_KEY_LEN];
    bool has_db_key;
    int db_suite;   /* enum oa_db_suite (storage/cryptvfs.h), the database pages' suite */
    bool unchecked; /* loaded from a file written before key files had a check line */
    bool sealed;    /* sealed with the process's passphrase (storage/keyseal.h): oa_keys_save seals it again */
};

#endif
