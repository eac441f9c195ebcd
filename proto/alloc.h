/*
 * proto/alloc.h: allocation helpers and the per-request arena.
 *
 * Out of memory is handled one way everywhere in oa: the process aborts with a
 * message (as h2o and tmux do).  A server that cannot allocate cannot answer
 * correctly, and SQLite keeps acknowledged writes safe across the restart.
 *
 * The arena hands out memory that is freed as a whole; it has a maximum size
 * fixed at creation, so a request can never grow it without bound.
 */
#ifndef OA_PROTO_ALLOC_H
#define OA_PROTO_ALLOC_H

#include <stddef.h>

/* Aborts the process: an allocation failed in a library call. */
_Noreturn void oa_oom(void);
void *oa_xmalloc(size_t n);
void *oa_xcalloc(size_t n, size_t size);
void *oa_xrealloc(void *p, size_t n);
char *oa_xstrdup(const char *s);

/*
 * Bytes the process holds in live heap allocations, as the allocator counts
 * them (not what it keeps free or what RSS shows), or -1 where the allocator
 * cannot tell cheaply: known in sanitizer builds (AddressSanitizer's own
 * count), which the soak test uses to tell a leak from the sanitizer's
 * quarantine and caches.
 */
long long oa_heap_allocated(void);

struct oa_arena_chunk;
struct oa_arena {
    struct oa_arena_chunk *head;
    size_t used;  /* bytes handed out so far */
    size_t max;   /* oa_arena_alloc returns NULL past this */
};

void oa_arena_init(struct oa_arena *a, size_t max);
/* Returns zeroed memory aligned for any type, or NULL when `max` would be exceeded. */
void *oa_arena_alloc(struct oa_arena *a, size_t n);
/* A NUL-terminated copy of n bytes, or NULL when the arena is full. */
char *oa_arena_strndup(struct oa_arena *a, const void *s, size_t n);
/* Frees every chunk; the arena can be used again afterwards. */
void oa_arena_reset(struct oa_arena *a);

#endif
