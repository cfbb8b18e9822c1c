#include "sbt/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t sbt_shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        if (shape[i] != 0 && n > INT64_MAX / shape[i]) return -1;
        n *= shape[i];
    }
    return n;
}

char *sbt_shape_format(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, cap - pos, "(");
    for (int i = 0; i < ndim && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, ")");
    return buf;
}

void sbt_arena_init(sbt_arena *a) { memset(a, 0, sizeof *a); }

size_t sbt_arena_reserve(sbt_arena *a, size_t bytes) {
    size_t off = a->used;
    a->used += (bytes + 63) & ~(size_t)63;
    return off;
}

sbt_status sbt_arena_commit(sbt_arena *a) {
    size_t n = a->used ? a->used : 64;
    a->base = aligned_alloc(64, n);
    if (!a->base) return sbt_fail(SBT_ERR_NOMEM, "arena: cannot allocate %zu bytes", n);
    memset(a->base, 0, n);
    a->capacity = n;
    return SBT_OK;
}

void *sbt_arena_at(const sbt_arena *a, size_t offset) { return a->base + offset; }

void sbt_arena_release(sbt_arena *a) {
    free(a->base);
    sbt_arena_init(a);
}
