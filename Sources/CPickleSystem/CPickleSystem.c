#if defined(__linux__)
#define _GNU_SOURCE
#include <sys/mman.h>
#endif
#include "CPickleSystem.h"

void *cpickle_remap(void *old, size_t old_size, size_t new_size) {
#if defined(__linux__)
    void *moved = mremap(old, old_size, new_size, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
#else
    (void)old; (void)old_size; (void)new_size;
    return NULL;
#endif
}
