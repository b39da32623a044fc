"""Byte layout of a ``.kiln`` artifact (docs/format.md) and the writer.

The writer is deterministic: the same header and tensors always give the same bytes, so a file
that is read and written again is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zlib
from typing import Sequence

import numpy as np

from .errors import KilnExportError

MAGIC = b"\x89KILN\r\n\x1a"
MAJOR = 1
MINOR = 0
PREAMBLE_SIZE = 64
ALIGN = 64
MAX_HEADER_LENGTH = 64 * 1024 * 1024
# magic, major, minor, flags, header_offset, header_length, data_offset, data_length, crc32, reserved
PREAMBLE = struct.Struct("<8sHHIQQQQI12s")
assert PREAMBLE.size == PREAMBLE_SIZE

# dtype name -> little-endian numpy dtype
DTYPES: dict[str, np.dtype] = {
    "f32": np.dtype("<f4"),
    "f16": np.dtype("<f2"),
    "i64": np.dtype("<i8"),
    "i32": np.dtype("<i4"),
    "i8": np.dtype("i1"),
    "u8": np.dtype("u1"),
    "bool": np.dtype("?"),
}

# Top-level header keys in the order the writer emits them (unknown keys follow, in their order).
HEADER_KEYS = ("format", "graph", "tensors", "preprocessing", "labels", "metadata", "selftest")


def align(n: int, to: int = ALIGN) -> int:
    return (n + to - 1) // to * to


def dtype_name(dtype: np.dtype) -> str | None:
    """The format's dtype name for a numpy dtype, or None when the format has no such dtype."""
    dtype = np.dtype(dtype)
    for name, dt in DTYPES.items():
        if dtype.kind == dt.kind and dtype.itemsize == dt.itemsize:
            return name
    return None


def encode_json(value) -> bytes:
    """Compact, deterministic UTF-8 JSON (insertion order kept, no NaN/Infinity)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as e:  # NaN or infinity somewhere in the header
        raise KilnExportError(f"header is not valid JSON: {e}") from None
    return text.encode("utf-8")


def encode_artifact(header: dict, tensors: Sequence[tuple[str, np.ndarray]]) -> bytes:
    """Serialize an artifact.

    Args:
        header: the JSON header without (or with a stale) ``tensors`` table and
            ``metadata.data_sha256``; both are computed here.
        tensors: ``(name, array)`` pairs in the order their payloads are laid out. Arrays must have
            a dtype of :data:`DTYPES`.

    Returns:
        The complete file contents.
    """
    entries = []
    payloads = []
    pos = 0
    for name, array in tensors:
        array = np.asarray(array)
        dname = dtype_name(array.dtype)
        if dname is None:
            raise KilnExportError(f"tensor {name!r}: dtype {array.dtype} has no Kiln equivalent")
        raw = np.ascontiguousarray(array, dtype=DTYPES[dname]).tobytes()
        pos = align(pos)
        entries.append(
            {
                "name": name,
                "dtype": dname,
                "shape": [int(d) for d in array.shape],
                "offset": pos,
                "length": len(raw),
            }
        )
        payloads.append((pos, raw))
        pos += len(raw)
    data = bytearray(pos)
    for off, raw in payloads:
        data[off : off + len(raw)] = raw
    data = bytes(data)

    metadata = dict(header.get("metadata") or {})
    metadata["data_sha256"] = hashlib.sha256(data).hexdigest()
    fields = dict(header)
    fields["tensors"] = entries
    fields["metadata"] = metadata
    ordered = {k: fields[k] for k in HEADER_KEYS if k in fields}
    ordered.update((k, v) for k, v in fields.items() if k not in ordered)
    header_bytes = encode_json(ordered)
    if not 1 <= len(header_bytes) <= MAX_HEADER_LENGTH:
        raise KilnExportError(f"header is {len(header_bytes)} bytes; the limit is {MAX_HEADER_LENGTH}")

    data_offset = align(PREAMBLE_SIZE + len(header_bytes))
    preamble = PREAMBLE.pack(
        MAGIC,
        MAJOR,
        MINOR,
        0,
        PREAMBLE_SIZE,
        len(header_bytes),
        data_offset,
        len(data),
        zlib.crc32(header_bytes) & 0xFFFFFFFF,
        bytes(12),
    )
    padding = bytes(data_offset - PREAMBLE_SIZE - len(header_bytes))
    return preamble + header_bytes + padding + data


def write_file_atomic(path: str | os.PathLike, contents: bytes) -> None:
    """Write ``contents`` to ``path`` through a temporary file and a rename, so a crash never
    leaves a half-written artifact under the final name."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kiln-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(contents)
        # mkstemp creates 0600; give the artifact the permissions a plain open() would (0666 & ~umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
