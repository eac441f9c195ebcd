/*
 * app/disposal.h: retention's end (鉴定与处置), the use cases (disposal.c).
 * A records officer proposes a disposal list (销毁清册) of filed records past
 * their retention; a leader other than the proposer approves or refuses it
 * (workflow/access.c OA_ACT_DISPOSAL_APPROVE).  Approval disposes of each
 * record: its files are crypto-shredded (their wrapped data keys
 * destroyed), its text erased with secure_delete (storage/records.c
 * oa_rec_erase), a tombstone kept (档号, 题名, dates, the approval) with
 * every audit entry; its copies in the gateway's outbox are erased (its
 * items no longer leave) and, after the commit, its blob files removed.
 * Permanent records are never listed, held ones
 * (冻结) never disposed of.  Writer thread; each returns 0 when it ran (o:
 * done, refused, or undone) or an enum oa_err when storage failed.
 */
#ifndef OA_APP_DISPOSAL_H
#define OA_APP_DISPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/audit.h"
#include "app/outcome.h"
#include "proto/value.h"

/* The most records one list names. */
#define OA_DISPOSAL_MAX 1000

/* A new list of the records of doc_ids (n ≤ OA_DISPOSAL_MAX), with a reason (required). */
int oa_rec_disposal_propose(struct oa_store *s, const struct oa_app_actor *by, const int64_t *doc_ids, size_t n,
                        const char *reason, struct oa_app_outcome *o, cbor_item_t **out);

/* The blob files a disposal leaves dead (storage/blobs.h). */
struct oa_blob_files;

/*
 * A leader's decision on list id: approve (dispose of every record on it) or
 * refuse, with an opinion.  An approval sets *dead to the blob files of the
 * records disposed of that nothing else refers to (storage/blobs.h
 * oa_blob_dead_files, malloc'd): the caller unlinks them once the
 * transaction has committed (oa_rec_disposal_unlink), or drops them when it
 * did not (oa_rec_disposal_files_free); either frees them.
 */
int oa_rec_disposal_decide(struct oa_store *s, const struct oa_app_actor *by, int64_t id, bool approve,
                       const char *opinion, struct oa_app_outcome *o, cbor_item_t **out,
                       struct oa_blob_files **dead);
/* Unlinks the dead files under DATA/blobs and frees them (NULL: none); how many were removed, of *n. */
size_t oa_rec_disposal_unlink(const char *data_dir, struct oa_blob_files *dead, size_t *n);
/* Frees them without unlinking (NULL is fine). */
void oa_rec_disposal_files_free(struct oa_blob_files *dead);

/* The lists, newest first: {lists: [{id, organ_id, proposed_by, proposed_at, reason, state, approved_by,
 * decided_at, opinion, documents: [id]}]}. */
int oa_rec_disposal_list(struct oa_store *s, const struct oa_app_actor *by, struct oa_app_outcome *o, cbor_item_t **out);

#endif
