// libFuzzer's driver entry (compiler-rt, linked by -sanitize=fuzzer). SwiftPM gives every
// executable its own `main`, so each target's `main` hands control to this instead of relying on
// libFuzzer's `main`.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
