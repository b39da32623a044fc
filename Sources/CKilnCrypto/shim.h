// OpenSSL's libcrypto, for the artifact's data-section SHA-256 only (Debian/Ubuntu: libssl-dev).
// Its SHA-256 uses the CPU's SHA extensions (SHA-NI) or AVX2 where present.
#include <openssl/evp.h>
