#ifndef KILN_ALLOC_COUNT_H
#define KILN_ALLOC_COUNT_H
#include <stdint.h>

/// 1 when this build counts (it interposes malloc); 0 under a sanitizer, whose allocator must
/// stay in place.
int kiln_alloc_count_available(void);
/// Starts counting heap allocations (malloc, calloc, realloc, aligned allocations) of every thread.
void kiln_alloc_count_start(void);
/// Stops counting and returns the number of allocations since the last start.
uint64_t kiln_alloc_count_stop(void);

#endif
