// Counts heap allocations for kiln-bench ("allocations per inference") and for the test that a
// warm inference allocates nothing (AllocationTests).
//
// Linked into the kiln-bench executable and the KilnTests bundle only: its definitions of malloc &
// co. interpose the C library's for the whole process (the Swift runtime's allocations included)
// and forward to glibc's own entry points (__libc_malloc, ...), so behaviour is unchanged apart
// from an atomic increment while counting is on. Never linked into the Kiln library. Under
// AddressSanitizer or ThreadSanitizer it defines no interposers (the sanitizer's own must stay in
// place) and reports counting as unavailable.
#include "alloc_count.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define KILN_ALLOC_COUNT_DISABLED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KILN_ALLOC_COUNT_DISABLED 1
#endif

#ifdef KILN_ALLOC_COUNT_DISABLED
int kiln_alloc_count_available(void) { return 0; }
void kiln_alloc_count_start(void) {}
uint64_t kiln_alloc_count_stop(void) { return 0; }
#else
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

int kiln_alloc_count_available(void) { return 1; }

static atomic_int counting = 0;
static atomic_ullong allocations = 0;

static inline void note(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    }
}

void kiln_alloc_count_start(void) {
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
}

uint64_t kiln_alloc_count_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    note();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *result = p;
    return 0;
}
#endif
