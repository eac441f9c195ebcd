/*
 * cmd/keys_cli.h: oad's commands on the key file (#17, keys off the data
 * disk): the passphrase of a sealed key file, asked once at start (a file, a
 * systemd credential, or typed without echo), and `oad keys
 * seal|unseal|passwd|rotate`.  The sealing itself is storage/keyseal.h.
 */
#ifndef OA_CMD_KEYS_CLI_H
#define OA_CMD_KEYS_CLI_H

#include <stdbool.h>

#include "server/config.h"

/* oad's exit status when the passphrase does not open the sealed key file. */
#define OA_EXIT_WRONG_PASSPHRASE 3

/*
 * When the key file exists and is sealed: reads its passphrase
 * (cfg->passphrase_file, else $CREDENTIALS_DIRECTORY/oad-passphrase, else
 * typed at the terminal) and opens the file once with it, so that every
 * later load in this process opens it.  Returns 0, or the exit status after
 * saying why on stderr: OA_EXIT_WRONG_PASSPHRASE for a wrong passphrase, 1
 * otherwise.  A plain or missing key file: 0, nothing asked.
 */
int oa_keys_cli_unlock(const struct oa_config *cfg);

/*
 * When keys.pkcs11_module is set: opens the token (keys.pkcs11_token) with
 * its PIN (keys.pkcs11_pin_file, else $CREDENTIALS_DIRECTORY/oad-pkcs11-pin),
 * so that KEKs kept there wrap and unwrap data keys, the key file's secrets
 * unwrap, and `oad keys rotate` generates new KEKs there.  Before
 * oa_keys_cli_unlock (whose trial load needs the token).  0, or 1 after
 * saying why.
 */
int oa_keys_cli_token_open(const struct oa_config *cfg);

/*
 * After the unlock: the key file loads, and the token holds every KEK it
 * names (a key file that names token KEKs without a token open is refused).
 * 0, or 1 after saying why.
 */
int oa_keys_cli_token_check(const struct oa_config *cfg);

/*
 * oad init's key file: plain, or sealed (`--seal`) with a new passphrase
 * from new_file (else cfg->passphrase_file, else typed twice).  0 or 1 after
 * saying why.
 */
int oa_keys_cli_create(const struct oa_config *cfg, bool seal, const char *new_file);

/*
 * Warns (oad's log) when the key file, or the passphrase file, is on the
 * data directory's filesystem: a copy of that disk would carry its own keys.
 * Names the files, never their content.
 */
void oa_keys_cli_placement(const struct oa_config *cfg);

/*
 * oad keys seal | unseal | passwd | rotate.  `new_file` holds the new
 * passphrase (seal, passwd; else it is typed twice); `level` rotate's
 * --level.  Returns the exit status: 0, 1, 2 (usage).
 */
int oa_keys_cli(const struct oa_config *cfg, const char *sub, const char *new_file, const char *level);

#endif
