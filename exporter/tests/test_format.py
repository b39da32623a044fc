"""Writer and reader: byte layout, round trips and rejection of damaged files."""

import json
import struct
import zlib

import numpy as np
import pytest

import nets
from conftest import CREATED
from kiln_export import ArtifactError, export_onnx, read_artifact
from kiln_export.format import ALIGN, PREAMBLE, encode_artifact


@pytest.fixture(scope="module")
def artifact_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fmt") / "cnn.kiln"
    export_onnx(nets.small_cnn(17), path, labels=[f"class {i}" for i in range(10)],
                preprocessing="imagenet", created=CREATED)
    return path.read_bytes()


def fields(blob):
    return dict(zip(["magic", "major", "minor", "flags", "header_offset", "header_length", "data_offset",
                     "data_length", "crc", "reserved"], PREAMBLE.unpack_from(blob, 0)))


def with_header(blob, mutate):
    """``blob`` with its header edited by ``mutate`` and the preamble and CRC made consistent."""
    f = fields(blob)
    header = json.loads(blob[64:64 + f["header_length"]])
    mutate(header)
    hb = json.dumps(header, separators=(",", ":")).encode()
    data = blob[f["data_offset"]:]
    data_offset = (64 + len(hb) + 63) // 64 * 64
    pre = PREAMBLE.pack(f["magic"], 1, 0, 0, 64, len(hb), data_offset, len(data), zlib.crc32(hb), bytes(12))
    return pre + hb + bytes(data_offset - 64 - len(hb)) + data


def test_round_trip_is_byte_exact(artifact_bytes):
    art = read_artifact(artifact_bytes)
    again = encode_artifact(art.header, list(art.tensors.items()))
    assert again == artifact_bytes
    assert read_artifact(again).header == art.header


def test_preamble_alignment_crc_and_padding(artifact_bytes):
    f = fields(artifact_bytes)
    assert f["magic"] == b"\x89KILN\r\n\x1a" and (f["major"], f["minor"], f["flags"]) == (1, 0, 0)
    assert f["header_offset"] == 64 and f["reserved"] == bytes(12)
    header = artifact_bytes[64:64 + f["header_length"]]
    assert f["crc"] == zlib.crc32(header)
    assert f["data_offset"] % ALIGN == 0
    assert artifact_bytes[64 + f["header_length"]:f["data_offset"]] == bytes(f["data_offset"] - 64 - f["header_length"])
    assert f["data_offset"] + f["data_length"] == len(artifact_bytes)
    tensors = json.loads(header)["tensors"]
    end = 0
    for t in tensors:
        assert t["offset"] % ALIGN == 0 and t["offset"] >= end
        data = artifact_bytes[f["data_offset"]:]
        assert data[end:t["offset"]] == bytes(t["offset"] - end)  # zero padding between payloads
        end = t["offset"] + t["length"]


def test_every_dtype_and_empty_and_scalar_tensors_round_trip():
    arrays = [
        ("f32", np.arange(5, dtype=np.float32)), ("f16", np.array([1.5, -2], dtype=np.float16)),
        ("i64", np.array([[1, -2**62]], dtype=np.int64)), ("i32", np.array([7], dtype=np.int32)),
        ("i8", np.array([-3], dtype=np.int8)), ("u8", np.array([250], dtype=np.uint8)),
        ("bool", np.array([True, False])), ("empty", np.zeros((0, 3), np.float32)),
        ("scalar", np.array(2.5, dtype=np.float32)), ("big_endian", np.array([1, 2], dtype=">i4")),
    ]
    header = {"format": "kiln", "graph": {"opset": 17, "inputs": [], "outputs": [], "nodes": []},
              "metadata": {"producer": "test", "source_model": "test", "frameworks": {}, "created": CREATED}}
    blob = encode_artifact(header, arrays)
    art = read_artifact(blob)
    for name, array in arrays:
        np.testing.assert_array_equal(art.tensors[name], array)
        assert art.tensors[name].shape == array.shape
    assert [t["dtype"] for t in art.header["tensors"]][:7] == ["f32", "f16", "i64", "i32", "i8", "u8", "bool"]
    assert encode_artifact(art.header, list(art.tensors.items())) == blob


def reject(blob, field):
    with pytest.raises(ArtifactError) as e:
        read_artifact(blob)
    assert field in e.value.field, str(e.value)
    return e.value


def test_flipped_header_byte_is_rejected(artifact_bytes):
    blob = bytearray(artifact_bytes)
    blob[100] ^= 0x01
    err = reject(bytes(blob), "header_crc32")
    assert err.offset == 48


def test_truncated_file_is_rejected(artifact_bytes):
    reject(artifact_bytes[:-1], "data_length")
    reject(artifact_bytes[:40], "preamble")
    reject(artifact_bytes + b"\0", "data_length")


def test_out_of_range_offset_is_rejected(artifact_bytes):
    data_length = fields(artifact_bytes)["data_length"]

    def push_out(h):
        h["tensors"][0]["offset"] = (data_length // 64 + 1) * 64

    err = reject(with_header(artifact_bytes, push_out), "offset")
    assert "outside" in err.reason


@pytest.mark.parametrize("mutate, field", [
    (lambda h: h["tensors"][1].__setitem__("offset", 32), "offset"),  # misaligned
    (lambda h: h["tensors"][1].__setitem__("offset", 0), "offset"),  # overlaps tensors[0]
    (lambda h: h["tensors"][0].__setitem__("length", 4), "length"),
    (lambda h: h["tensors"][0].__setitem__("dtype", "f64"), "dtype"),
    (lambda h: h["tensors"][0].__setitem__("shape", [-1]), "shape"),
    (lambda h: h["graph"]["nodes"][0].__setitem__("op", "Det"), "op"),
    (lambda h: h["graph"]["nodes"][0]["inputs"].__setitem__(0, "nowhere"), "inputs"),
    (lambda h: h["graph"]["nodes"][1]["outputs"].__setitem__(0, h["graph"]["nodes"][0]["outputs"][0]), "outputs"),
    (lambda h: h["graph"]["nodes"][1].__setitem__("name", h["graph"]["nodes"][0]["name"]), "name"),
    (lambda h: h["graph"]["nodes"][0]["attributes"].__setitem__("pads", {"i": 1, "f": 2.0}), "attributes"),
    (lambda h: h["metadata"].__setitem__("data_sha256", "0" * 64), "data_sha256"),
    (lambda h: h["selftest"]["outputs"].__setitem__("probs", "missing"), "selftest"),
    (lambda h: h.__setitem__("format", "onnx"), "format"),
    (lambda h: h["graph"]["outputs"][0].__setitem__("name", "conv.w"), "outputs"),  # a tensor, not a node output
    (lambda h: h["graph"]["outputs"][0].__setitem__("name", "input"), "outputs"),  # a graph input
    (lambda h: h["graph"]["inputs"][0].__setitem__("shape", ["N", ""]), "shape"),
])
def test_inconsistent_headers_are_rejected(artifact_bytes, mutate, field):
    reject(with_header(artifact_bytes, mutate), field)


def test_preamble_fields_are_checked(artifact_bytes):
    def patch(offset, fmt, value):
        blob = bytearray(artifact_bytes)
        struct.pack_into(fmt, blob, offset, value)
        return bytes(blob)

    reject(patch(0, "<B", 0x88), "magic")
    reject(patch(8, "<H", 2), "major")
    reject(patch(12, "<I", 1), "flags")
    reject(patch(32, "<Q", 96), "data_offset")
    reject(patch(60, "<I", 1), "reserved")
    assert read_artifact(patch(10, "<H", 7)).version == (1, 7)  # newer minor versions are read


def test_unknown_keys_are_ignored(artifact_bytes):
    def add(h):
        h["future"] = {"x": 1}
        h["graph"]["nodes"][0]["future"] = True
        h["metadata"]["note"] = "kept"

    art = read_artifact(with_header(artifact_bytes, add))
    assert art.header["metadata"]["note"] == "kept"
