"""NumPy-written .npy files for Kiln's reader tests (seeded; run from this directory).

Writes one file per supported dtype (v1.0 header), a v2.0 and a v3.0 header, a big-endian array,
a Fortran-order array (must be rejected), a rank-0 and an empty array, plus `expected.json`
listing each file's dtype, shape and values as float64 (exact for these small values).
"""
import json
import os

import numpy as np
from numpy.lib import format as npf

rng = np.random.default_rng(7)
out = {}


def save(name, arr, version=None, expect=True):
    with open(name, "wb") as f:
        npf.write_array(f, arr, version=version, allow_pickle=False)
    if expect:
        out[name] = {"dtype": str(arr.dtype.newbyteorder("=")), "shape": list(arr.shape),
                     "values": [float(v) for v in np.asarray(arr).ravel(order="C")]}


save("f32.npy", rng.standard_normal((2, 3, 4)).astype(np.float32))
save("f16.npy", rng.standard_normal((5,)).astype(np.float16))
save("i64.npy", rng.integers(-2**40, 2**40, (3, 2)).astype(np.int64))
save("i32.npy", rng.integers(-1000, 1000, (7,)).astype(np.int32))
save("i8.npy", rng.integers(-128, 128, (4, 4)).astype(np.int8))
save("u8.npy", rng.integers(0, 256, (2, 2, 3)).astype(np.uint8))
save("bool.npy", rng.integers(0, 2, (9,)).astype(np.bool_))
save("scalar.npy", np.array(3.5, dtype=np.float32))
save("empty.npy", np.zeros((0, 3), dtype=np.float32))
save("v2.npy", rng.standard_normal((3,)).astype(np.float32), version=(2, 0))
save("v3.npy", rng.standard_normal((2, 2)).astype(np.float32), version=(3, 0))
save("bigendian.npy", rng.standard_normal((2, 3)).astype(">f4"))
save("fortran.npy", np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)), expect=False)
save("f64.npy", rng.standard_normal((2,)), expect=False)  # float64 is not a Kiln dtype: must be rejected

with open("expected.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote", len(out) + 2, "files")
