/*
 * app/blob_upkeep.h: the blob store's background work (blob_upkeep.c),
 * which the server runs in steps between the writer and the thread pool:
 * re-sealing a document's blobs after its label changed, rewrapping data
 * keys after a key rotation (and retiring the KEK versions nothing uses any
 * more), reading the key file again.
 */
#ifndef OA_APP_BLOB_UPKEEP_H
#define OA_APP_BLOB_UPKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/keys.h"

struct oa_store;

/*
 * Re-sealing, one blob at a time: a relabel changes the level a document's
 * blobs must be bound to (their associated data) and the KEK that wraps
 * their keys.  The label takes effect at once (every read is decided on
 * the document's label); the blobs catch up: read the old file, write a new
 * one sealed for the new level under a new data key, swap the row (only if
 * it still names the old file), then delete the old file.
 */
struct oa_app_reseal;

/* A new re-sealing pass from the first blob; NULL never (aborts on no memory).  Free with oa_app_reseal_free. */
struct oa_app_reseal *oa_app_reseal_new(void);
void oa_app_reseal_free(struct oa_app_reseal *x);
/* Writer: finds the next blob (after the last one tried) whose level is not its document's.  1, 0 none, -1. */
int oa_app_reseal_next(struct oa_store *s, struct oa_app_reseal *x);
/* Loop: its new data key and file, under keys and data_dir.  0, or -1 (logged; skip it). */
int oa_app_reseal_prepare(struct oa_app_reseal *x, const struct oa_keys *keys, const char *data_dir);
/* Thread pool: copies the old file into the new one, re-sealed.  0, or -1 with the cause kept. */
int oa_app_reseal_copy(struct oa_app_reseal *x);
/* Writer: swaps the row to the new file if it still names the old one, audited (blob.reseal).  1, 0 not, -1. */
int oa_app_reseal_swap(struct oa_store *s, struct oa_app_reseal *x);
/* Loop: removes the file that lost (the old one once swapped, else the new one) and moves past this blob. */
void oa_app_reseal_done(struct oa_app_reseal *x, bool swapped);
/* The blob being re-sealed, and why its copy failed, for the log. */
int64_t oa_app_reseal_blob(const struct oa_app_reseal *x);
const char *oa_app_reseal_cause(const struct oa_app_reseal *x);

/*
 * Rewrapping after a key rotation: every data key wrapped under an older
 * KEK version is rewrapped under the current one (the blob files stay as
 * they are), then the authenticator secrets (app/totp.c); a version that
 * nothing uses any more (no row, no upload in progress: busy) is retired
 * from the key file.
 */
struct oa_app_rewrap {
    const struct oa_keys *keys;                 /* the keys in use */
    const char *key_file;                       /* where a retirement is written */
    bool busy[OA_KEY_LEVELS][OA_KEY_VERSIONS];  /* versions uploads in progress still use */
    size_t done;                                /* keys rewrapped so far */
    bool more;                                  /* run again: there are more */
    struct oa_keys *retired;                    /* sodium_malloc'd keys without the retired versions, or NULL */
};
/* Writer: one batch; audited (keys.rewrap) when it changed something.  0 or OA_E_STORAGE. */
int oa_app_rewrap_step(struct oa_store *s, struct oa_app_rewrap *x);

/*
 * Reads the key file again (after `oad keys rotate`): sodium_malloc'd keys
 * (the caller owns them), or NULL with the cause (also when they name KEKs
 * in a PKCS#11 token this process has not opened).
 */
struct oa_keys *oa_app_keys_reload(const char *key_file, char *cause, size_t cap);

#endif
