import Foundation

/// A dimension of a declared input or output shape: a fixed size or a named symbol such as `N`.
public enum Dim: Sendable, Hashable, CustomStringConvertible {
    /// A known size.
    case fixed(Int)
    /// A size known only at run time; equal names are equal sizes.
    case symbol(String)

    /// `224` or `N`.
    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbol(let s): return s
        }
    }
}

/// A named, typed graph input or output.
public struct ValueInfo: Sendable, Equatable {
    /// Value name.
    public var name: String
    /// Element type.
    public var dtype: DType
    /// Declared shape, possibly with symbolic dims.
    public var shape: [Dim]
}

/// One node of the serialized graph, as stored (the portable form).
public struct NodeDef: Sendable {
    /// Unique node name.
    public var name: String
    /// ONNX op type.
    public var op: String
    /// Input value names; `""` for an omitted optional input.
    public var inputs: [String]
    /// Output value names.
    public var outputs: [String]
    /// Typed attributes.
    public var attributes: Attributes
}

/// Where a stored tensor lives in the file.
public struct TensorRecord: Sendable {
    /// Tensor name.
    public var name: String
    /// Element type as stored.
    public var dtype: DType
    /// Dimensions.
    public var shape: [Int]
    /// Absolute byte offset in the file.
    public var fileOffset: Int
    /// Payload length in bytes.
    public var length: Int
}

/// Provenance of an artifact.
public struct ArtifactMetadata: Sendable {
    /// The tool that wrote the file (`kiln-export 0.1.0`).
    public var producer: String
    /// What was exported.
    public var sourceModel: String
    /// Tool name → version.
    public var frameworks: [String: String]
    /// UTC creation time (ISO 8601).
    public var created: String
    /// Lowercase hex SHA-256 of the data section.
    public var dataSHA256: String
    /// Any other metadata keys, rendered as JSON text.
    public var extra: [String: String]
}

/// The stored self-test: inputs, the reference framework's outputs, and the tolerance.
public struct SelfTestSpec: Sendable {
    /// `torch` or `onnxruntime`.
    public var reference: String
    /// Graph input name → stored tensor name.
    public var inputs: [String: String]
    /// Graph output name → stored tensor name.
    public var outputs: [String: String]
    /// Absolute tolerance.
    public var abs: Float
    /// Relative tolerance.
    public var rel: Float
}

/// A validated artifact file: the graph in its portable form, tensors borrowed from the mapping,
/// and the deployable sections. See `docs/format.md`.
public struct Artifact: Sendable {
    /// Format version `(major, minor)`.
    public var version: (major: Int, minor: Int)
    /// ONNX opset of the node semantics.
    public var opset: Int
    /// Graph inputs.
    public var inputs: [ValueInfo]
    /// Graph outputs.
    public var outputs: [ValueInfo]
    /// Nodes in topological order.
    public var nodes: [NodeDef]
    /// Stored tensors by name (weights and self-test data), borrowing the mapped file; `float16`
    /// payloads are kept as stored.
    public var tensors: [String: Tensor]
    /// Where each stored tensor lives, in file order.
    public var records: [TensorRecord]
    /// The `preprocessing` section as JSON text, or `nil`.
    public var preprocessingJSON: String?
    /// Class labels in output index order, or `nil`.
    public var labels: [String]?
    /// Provenance.
    public var metadata: ArtifactMetadata
    /// The self-test, or `nil`.
    public var selfTest: SelfTestSpec?
    /// File size in bytes.
    public var fileSize: Int
    /// Byte range of the data section.
    public var dataRange: Range<Int>
    /// Keeps the mapping alive.
    let file: MappedFile

    /// The newest format version this reader implements.
    public static let formatVersion = (major: 1, minor: 0)
    static let magic: [UInt8] = [0x89, 0x4B, 0x49, 0x4C, 0x4E, 0x0D, 0x0A, 0x1A]
    static let maxHeaderLength = 64 << 20

    /// Maps and validates an artifact file.
    /// - Parameters:
    ///   - url: A file URL.
    ///   - verifyDataHash: Also recompute the data section's SHA-256 and compare it with
    ///     `metadata.data_sha256` (reads every byte of the weights once).
    /// - Throws: ``KilnError/io(path:reason:)`` or ``KilnError/malformedArtifact(offset:reason:)``
    ///   naming the field and byte offset.
    public init(contentsOf url: URL, verifyDataHash: Bool = false) throws {
        try self.init(file: MappedFile(path: url.path), verifyDataHash: verifyDataHash)
    }

    /// Validates an artifact held in memory (copied to aligned memory first).
    public init(bytes: [UInt8], verifyDataHash: Bool = false) throws {
        try self.init(file: MappedFile(bytes: bytes), verifyDataHash: verifyDataHash)
    }

    init(file: MappedFile, verifyDataHash: Bool) throws {
        self.file = file
        fileSize = file.size
        func fail(_ offset: Int, _ reason: String) -> KilnError { .malformedArtifact(offset: offset, reason: reason) }

        // Preamble.
        guard file.size >= 64 else { throw fail(file.size, "file is \(file.size) bytes, shorter than the 64-byte preamble") }
        for i in 0..<8 where file.load(i, as: UInt8.self) != Self.magic[i] {
            throw fail(i, "not a Kiln artifact (bad magic)")
        }
        let major = Int(file.load(8, as: UInt16.self)), minor = Int(file.load(10, as: UInt16.self))
        guard major == Self.formatVersion.major else {
            throw fail(8, "format version \(major).\(minor) is not supported by this reader (major \(Self.formatVersion.major))")
        }
        version = (major, minor)
        guard file.load(12, as: UInt32.self) == 0 else { throw fail(12, "flags must be 0 in format version 1") }
        let headerOffset = file.load(16, as: UInt64.self)
        let headerLength = file.load(24, as: UInt64.self)
        let dataOffset = file.load(32, as: UInt64.self)
        let dataLength = file.load(40, as: UInt64.self)
        guard headerOffset == 64 else { throw fail(16, "header_offset is \(headerOffset), must be 64") }
        guard headerLength >= 1, headerLength <= UInt64(Self.maxHeaderLength) else {
            throw fail(24, "header_length \(headerLength) is outside 1...\(Self.maxHeaderLength)")
        }
        let size = UInt64(file.size)
        guard headerOffset + headerLength <= size else { throw fail(24, "header (\(headerLength) bytes) runs past the end of the file (\(size) bytes)") }
        guard dataOffset % 64 == 0, dataOffset >= headerOffset + headerLength, dataOffset <= size else {
            throw fail(32, "data_offset \(dataOffset) must be a multiple of 64 after the header and inside the file")
        }
        guard dataLength == size - dataOffset else {
            throw fail(40, "data_length \(dataLength) does not reach the end of the file (expected \(size - dataOffset))")
        }
        let hStart = Int(headerOffset), hLen = Int(headerLength), dStart = Int(dataOffset)
        let crc = CRC32.checksum(file.base + hStart, count: hLen)
        guard crc == file.load(48, as: UInt32.self) else {
            throw fail(48, String(format: "header checksum mismatch (stored %08x, computed %08x): the header is corrupt", file.load(48, as: UInt32.self), crc))
        }
        dataRange = dStart..<file.size

        // Header JSON.
        let headerData = Data(bytes: file.base + hStart, count: hLen)
        let root: [String: Any]
        do {
            guard let obj = try JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
                throw fail(hStart, "header is not a JSON object")
            }
            root = obj
        } catch let e as KilnError { throw e } catch {
            throw fail(hStart, "header is not valid JSON: \(error.localizedDescription)")
        }
        let j = JSONReader(offset: hStart)
        guard try j.string(root, "format", "header") == "kiln" else { throw fail(hStart, "header.format must be \"kiln\"") }

        // Tensors.
        let tensorList = try j.array(root, "tensors", "header")
        var tensors: [String: Tensor] = [:]
        var records: [TensorRecord] = []
        var intervals: [(Int, Int, String)] = []
        for (i, raw) in tensorList.enumerated() {
            let path = "tensors[\(i)]"
            let t = try j.object(raw, path)
            let name = try j.string(t, "name", path)
            let tpath = "tensor '\(name)'"
            guard !name.isEmpty, tensors[name] == nil else { throw fail(hStart, "\(tpath): empty or duplicate tensor name") }
            let dtype = try j.dtype(t, "dtype", tpath)
            let shape = try j.ints(t, "shape", tpath)
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail(hStart, "\(tpath): negative dimension in \(shape)") }
            let offset = try j.int(t, "offset", tpath), length = try j.int(t, "length", tpath)
            let expected: Int
            do { expected = try Shape.byteCount(shape, dtype: dtype, what: tpath) } catch {
                throw fail(hStart, "\(tpath): shape \(shape) is too large")
            }
            guard length == expected else { throw fail(hStart, "\(tpath): length \(length) != \(expected) bytes for shape \(shape) of \(dtype)") }
            guard offset >= 0, offset % 64 == 0 else { throw fail(hStart, "\(tpath): offset \(offset) is negative or not 64-byte aligned") }
            guard offset <= dataRange.count, length <= dataRange.count - offset else {
                throw fail(dStart + max(0, min(offset, dataRange.count)), "\(tpath): payload [\(offset), \(offset + length)) lies outside the data section (\(dataRange.count) bytes)")
            }
            let absolute = dStart + offset
            records.append(TensorRecord(name: name, dtype: dtype, shape: shape, fileOffset: absolute, length: length))
            intervals.append((offset, length, name))
            tensors[name] = try Tensor(borrowing: file.base + absolute, byteCount: length, dtype: dtype, shape: shape, owner: file)
            if dtype == .bool {
                let p = (file.base + absolute).assumingMemoryBound(to: UInt8.self)
                for k in 0..<length where p[k] > 1 { throw fail(absolute + k, "\(tpath): bool element is \(p[k])") }
            }
        }
        intervals.sort { $0.0 < $1.0 }
        for k in intervals.indices.dropFirst() where intervals[k - 1].0 + intervals[k - 1].1 > intervals[k].0 {
            throw fail(dStart + intervals[k].0, "tensors '\(intervals[k - 1].2)' and '\(intervals[k].2)' overlap")
        }
        self.tensors = tensors
        self.records = records

        // Graph.
        let graph = try j.object(root["graph"] as Any, "graph")
        opset = try j.int(graph, "opset", "graph")
        guard opset >= 1 else { throw fail(hStart, "graph.opset \(opset) is invalid") }
        inputs = try j.array(graph, "inputs", "graph").enumerated().map { try j.valueInfo($1, "graph.inputs[\($0)]") }
        outputs = try j.array(graph, "outputs", "graph").enumerated().map { try j.valueInfo($1, "graph.outputs[\($0)]") }
        guard !outputs.isEmpty else { throw fail(hStart, "graph has no outputs") }
        var nodes: [NodeDef] = []
        var available = Set(tensors.keys)
        var nodeNames = Set<String>()
        for info in inputs {
            guard available.insert(info.name).inserted else { throw fail(hStart, "graph input '\(info.name)' collides with another value") }
        }
        for (i, raw) in try j.array(graph, "nodes", "graph").enumerated() {
            let path = "graph.nodes[\(i)]"
            let n = try j.object(raw, path)
            let name = try j.string(n, "name", path)
            guard !name.isEmpty, nodeNames.insert(name).inserted else { throw fail(hStart, "\(path): empty or duplicate node name '\(name)'") }
            let npath = "node '\(name)'"
            let op = try j.string(n, "op", npath)
            let ins = try j.strings(n, "inputs", npath)
            let outs = try j.strings(n, "outputs", npath)
            for input in ins where !input.isEmpty && !available.contains(input) {
                throw fail(hStart, "\(npath) (\(op)): input '\(input)' is not a graph input, a tensor, or an output of an earlier node")
            }
            for output in outs {
                guard !output.isEmpty, available.insert(output).inserted else {
                    throw fail(hStart, "\(npath) (\(op)): output '\(output)' is empty or produced twice")
                }
            }
            let attrs = try j.attributes(n["attributes"] ?? [String: Any](), op: op, node: name, tensors: tensors)
            nodes.append(NodeDef(name: name, op: op, inputs: ins, outputs: outs, attributes: attrs))
        }
        for info in outputs where !available.contains(info.name) {
            throw fail(hStart, "graph output '\(info.name)' is never produced")
        }
        self.nodes = nodes

        // Deployable sections.
        if let pre = root["preprocessing"], !(pre is NSNull) {
            guard JSONSerialization.isValidJSONObject(pre),
                  let d = try? JSONSerialization.data(withJSONObject: pre, options: [.sortedKeys]) else {
                throw fail(hStart, "header.preprocessing must be an object")
            }
            preprocessingJSON = String(decoding: d, as: UTF8.self)
        } else {
            preprocessingJSON = nil
        }
        if let l = root["labels"], !(l is NSNull) {
            labels = try j.strings(root, "labels", "header")
        } else {
            labels = nil
        }
        let meta = try j.object(root["metadata"] as Any, "metadata")
        var extra: [String: String] = [:]
        for (k, v) in meta where !["producer", "source_model", "frameworks", "created", "data_sha256"].contains(k) {
            if let s = v as? String { extra[k] = s } else if JSONSerialization.isValidJSONObject([v]),
                      let d = try? JSONSerialization.data(withJSONObject: [v]) {
                extra[k] = String(String(decoding: d, as: UTF8.self).dropFirst().dropLast())
            }
        }
        let frameworks = try j.object(meta["frameworks"] ?? [String: Any](), "metadata.frameworks").compactMapValues { $0 as? String }
        metadata = ArtifactMetadata(producer: try j.string(meta, "producer", "metadata"),
                                    sourceModel: (meta["source_model"] as? String) ?? "",
                                    frameworks: frameworks,
                                    created: (meta["created"] as? String) ?? "",
                                    dataSHA256: try j.string(meta, "data_sha256", "metadata"),
                                    extra: extra)
        if let st = root["selftest"], !(st is NSNull) {
            let s = try j.object(st, "selftest")
            let ins = try j.object(s["inputs"] as Any, "selftest.inputs").compactMapValues { $0 as? String }
            let outs = try j.object(s["outputs"] as Any, "selftest.outputs").compactMapValues { $0 as? String }
            for name in Array(ins.values) + Array(outs.values) where tensors[name] == nil {
                throw fail(hStart, "selftest refers to missing tensor '\(name)'")
            }
            for name in ins.keys where !inputs.contains(where: { $0.name == name }) {
                throw fail(hStart, "selftest input '\(name)' is not a graph input")
            }
            for name in outs.keys where !outputs.contains(where: { $0.name == name }) {
                throw fail(hStart, "selftest output '\(name)' is not a graph output")
            }
            let tol = try j.object(s["tolerance"] as Any, "selftest.tolerance")
            selfTest = SelfTestSpec(reference: (s["reference"] as? String) ?? "?", inputs: ins, outputs: outs,
                                    abs: Float(try j.double(tol, "abs", "selftest.tolerance")),
                                    rel: Float(try j.double(tol, "rel", "selftest.tolerance")))
        } else {
            selfTest = nil
        }

        if verifyDataHash {
            let digest = try SHA256.hex(file.base + dStart, count: dataRange.count)
            guard digest == metadata.dataSHA256.lowercased() else {
                throw fail(dStart, "data section SHA-256 \(digest) does not match metadata.data_sha256 \(metadata.dataSHA256): weights are corrupt")
            }
        }
    }
}

/// Typed access to the parsed header with errors that name the JSON path.
struct JSONReader {
    let offset: Int
    func fail(_ reason: String) -> KilnError { .malformedArtifact(offset: offset, reason: reason) }

    func object(_ v: Any, _ path: String) throws -> [String: Any] {
        guard let o = v as? [String: Any] else { throw fail("\(path) must be an object") }
        return o
    }
    func array(_ o: [String: Any], _ key: String, _ path: String) throws -> [Any] {
        guard let a = o[key] as? [Any] else { throw fail("\(path).\(key) must be an array") }
        return a
    }
    func string(_ o: [String: Any], _ key: String, _ path: String) throws -> String {
        guard let s = o[key] as? String else { throw fail("\(path).\(key) must be a string") }
        return s
    }
    func strings(_ o: [String: Any], _ key: String, _ path: String) throws -> [String] {
        guard let a = o[key] as? [Any] else { throw fail("\(path).\(key) must be an array of strings") }
        return try a.map { guard let s = $0 as? String else { throw fail("\(path).\(key) must contain only strings") }; return s }
    }
    func integer(_ v: Any, _ path: String) throws -> Int {
        // JSONSerialization yields NSNumber: integer types for values that fit Int64 ('q', 'i', …),
        // 'Q' above Int64.max, and doubles for fractions, exponents and Int64.min. Accept exactly the
        // integers representable as Int64 (shape code uses INT64_MAX / INT64_MIN as "to the end").
        guard let n = v as? NSNumber else { throw fail("\(path) must be an integer") }
        switch String(cString: n.objCType) {
        case "Q":
            guard n.uint64Value <= UInt64(Int64.max) else { throw fail("\(path): \(n) is out of the Int64 range") }
            return Int(n.uint64Value)
        case "f", "d":
            let d = n.doubleValue
            guard d.rounded() == d, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else {
                throw fail("\(path) must be an integer in the Int64 range, got \(n)")
            }
            return Int(d)
        default:
            return Int(n.int64Value)
        }
    }
    func int(_ o: [String: Any], _ key: String, _ path: String) throws -> Int {
        guard let v = o[key] else { throw fail("\(path).\(key) is missing") }
        return try integer(v, "\(path).\(key)")
    }
    func double(_ o: [String: Any], _ key: String, _ path: String) throws -> Double {
        guard let n = o[key] as? NSNumber else { throw fail("\(path).\(key) must be a number") }
        return n.doubleValue
    }
    func ints(_ o: [String: Any], _ key: String, _ path: String) throws -> [Int] {
        guard let a = o[key] as? [Any] else { throw fail("\(path).\(key) must be an array of integers") }
        return try a.enumerated().map { try integer($1, "\(path).\(key)[\($0)]") }
    }
    func dtype(_ o: [String: Any], _ key: String, _ path: String) throws -> DType {
        let s = try string(o, key, path)
        guard let d = DType(shortName: s) else { throw fail("\(path).\(key): unknown dtype '\(s)'") }
        return d
    }
    func valueInfo(_ v: Any, _ path: String) throws -> ValueInfo {
        let o = try object(v, path)
        let name = try string(o, "name", path)
        guard !name.isEmpty else { throw fail("\(path).name is empty") }
        guard let dims = o["shape"] as? [Any] else { throw fail("\(path).shape must be an array") }
        let shape: [Dim] = try dims.enumerated().map { i, d in
            if let s = d as? String, !s.isEmpty { return .symbol(s) }
            let n = try integer(d, "\(path).shape[\(i)]")
            guard n >= 0 else { throw fail("\(path).shape[\(i)] is negative") }
            return .fixed(n)
        }
        return ValueInfo(name: name, dtype: try dtype(o, "dtype", path), shape: shape)
    }
    func attributes(_ v: Any, op: String, node: String, tensors: [String: Tensor]) throws -> Attributes {
        let path = "node '\(node)' (\(op)) attributes"
        let o = try object(v, path)
        var values: [String: AttributeValue] = [:]
        for (key, raw) in o {
            let apath = "\(path).\(key)"
            // The "kiln." namespace is the optimizer's (fused activations); an artifact may not set it.
            guard !key.hasPrefix("kiln.") else { throw fail("\(apath): attribute names starting with 'kiln.' are reserved") }
            guard let typed = raw as? [String: Any], typed.count == 1, let (kind, x) = typed.first else {
                throw fail("\(apath) must be an object with one type key (i, f, s, ints, floats, strings, t)")
            }
            switch kind {
            case "i": values[key] = .int(try integer(x, apath))
            case "f":
                guard let n = x as? NSNumber else { throw fail("\(apath).f must be a number") }
                values[key] = .float(n.floatValue)
            case "s":
                guard let s = x as? String else { throw fail("\(apath).s must be a string") }
                values[key] = .string(s)
            case "ints":
                guard let a = x as? [Any] else { throw fail("\(apath).ints must be an array") }
                values[key] = .ints(try a.enumerated().map { try integer($1, "\(apath)[\($0)]") })
            case "floats":
                guard let a = x as? [NSNumber] else { throw fail("\(apath).floats must be an array of numbers") }
                values[key] = .floats(a.map(\.floatValue))
            case "strings":
                guard let a = x as? [String] else { throw fail("\(apath).strings must be an array of strings") }
                values[key] = .strings(a)
            case "t":
                guard let name = x as? String, let t = tensors[name] else { throw fail("\(apath).t must name a stored tensor") }
                values[key] = .tensor(try t.dtype == .float16 ? t.converted(to: .float32) : t)
            default:
                throw fail("\(apath): unknown attribute type '\(kind)'")
            }
        }
        return Attributes(op: op, node: node, values)
    }
}
