// OpenBLAS's CBLAS interface. The include path comes from pkg-config (openblas.pc),
// which on Debian points at the pthread variant's headers.
#include <cblas.h>
