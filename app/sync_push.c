/* app/sync_push.c: see sync_push.h. */
#include "app/sync_push.h"

#include "app/accounts.h"
#include "app/sync_feed.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "workflow/access.h"

cbor_item_t *oa_sync_push_current(struct oa_store *s, const struct oa_app_actor *by, int64_t doc_id,
                                  unsigned cache_max_level)
{
    struct oa_doc d;
    struct oa_user me;
    if (oa_app_me(s, by, &me) != 0 || oa_doc_load(s, doc_id, &d) != 1)
        return NULL;
    if (oa_sync_cacheable(d.level, cache_max_level))
        oa_doc_load_body(s, &d);
    cbor_item_t *rec = oa_sync_doc_record(s, &d, &me, cache_max_level);
    oa_doc_free(&d);
    return rec;
}

bool oa_sync_changed_since(int64_t next)
{
    return atomic_load(&oa_change_latest) > next;
}
