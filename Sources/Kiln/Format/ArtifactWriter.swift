import Foundation

/// Writes Kiln artifacts (format 1.0, `docs/format.md`) from Swift: used by round-trip tests and by
/// tools that build or rewrite models without Python. The Python exporter writes the same layout.
public struct ArtifactWriter {
    /// Graph inputs.
    public var inputs: [ValueInfo] = []
    /// Graph outputs.
    public var outputs: [ValueInfo] = []
    /// Nodes in topological order.
    public var nodes: [NodeDef] = []
    /// ONNX opset of the node semantics.
    public var opset: Int = 17
    /// Stored tensors in file order.
    public var tensors: [(name: String, tensor: Tensor)] = []
    /// Class labels, or `nil`.
    public var labels: [String]? = nil
    /// The `preprocessing` section as JSON text, or `nil`.
    public var preprocessingJSON: String? = nil
    /// Producer, source model, frameworks and creation time (the hash is computed on write).
    public var producer = "kiln (Swift)"
    /// What the model was made from.
    public var sourceModel = ""
    /// Tool name → version.
    public var frameworks: [String: String] = [:]
    /// ISO 8601 creation time; fixed by default so that writes are reproducible.
    public var created = "1970-01-01T00:00:00Z"
    /// The self-test, or `nil`; its tensor names must be in ``tensors``.
    public var selfTest: SelfTestSpec? = nil

    /// An empty writer.
    public init() {}

    /// A writer holding everything `artifact` holds (to re-save it).
    public init(_ artifact: Artifact) {
        inputs = artifact.inputs
        outputs = artifact.outputs
        nodes = artifact.nodes
        opset = artifact.opset
        tensors = artifact.records.map { ($0.name, artifact.tensors[$0.name]!) }
        labels = artifact.labels
        preprocessingJSON = artifact.preprocessingJSON
        producer = artifact.metadata.producer
        sourceModel = artifact.metadata.sourceModel
        frameworks = artifact.metadata.frameworks
        created = artifact.metadata.created
        selfTest = artifact.selfTest
    }

    /// The file's bytes.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` when the preprocessing JSON is not an object.
    public func encode() throws -> [UInt8] {
        // Data section: each payload at a 64-byte aligned offset, zero padding between.
        var data: [UInt8] = []
        var records: [[String: Any]] = []
        for (name, tensor) in tensors {
            let offset = (data.count + 63) / 64 * 64
            data.append(contentsOf: [UInt8](repeating: 0, count: offset - data.count))
            tensor.withUnsafeBytes { data.append(contentsOf: $0) }
            records.append(["name": name, "dtype": tensor.dtype.shortName, "shape": tensor.shape,
                            "offset": offset, "length": tensor.byteCount])
        }
        let digest = try data.withUnsafeBytes { try SHA256.hex($0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: $0.count) }

        func info(_ v: ValueInfo) -> [String: Any] {
            ["name": v.name, "dtype": v.dtype.shortName,
             "shape": v.shape.map { d -> Any in if case .fixed(let n) = d { return n } else { return d.description } }]
        }
        var tensorNames: [String: String] = [:]
        func attribute(_ v: AttributeValue) -> [String: Any] {
            switch v {
            case .int(let x): return ["i": x]
            case .float(let x): return ["f": Double(x)]
            case .string(let x): return ["s": x]
            case .ints(let x): return ["ints": x]
            case .floats(let x): return ["floats": x.map(Double.init)]
            case .strings(let x): return ["strings": x]
            case .tensor(let t):
                // Tensor attributes must be stored; find the stored tensor with equal contents.
                let name = tensors.first(where: { $0.tensor == t })?.name ?? ""
                tensorNames[name] = name
                return ["t": name]
            }
        }
        var header: [String: Any] = [
            "format": "kiln",
            "graph": [
                "opset": opset,
                "inputs": inputs.map(info),
                "outputs": outputs.map(info),
                "nodes": nodes.map { n -> [String: Any] in
                    ["name": n.name, "op": n.op, "inputs": n.inputs, "outputs": n.outputs,
                     "attributes": n.attributes.values.mapValues(attribute)]
                },
            ] as [String: Any],
            "tensors": records,
            "metadata": ["producer": producer, "source_model": sourceModel, "frameworks": frameworks,
                         "created": created, "data_sha256": digest] as [String: Any],
        ]
        if let labels { header["labels"] = labels }
        if let pre = preprocessingJSON {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(pre.utf8)), obj is [String: Any] else {
                throw KilnError.invalidArgument(op: "ArtifactWriter", node: nil, reason: "preprocessing JSON must be an object")
            }
            header["preprocessing"] = obj
        }
        if let s = selfTest {
            header["selftest"] = ["reference": s.reference, "inputs": s.inputs, "outputs": s.outputs,
                                  "tolerance": ["abs": Double(s.abs), "rel": Double(s.rel)]] as [String: Any]
        }
        let json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let dataOffset = (64 + json.count + 63) / 64 * 64
        var out = [UInt8](repeating: 0, count: 64)
        func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { out[offset + i] = b } }
        }
        for (i, b) in Artifact.magic.enumerated() { out[i] = b }
        put(UInt16(Artifact.formatVersion.major), at: 8)
        put(UInt16(Artifact.formatVersion.minor), at: 10)
        put(UInt32(0), at: 12)
        put(UInt64(64), at: 16)
        put(UInt64(json.count), at: 24)
        put(UInt64(dataOffset), at: 32)
        put(UInt64(data.count), at: 40)
        put(json.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: $0.count) }, at: 48)
        out.append(contentsOf: json)
        out.append(contentsOf: [UInt8](repeating: 0, count: dataOffset - out.count))
        out.append(contentsOf: data)
        return out
    }

    /// Writes the file.
    /// - Throws: ``KilnError/io(path:reason:)``.
    public func write(to url: URL) throws {
        do { try Data(try encode()).write(to: url) } catch let e as KilnError { throw e } catch {
            throw KilnError.io(path: url.path, reason: error.localizedDescription)
        }
    }
}
