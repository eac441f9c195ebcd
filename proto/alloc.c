/* proto/alloc.c: see alloc.h. */
#include "proto/alloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/log.h"

static void oom(size_t n)
{
    oa_log(OA_LOG_ERROR, "out_of_memory", "bytes=%zu", n);
    abort();
}

_Noreturn void oa_oom(void)
{
    oa_log(OA_LOG_ERROR, "out_of_memory", "where=libcbor");
    abort();
}

void *oa_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *oa_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *oa_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *oa_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = oa_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

#define CHUNK_MIN 4096

struct oa_arena_chunk {
    struct oa_arena_chunk *next;
    size_t size, off;
    alignas(max_align_t) unsigned char data[];
};

void oa_arena_init(struct oa_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void *oa_arena_alloc(struct oa_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    if (need < n || a->used + need > a->max)
        return NULL;
    struct oa_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->off < need) {
        size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;
        c = oa_xmalloc(sizeof(*c) + size);
        c->size = size;
        c->off = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    memset(p, 0, n);
    return p;
}

char *oa_arena_strndup(struct oa_arena *a, const void *s, size_t n)
{
    char *p = oa_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void oa_arena_reset(struct oa_arena *a)
{
    struct oa_arena_chunk *c = a->head;
    while (c != NULL) {
        struct oa_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OA_HAVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define OA_HAVE_ASAN 1
#endif

#ifdef OA_HAVE_ASAN
#include <sanitizer/allocator_interface.h>

long long oa_heap_allocated(void)
{
    return (long long)__sanitizer_get_current_allocated_bytes();
}
#else
long long oa_heap_allocated(void)
{
    return -1; /* glibc's mallinfo2 counts only the main arena: not the threads' */
}
#endif
