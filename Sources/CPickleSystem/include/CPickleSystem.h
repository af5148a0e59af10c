// System calls the Swift Glibc module does not expose (it is built without _GNU_SOURCE).
#ifndef CPICKLE_SYSTEM_H
#define CPICKLE_SYSTEM_H

#include <stddef.h>

/// Linux `mremap(old, old_size, new_size, MREMAP_MAYMOVE)`: the mapping at `old` resized, its pages moved
/// rather than copied if it has to move. Returns the new address, or NULL where it fails or does not exist.
void *cpickle_remap(void *old, size_t old_size, size_t new_size);

#endif
