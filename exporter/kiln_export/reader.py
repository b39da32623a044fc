"""Reading and validating ``.kiln`` artifacts, and running them with ONNX Runtime.

:func:`read_artifact` checks everything docs/format.md §4.3 asks of a reader (and, being the
reference reader, a little more: the data checksum, bool payloads, the self-test and metadata
tables). Per-op attribute legality is the runtime's business and is not checked here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zlib
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from . import format as fmt
from .errors import ArtifactError, KilnExportError
from .ops import SUPPORTED_OPS

MAX_TENSOR_BYTES = 16 * 1024**3
ATTRIBUTE_KINDS = ("i", "f", "s", "ints", "floats", "strings", "t")


@dataclass
class Artifact:
    """A validated artifact: the parsed header and every tensor as a numpy array.

    Arrays keep their stored dtype (``f16`` stays ``float16``) and appear in payload order, so
    ``encode_artifact(artifact.header, artifact.tensors.items())`` reproduces the file.
    """

    header: dict
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # read-only arrays
    version: tuple[int, int] = (fmt.MAJOR, fmt.MINOR)

    @property
    def graph(self) -> dict:
        return self.header["graph"]

    @property
    def labels(self) -> list[str] | None:
        return self.header.get("labels")

    @property
    def selftest(self) -> dict | None:
        return self.header.get("selftest")

    def selftest_inputs(self) -> dict[str, np.ndarray]:
        st = self.selftest or {}
        return {k: self.tensors[v] for k, v in st.get("inputs", {}).items()}

    def selftest_outputs(self) -> dict[str, np.ndarray]:
        st = self.selftest or {}
        return {k: self.tensors[v] for k, v in st.get("outputs", {}).items()}


def read_artifact(path_or_bytes: str | os.PathLike | bytes, verify_checksum: bool = True) -> Artifact:
    """Read and validate an artifact.

    Args:
        path_or_bytes: a file path or the file contents.
        verify_checksum: also check ``metadata.data_sha256`` against the data section.

    Returns:
        The :class:`Artifact`.

    Raises:
        ArtifactError: naming the first field that violates the format, with its byte offset
            when it has one.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        blob = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            blob = f.read()
    return _Reader(blob, verify_checksum).read()


class _Reader:
    def __init__(self, blob: bytes, verify_checksum: bool):
        self.blob = blob
        self.verify_checksum = verify_checksum

    def fail(self, field_: str, reason: str, offset: int | None = None):
        raise ArtifactError(field_, reason, offset)

    # -- preamble -------------------------------------------------------------------------------

    def read(self) -> Artifact:
        blob = self.blob
        if len(blob) < fmt.PREAMBLE_SIZE:
            self.fail("preamble", f"file is {len(blob)} bytes, shorter than the 64-byte preamble", 0)
        (magic, major, minor, flags, header_offset, header_length, data_offset, data_length, crc,
         reserved) = fmt.PREAMBLE.unpack_from(blob, 0)
        if magic != fmt.MAGIC:
            self.fail("preamble.magic", f"expected {fmt.MAGIC!r}, found {magic!r}", 0)
        if major != fmt.MAJOR:
            self.fail("preamble.major", f"unsupported major version {major} (this reader knows {fmt.MAJOR})", 8)
        if flags != 0:
            self.fail("preamble.flags", f"reserved flags must be 0, found {flags:#x}", 12)
        if header_offset != fmt.PREAMBLE_SIZE:
            self.fail("preamble.header_offset", f"must be 64, found {header_offset}", 16)
        if not 1 <= header_length <= fmt.MAX_HEADER_LENGTH:
            self.fail("preamble.header_length", f"{header_length} is outside 1...{fmt.MAX_HEADER_LENGTH}", 24)
        if data_offset % fmt.ALIGN != 0:
            self.fail("preamble.data_offset", f"{data_offset} is not a multiple of {fmt.ALIGN}", 32)
        header_end = header_offset + header_length
        if data_offset < header_end:
            self.fail("preamble.data_offset", f"{data_offset} is inside the header (which ends at {header_end})", 32)
        if data_offset > len(blob):
            self.fail("preamble.data_offset", f"{data_offset} is past the end of the file ({len(blob)} bytes)", 32)
        if data_length > len(blob) - data_offset:
            self.fail("preamble.data_length",
                      f"data section [{data_offset}, {data_offset + data_length}) ends past the end of the file ({len(blob)} bytes)", 40)
        if data_offset + data_length != len(blob):
            self.fail("preamble.data_length",
                      f"{len(blob) - data_offset - data_length} trailing bytes after the data section", data_offset + data_length)
        if reserved != bytes(12):
            self.fail("preamble.reserved", "reserved bytes must be zero", 52)
        header_bytes = blob[header_offset:header_end]
        actual_crc = zlib.crc32(header_bytes) & 0xFFFFFFFF
        if actual_crc != crc:
            self.fail("preamble.header_crc32", f"stored {crc:#010x}, header bytes give {actual_crc:#010x}", 48)
        padding = blob[header_end:data_offset]
        if padding.count(0) != len(padding):
            bad = header_end + next(i for i, b in enumerate(padding) if b)
            self.fail("header padding", "padding between header and data must be zero", bad)

        if header_bytes.startswith(b"\xef\xbb\xbf"):
            self.fail("header", "UTF-8 byte order mark is not allowed", header_offset)
        try:
            header = json.loads(header_bytes.decode("utf-8"), parse_constant=self._reject_constant)
        except UnicodeDecodeError as e:
            self.fail("header", f"not UTF-8: {e}", header_offset + e.start)
        except ValueError as e:
            self.fail("header", f"not valid JSON: {e}", header_offset)
        self.data_offset = data_offset
        self.data = memoryview(blob)[data_offset : data_offset + data_length]
        tensors = self.check_header(header)
        return Artifact(header=header, tensors=tensors, version=(major, minor))

    @staticmethod
    def _reject_constant(name):
        raise ValueError(f"{name} is not JSON")

    # -- header ---------------------------------------------------------------------------------

    def expect(self, value, types, field_: str):
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in _as_tuple(types))
        if not ok:
            self.fail(field_, f"expected {_type_names(types)}, found {type(value).__name__}")
        return value

    def check_header(self, header) -> dict[str, np.ndarray]:
        self.expect(header, dict, "header")
        if header.get("format") != "kiln":
            self.fail("header.format", f'expected "kiln", found {header.get("format")!r}')
        for key in ("graph", "tensors", "metadata"):
            if key not in header:
                self.fail(f"header.{key}", "required key missing")
        tensors = self.check_tensors(self.expect(header["tensors"], list, "header.tensors"))
        self.check_graph(self.expect(header["graph"], dict, "header.graph"), tensors)
        self.check_metadata(self.expect(header["metadata"], dict, "header.metadata"))
        if header.get("preprocessing") is not None:
            self.expect(header["preprocessing"], dict, "header.preprocessing")
        labels = header.get("labels")
        if labels is not None:
            self.expect(labels, list, "header.labels")
            for i, label in enumerate(labels):
                self.expect(label, str, f"header.labels[{i}]")
        if header.get("selftest") is not None:
            self.check_selftest(self.expect(header["selftest"], dict, "header.selftest"), header["graph"], tensors)
        return tensors

    def check_tensors(self, table: list) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        spans = []
        for i, entry in enumerate(table):
            where = f"tensors[{i}]"
            self.expect(entry, dict, where)
            for key in ("name", "dtype", "shape", "offset", "length"):
                if key not in entry:
                    self.fail(f"{where}.{key}", "required key missing")
            name = self.expect(entry["name"], str, f"{where}.name")
            where = f"tensors[{i}] ({name!r})"
            if not name:
                self.fail(f"{where}.name", "must not be empty")
            if name in arrays:
                self.fail(f"{where}.name", "duplicate tensor name")
            dname = self.expect(entry["dtype"], str, f"{where}.dtype")
            if dname not in fmt.DTYPES:
                self.fail(f"{where}.dtype", f"unknown dtype {dname!r}")
            dtype = fmt.DTYPES[dname]
            shape = self.expect(entry["shape"], list, f"{where}.shape")
            count = 1
            for d in shape:
                self.expect(d, int, f"{where}.shape")
                if d < 0:
                    self.fail(f"{where}.shape", f"negative dimension {d}")
                count *= d
            nbytes = count * dtype.itemsize
            if nbytes > MAX_TENSOR_BYTES:
                self.fail(f"{where}.shape", f"{nbytes} bytes exceeds the {MAX_TENSOR_BYTES}-byte tensor limit")
            offset = self.expect(entry["offset"], int, f"{where}.offset")
            length = self.expect(entry["length"], int, f"{where}.length")
            if offset < 0 or offset % fmt.ALIGN != 0:
                self.fail(f"{where}.offset", f"{offset} is not a non-negative multiple of {fmt.ALIGN}")
            if length != nbytes:
                self.fail(f"{where}.length", f"{length} != {count} elements x {dtype.itemsize} bytes")
            if offset + length > len(self.data):
                self.fail(f"{where}.offset", f"payload [{offset}, {offset + length}) lies outside the "
                          f"{len(self.data)}-byte data section", self.data_offset + min(offset, len(self.data)))
            raw = self.data[offset : offset + length]
            # Read-only views into the file's bytes: no copy of what may be hundreds of megabytes.
            array = np.frombuffer(raw, dtype=dtype).reshape(shape)
            if dname == "bool" and np.frombuffer(raw, dtype=np.uint8).max(initial=0) > 1:
                self.fail(f"{where}", "bool payload holds a byte other than 0 or 1", self.data_offset + offset)
            arrays[name] = array
            if length:
                spans.append((offset, offset + length, name))
        spans.sort()
        covered = 0
        for start, end, name in spans:
            if start < covered:
                self.fail(f"tensor {name!r}.offset", "payload overlaps the previous payload", self.data_offset + start)
            self.check_zero(covered, start)
            covered = end
        self.check_zero(covered, len(self.data))
        if self.verify_checksum:
            self.data_sha256 = hashlib.sha256(self.data).hexdigest()
        return arrays

    def check_zero(self, start: int, end: int):
        gap = bytes(self.data[start:end])
        if gap.count(0) != len(gap):
            bad = start + next(i for i, b in enumerate(gap) if b)
            self.fail("data section", "bytes outside any payload must be zero", self.data_offset + bad)

    def check_value_info(self, vi, where: str):
        self.expect(vi, dict, where)
        name = self.expect(vi.get("name"), str, f"{where}.name")
        if not name:
            self.fail(f"{where}.name", "must not be empty")
        dname = self.expect(vi.get("dtype"), str, f"{where}.dtype")
        if dname not in fmt.DTYPES:
            self.fail(f"{where}.dtype", f"unknown dtype {dname!r}")
        for d in self.expect(vi.get("shape"), list, f"{where}.shape"):
            self.expect(d, (int, str), f"{where}.shape")
            if isinstance(d, int) and d < 0:
                self.fail(f"{where}.shape", f"negative dimension {d}")
            if isinstance(d, str) and not d:
                self.fail(f"{where}.shape", "symbolic dimension names must not be empty")
        return name

    def check_graph(self, graph: dict, tensors: dict):
        opset = self.expect(graph.get("opset"), int, "graph.opset")
        if opset < 11:
            self.fail("graph.opset", f"opset {opset} is below 11")
        defined = set(tensors)
        for i, vi in enumerate(self.expect(graph.get("inputs"), list, "graph.inputs")):
            name = self.check_value_info(vi, f"graph.inputs[{i}]")
            if name in defined:
                self.fail(f"graph.inputs[{i}].name", f"{name!r} is already defined")
            defined.add(name)
        node_names = set()
        for i, node in enumerate(self.expect(graph.get("nodes"), list, "graph.nodes")):
            where = f"graph.nodes[{i}]"
            self.expect(node, dict, where)
            name = self.expect(node.get("name"), str, f"{where}.name")
            if not name:
                self.fail(f"{where}.name", "must not be empty")
            where = f"node {name!r}"
            if name in node_names:
                self.fail(f"{where}.name", "duplicate node name")
            node_names.add(name)
            op = self.expect(node.get("op"), str, f"{where}.op")
            if op not in SUPPORTED_OPS:
                self.fail(f"{where}.op", f"unsupported op type {op!r}")
            for value in self.expect(node.get("inputs"), list, f"{where}.inputs"):
                self.expect(value, str, f"{where}.inputs")
                if value and value not in defined:
                    self.fail(f"{where}.inputs", f"{value!r} is not a graph input, a tensor or the output of an earlier node")
            for value in self.expect(node.get("outputs"), list, f"{where}.outputs"):
                self.expect(value, str, f"{where}.outputs")
                if not value:
                    continue
                if value in defined:
                    self.fail(f"{where}.outputs", f"{value!r} is already defined")
                defined.add(value)
            attributes = self.expect(node.get("attributes"), dict, f"{where}.attributes")
            for key, typed in attributes.items():
                self.check_attribute(typed, f"{where}.attributes.{key}", tensors)
        produced = {o for node in graph["nodes"] for o in node["outputs"] if o}
        for i, vi in enumerate(self.expect(graph.get("outputs"), list, "graph.outputs")):
            name = self.check_value_info(vi, f"graph.outputs[{i}]")
            if name not in produced:
                self.fail(f"graph.outputs[{i}].name", f"{name!r} is not the output of a node")

    def check_attribute(self, typed, where: str, tensors: dict):
        self.expect(typed, dict, where)
        if len(typed) != 1 or next(iter(typed)) not in ATTRIBUTE_KINDS:
            self.fail(where, f"must be an object with exactly one of {', '.join(ATTRIBUTE_KINDS)}; found keys {list(typed)}")
        kind, value = next(iter(typed.items()))
        scalar = {"i": int, "f": (int, float), "s": str, "t": str}
        if kind in scalar:
            self.expect(value, scalar[kind], where)
        else:
            self.expect(value, list, where)
            element = {"ints": int, "floats": (int, float), "strings": str}[kind]
            for v in value:
                self.expect(v, element, where)
        if kind == "t" and value not in tensors:
            self.fail(where, f"tensor {value!r} is not in the tensor table")

    def check_metadata(self, metadata: dict):
        for key in ("producer", "source_model", "created", "data_sha256"):
            self.expect(metadata.get(key), str, f"metadata.{key}")
        frameworks = self.expect(metadata.get("frameworks"), dict, "metadata.frameworks")
        for key, value in frameworks.items():
            self.expect(value, str, f"metadata.frameworks.{key}")
        if self.verify_checksum and metadata["data_sha256"] != self.data_sha256:
            self.fail("metadata.data_sha256", f"stored {metadata['data_sha256']}, data section hashes to {self.data_sha256}")

    def check_selftest(self, st: dict, graph: dict, tensors: dict):
        self.expect(st.get("reference"), str, "selftest.reference")
        input_names = [vi["name"] for vi in graph["inputs"]]
        output_names = [vi["name"] for vi in graph["outputs"]]
        for key, names in (("inputs", input_names), ("outputs", output_names)):
            table = self.expect(st.get(key), dict, f"selftest.{key}")
            for value_name, tensor_name in table.items():
                if value_name not in names:
                    self.fail(f"selftest.{key}.{value_name}", f"not a graph {key[:-1]}")
                self.expect(tensor_name, str, f"selftest.{key}.{value_name}")
                if tensor_name not in tensors:
                    self.fail(f"selftest.{key}.{value_name}", f"tensor {tensor_name!r} is not in the tensor table")
        missing = [n for n in input_names if n not in st["inputs"]]
        if missing:
            self.fail("selftest.inputs", f"no example for graph inputs {missing}")
        tolerance = self.expect(st.get("tolerance"), dict, "selftest.tolerance")
        for key in ("abs", "rel"):
            value = self.expect(tolerance.get(key), (int, float), f"selftest.tolerance.{key}")
            if not (math.isfinite(value) and value >= 0):
                self.fail(f"selftest.tolerance.{key}", f"must be a finite non-negative number, found {value}")


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)


def _type_names(types) -> str:
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}
    return " or ".join(names.get(t, t.__name__) for t in _as_tuple(types))


# -- back to ONNX ---------------------------------------------------------------------------------

_ONNX_DTYPES = {
    "f32": 1,  # TensorProto.FLOAT
    "f16": 10,
    "i64": 7,
    "i32": 6,
    "i8": 3,
    "u8": 2,
    "bool": 9,
}


def artifact_to_onnx(header: Mapping, tensors: Mapping[str, np.ndarray]):
    """Rebuild an ONNX model with the artifact's semantics.

    ``f16`` tensors are widened to ``f32`` exactly as ``Kiln.Model`` does when it loads them.
    Tensors used only by the self-test are left out.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = header["graph"]

    def widened(name):
        array = tensors[name]
        return array.astype(np.float32) if array.dtype == np.float16 else array

    attr_types = {
        "i": onnx.AttributeProto.INT, "f": onnx.AttributeProto.FLOAT, "s": onnx.AttributeProto.STRING,
        "ints": onnx.AttributeProto.INTS, "floats": onnx.AttributeProto.FLOATS,
        "strings": onnx.AttributeProto.STRINGS, "t": onnx.AttributeProto.TENSOR,
    }
    used = set()
    nodes = []
    for node in graph["nodes"]:
        attributes = []
        for key, typed in node["attributes"].items():
            kind, value = next(iter(typed.items()))
            if kind == "t":
                value = numpy_helper.from_array(widened(value))
            elif kind == "s":
                value = value.encode("utf-8")
            elif kind == "strings":
                value = [v.encode("utf-8") for v in value]
            attributes.append(helper.make_attribute(key, value, attr_type=attr_types[kind]))
        proto = helper.make_node(node["op"], node["inputs"], node["outputs"], name=node["name"])
        proto.attribute.extend(attributes)
        nodes.append(proto)
        used.update(i for i in node["inputs"] if i in tensors)

    def value_info(vi):
        elem = _ONNX_DTYPES[vi["dtype"]]
        if elem == TensorProto.FLOAT16:
            elem = TensorProto.FLOAT
        return helper.make_tensor_value_info(vi["name"], elem, vi["shape"])

    initializers = [numpy_helper.from_array(widened(t["name"]), t["name"])
                    for t in header["tensors"] if t["name"] in used]
    g = helper.make_graph(nodes, "kiln", [value_info(v) for v in graph["inputs"]],
                          [value_info(v) for v in graph["outputs"]], initializer=initializers)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", graph["opset"])])
    model.ir_version = min(model.ir_version, _max_ir_version_for_ort())
    return model


def _max_ir_version_for_ort() -> int:
    # ORT releases lag onnx's newest IR version; 10 is what every ORT >= 1.20 accepts and covers
    # every opset this exporter emits.
    return 10


def onnxruntime_module():
    """Import onnxruntime, or explain how to get it."""
    try:
        import onnxruntime
    except ImportError:
        raise KilnExportError(
            "onnxruntime is required for self-tests: pip install 'kiln-export[selftest]' "
            "(or pass --no-selftest / selftest=False)"
        ) from None
    return onnxruntime


def run_onnx_model(model, inputs: Mapping[str, np.ndarray], what: str = "the model") -> dict[str, np.ndarray]:
    """Run an ONNX ModelProto on the CPU with onnxruntime; outputs by name.

    Raises:
        KilnExportError: ONNX Runtime refused to load ``what`` or failed running it on ``inputs``
            (the message says which, with the input shapes, on one line).
    """
    ort = onnxruntime_module()
    options = ort.SessionOptions()
    # Errors come back as exceptions and are reported once, on one line: ORT's own log stays quiet.
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise KilnExportError(f"ONNX Runtime cannot load {what}: {_ort_reason(e)}") from None
    names = [o.name for o in session.get_outputs()]
    try:
        run_options = ort.RunOptions()
        run_options.log_severity_level = 4
        results = session.run(names, dict(inputs), run_options)
    except Exception as e:
        shapes = ", ".join(f"{k} {list(np.shape(v))}" for k, v in inputs.items())
        raise KilnExportError(f"ONNX Runtime failed running {what} on {shapes or 'no inputs'}: "
                              f"{_ort_reason(e)}") from None
    return dict(zip(names, results))


def _ort_reason(e: Exception) -> str:
    """ONNX Runtime's message on one line, without its ``[ONNXRuntimeError] : 1 : FAIL :`` prefix."""
    text = " ".join(str(e).split())
    if text.startswith("[ONNXRuntimeError]"):
        parts = text.split(" : ", 3)
        if len(parts) == 4:
            text = parts[3]
    return text


def run_with_onnxruntime(artifact: Artifact | str | os.PathLike | bytes,
                         inputs: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Run an artifact with ONNX Runtime, on its self-test inputs unless ``inputs`` is given.

    Used to prove that exporting preserved the model's semantics.
    """
    if not isinstance(artifact, Artifact):
        artifact = read_artifact(artifact)
    if inputs is None:
        inputs = artifact.selftest_inputs()
        if not inputs and artifact.graph["inputs"]:
            raise KilnExportError("the artifact has no self-test; pass inputs explicitly")
    model = artifact_to_onnx(artifact.header, artifact.tensors)
    return run_onnx_model(model, inputs)
