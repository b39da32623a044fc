// Header-only module (include/kiln_simd.h); SwiftPM needs one source file per C target.
#include "kiln_simd.h"
