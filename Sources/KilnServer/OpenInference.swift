import Foundation
import Kiln

/// The Open Inference Protocol (KServe v2 REST) as Kiln speaks it: request parsing with the
/// binary tensor extension, tensor conversion against a model's declared inputs, and response
/// encoding with the classification extension.
///
/// Everything a client sends is checked before memory is sized from it: a tensor's byte count
/// must equal what its declared shape implies, the batch must be within ``ServerConfiguration/maxRequestBatch``,
/// and binary sections must lie inside the body.
enum OpenInference {
    /// The protocol's datatype names.
    static func datatype(_ d: DType) -> String {
        switch d {
        case .float32: return "FP32"
        case .float16: return "FP16"
        case .int64: return "INT64"
        case .int32: return "INT32"
        case .int8: return "INT8"
        case .uint8: return "UINT8"
        case .bool: return "BOOL"
        }
    }

    /// One input of an inference request.
    struct Input {
        var name: String
        var datatype: String
        var shape: [Int]
        /// Bytes of the binary tensor extension, or the JSON `data` value.
        var binary: Data?
        var json: Any?
    }

    /// One requested output.
    struct RequestedOutput {
        var name: String
        var binary: Bool?
        var classification: Int?
    }

    /// A parsed `POST /v2/models/{name}/infer` body.
    struct Request {
        var id: String?
        var inputs: [Input]
        var outputs: [RequestedOutput]?
        var binaryDataOutput: Bool
    }

    /// Parses an inference request body.
    /// - Parameters:
    ///   - body: The whole body.
    ///   - headerLength: `Inference-Header-Content-Length`, when the body carries binary tensors.
    /// - Throws: ``ServeError/badRequest(_:)`` naming the field that is wrong.
    static func parseRequest(_ body: Data, headerLength: Int?) throws -> Request {
        let jsonEnd = headerLength ?? body.count
        guard jsonEnd >= 0, jsonEnd <= body.count else {
            throw ServeError.badRequest("Inference-Header-Content-Length \(jsonEnd) exceeds the body of \(body.count) bytes")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: body.prefix(jsonEnd), options: [])
        } catch {
            throw ServeError.badRequest("malformed JSON in the inference request header")
        }
        guard let root = object as? [String: Any] else { throw ServeError.badRequest("the inference request must be a JSON object") }
        guard let inputs = root["inputs"] as? [Any], !inputs.isEmpty else {
            throw ServeError.badRequest("'inputs' must be a non-empty array")
        }
        var binaryOffset = body.startIndex + jsonEnd
        var parsed: [Input] = []
        for (i, item) in inputs.enumerated() {
            guard let t = item as? [String: Any] else { throw ServeError.badRequest("inputs[\(i)] must be an object") }
            guard let name = t["name"] as? String else { throw ServeError.badRequest("inputs[\(i)].name is missing") }
            guard let datatype = t["datatype"] as? String else { throw ServeError.badRequest("input '\(name)': 'datatype' is missing") }
            guard let rawShape = t["shape"] as? [Any] else { throw ServeError.badRequest("input '\(name)': 'shape' is missing") }
            var shape: [Int] = []
            for d in rawShape {
                guard let n = d as? NSNumber, n.doubleValue == Double(n.intValue), n.intValue >= 0 else {
                    throw ServeError.badRequest("input '\(name)': shape \(rawShape) must hold non-negative integers")
                }
                shape.append(n.intValue)
            }
            var input = Input(name: name, datatype: datatype, shape: shape)
            let params = t["parameters"] as? [String: Any]
            if let size = params?["binary_data_size"] {
                guard let n = (size as? NSNumber)?.intValue, n >= 0 else {
                    throw ServeError.badRequest("input '\(name)': binary_data_size must be a non-negative integer")
                }
                guard headerLength != nil else {
                    throw ServeError.badRequest("input '\(name)' has binary_data_size but the request has no Inference-Header-Content-Length")
                }
                guard n <= body.endIndex - binaryOffset else {
                    throw ServeError.badRequest("input '\(name)': binary_data_size \(n) runs past the end of the body")
                }
                input.binary = body.subdata(in: binaryOffset..<(binaryOffset + n))
                binaryOffset += n
            } else if let data = t["data"] {
                input.json = data
            } else {
                throw ServeError.badRequest("input '\(name)' has neither 'data' nor parameters.binary_data_size")
            }
            parsed.append(input)
        }
        if headerLength != nil, binaryOffset != body.endIndex {
            throw ServeError.badRequest("\(body.endIndex - binaryOffset) bytes of binary data follow the declared inputs")
        }
        var outputs: [RequestedOutput]?
        if let list = root["outputs"] {
            guard let list = list as? [Any] else { throw ServeError.badRequest("'outputs' must be an array") }
            outputs = try list.enumerated().map { i, item in
                guard let o = item as? [String: Any], let name = o["name"] as? String else {
                    throw ServeError.badRequest("outputs[\(i)] must be an object with a 'name'")
                }
                let p = o["parameters"] as? [String: Any]
                var classification: Int?
                if let c = p?["classification"] {
                    guard let k = (c as? NSNumber)?.intValue, k >= 0 else {
                        throw ServeError.badRequest("output '\(name)': parameters.classification must be a non-negative integer")
                    }
                    classification = k == 0 ? nil : k
                }
                return RequestedOutput(name: name, binary: (p?["binary_data"] as? NSNumber)?.boolValue, classification: classification)
            }
        }
        let id: String?
        switch root["id"] {
        case let s as String: id = s
        case nil: id = nil
        default: throw ServeError.badRequest("'id' must be a string")
        }
        let params = root["parameters"] as? [String: Any]
        return Request(id: id, inputs: parsed, outputs: outputs,
                       binaryDataOutput: (params?["binary_data_output"] as? NSNumber)?.boolValue ?? false)
    }

    /// Checks a tensor input's shape against the model's declaration.
    /// - Returns: The element count.
    static func checkShape(_ input: Input, against info: ValueInfo, maxBatch: Int) throws -> Int {
        guard input.shape.count == info.shape.count else {
            throw ServeError.badRequest("input '\(input.name)': shape \(input.shape) has rank \(input.shape.count), the model expects \(info.shape) (rank \(info.shape.count))")
        }
        var count = 1
        for (i, (got, want)) in zip(input.shape, info.shape).enumerated() {
            switch want {
            case let .fixed(n) where n != got:
                throw ServeError.badRequest("input '\(input.name)': shape \(input.shape) does not match the model's \(info.shape) at dim \(i)")
            case .symbol where got < 1 || (i == 0 && got > maxBatch):
                throw ServeError.badRequest("input '\(input.name)': dim \(i) is \(got), must be 1...\(i == 0 ? maxBatch : Int.max)")
            default: break
            }
            let (p, overflow) = count.multipliedReportingOverflow(by: got)
            guard !overflow, p <= Int32.max else { throw ServeError.badRequest("input '\(input.name)': shape \(input.shape) is too large") }
            count = p
        }
        return count
    }

    /// Builds a tensor from a binary or JSON input of the model's dtype.
    /// - Throws: ``ServeError/badRequest(_:)`` for a wrong datatype, byte count or element count.
    static func tensor(_ input: Input, info: ValueInfo, maxBatch: Int) throws -> Tensor {
        guard input.datatype == datatype(info.dtype) else {
            throw ServeError.badRequest("input '\(input.name)': datatype \(input.datatype), the model expects \(datatype(info.dtype))")
        }
        let count = try checkShape(input, against: info, maxBatch: maxBatch)
        if let bytes = input.binary {
            guard bytes.count == count * info.dtype.byteSize else {
                throw ServeError.badRequest("input '\(input.name)': \(bytes.count) bytes of binary data, shape \(input.shape) of \(input.datatype) needs \(count * info.dtype.byteSize)")
            }
            return try bytes.withUnsafeBytes { try Self.tensor(copying: $0, dtype: info.dtype, shape: input.shape) }
        }
        var flat: [NSNumber] = []
        flat.reserveCapacity(count)
        try flatten(input.json as Any, into: &flat, limit: count, name: input.name)
        guard flat.count == count else {
            throw ServeError.badRequest("input '\(input.name)': \(flat.count) values in 'data', shape \(input.shape) needs \(count)")
        }
        switch info.dtype {
        case .float32: return try Tensor(shape: input.shape, scalars: flat.map { $0.floatValue })
        case .int64: return try Tensor(shape: input.shape, scalars: flat.map { $0.int64Value })
        case .int32: return try Tensor(shape: input.shape, scalars: flat.map { $0.int32Value })
        case .int8: return try Tensor(shape: input.shape, scalars: flat.map { $0.int8Value })
        case .uint8: return try Tensor(shape: input.shape, scalars: flat.map { $0.uint8Value })
        case .bool: return try Tensor(shape: input.shape, scalars: flat.map { $0.boolValue })
        case .float16: return try Tensor(shape: input.shape, scalars: flat.map { Float16($0.floatValue) })
        }
    }

    /// Copies raw little-endian bytes into a new tensor.
    static func tensor(copying bytes: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) throws -> Tensor {
        var t = try Tensor(zeros: shape, dtype: dtype)
        func fill<T: TensorScalar>(_: T.Type) throws {
            try t.withUnsafeMutableBufferPointer(as: T.self) { dst in
                UnsafeMutableRawBufferPointer(dst).copyMemory(from: bytes)
            }
        }
        switch dtype {
        case .float32: try fill(Float.self)
        case .float16: try fill(Float16.self)
        case .int64: try fill(Int64.self)
        case .int32: try fill(Int32.self)
        case .int8: try fill(Int8.self)
        case .uint8: try fill(UInt8.self)
        case .bool: try fill(Bool.self)
        }
        return t
    }

    /// Flattens a (possibly nested, row-major) JSON array of numbers, stopping past `limit` so a
    /// huge array cannot grow `out` beyond what the shape allows.
    private static func flatten(_ value: Any, into out: inout [NSNumber], limit: Int, name: String) throws {
        if let n = value as? NSNumber {
            guard out.count < limit else {
                throw ServeError.badRequest("input '\(name)': more values in 'data' than its shape holds")
            }
            out.append(n)
        } else if let a = value as? [Any] {
            for v in a { try flatten(v, into: &out, limit: limit, name: name) }
        } else {
            throw ServeError.badRequest("input '\(name)': 'data' must hold numbers")
        }
    }

    /// The elements of a BYTES tensor: each one a 4-byte little-endian length and that many bytes
    /// (binary), or a JSON array of strings.
    static func byteElements(_ input: Input, maxCount: Int) throws -> [Data] {
        guard input.datatype == "BYTES" else {
            throw ServeError.badRequest("input '\(input.name)': datatype \(input.datatype), expected BYTES (encoded images)")
        }
        guard (1...2).contains(input.shape.count), input.shape.dropFirst().allSatisfy({ $0 == 1 }) else {
            throw ServeError.badRequest("input '\(input.name)': a BYTES image input has shape [N] or [N, 1], got \(input.shape)")
        }
        let n = input.shape[0]
        guard (1...maxCount).contains(n) else {
            throw ServeError.badRequest("input '\(input.name)': \(n) images, must be 1...\(maxCount)")
        }
        var items: [Data] = []
        if let bytes = input.binary {
            var offset = bytes.startIndex
            while offset < bytes.endIndex {
                guard bytes.endIndex - offset >= 4, items.count < n else {
                    throw ServeError.badRequest("input '\(input.name)': malformed BYTES data (expected \(n) length-prefixed elements)")
                }
                let length = Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
                offset += 4
                guard length <= bytes.endIndex - offset else {
                    throw ServeError.badRequest("input '\(input.name)': BYTES element \(items.count) declares \(length) bytes, \(bytes.endIndex - offset) remain")
                }
                items.append(bytes.subdata(in: offset..<(offset + length)))
                offset += length
            }
        } else if let list = input.json as? [Any] {
            for v in list.prefix(n + 1) {
                guard let s = v as? String else { throw ServeError.badRequest("input '\(input.name)': BYTES 'data' must hold strings") }
                items.append(Data(s.utf8))
            }
        } else {
            throw ServeError.badRequest("input '\(input.name)': BYTES 'data' must be an array of strings")
        }
        guard items.count == n else {
            throw ServeError.badRequest("input '\(input.name)': \(items.count) elements, shape \(input.shape) needs \(n)")
        }
        return items
    }

    // MARK: Responses

    /// One output of a response, ready to encode.
    struct Output {
        var name: String
        var datatype: String
        var shape: [Int]
        var binary: Bool
        /// Raw little-endian bytes (numeric) or length-prefixed elements (BYTES) for binary output.
        var bytes: Data
        /// JSON text of the `data` array for JSON output.
        var jsonData: String
    }

    /// Encodes a tensor as an output.
    static func output(name: String, tensor: Tensor, binary: Bool) throws -> Output {
        if binary {
            let bytes = tensor.withUnsafeBytes { Data($0) }
            return Output(name: name, datatype: datatype(tensor.dtype), shape: tensor.shape, binary: true, bytes: bytes, jsonData: "")
        }
        var s = "["
        s.reserveCapacity(tensor.count * 12)
        func emit<T>(_ values: [T], _ f: (T) -> String) {
            for (i, v) in values.enumerated() {
                if i > 0 { s += "," }
                s += f(v)
            }
        }
        switch tensor.dtype {
        case .float32, .float16:
            // Swift prints the shortest decimal that reads back to the same float, so JSON output
            // is exact; non-finite values have no JSON form and become null.
            emit(try tensor.converted(to: .float32).scalars(as: Float.self)) { $0.isFinite ? $0.description : "null" }
        case .int64: emit(try tensor.scalars(as: Int64.self)) { String($0) }
        case .int32: emit(try tensor.scalars(as: Int32.self)) { String($0) }
        case .int8: emit(try tensor.scalars(as: Int8.self)) { String($0) }
        case .uint8: emit(try tensor.scalars(as: UInt8.self)) { String($0) }
        case .bool: emit(try tensor.scalars(as: Bool.self)) { $0 ? "true" : "false" }
        }
        s += "]"
        return Output(name: name, datatype: datatype(tensor.dtype), shape: tensor.shape, binary: false, bytes: Data(), jsonData: s)
    }

    /// The classification extension: the `k` largest values of each row as `"score:index:label"`
    /// BYTES (the score is the output's own value, as Triton reports it).
    static func classification(name: String, tensor: Tensor, k: Int, labels: [String]?, binary: Bool) throws -> Output {
        let values = try tensor.converted(to: .float32).scalars(as: Float.self)
        let rows = tensor.rank >= 2 ? tensor.shape[0] : 1
        guard rows > 0, values.count % rows == 0 else { throw ServeError.internalError("output '\(name)' has shape \(tensor.shape)") }
        let classes = values.count / rows
        let k = min(k, classes)
        var strings: [String] = []
        for r in 0..<rows {
            let row = values[(r * classes)..<((r + 1) * classes)]
            let order = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(k)
            for i in order {
                let c = i - r * classes
                var s = String(format: "%f:%d", row[i], c)
                if let labels, c < labels.count { s += ":" + labels[c] }
                strings.append(s)
            }
        }
        let shape = tensor.rank >= 2 ? [rows, k] : [k]
        if binary {
            var bytes = Data()
            for s in strings {
                let u = Array(s.utf8)
                withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: u)
            }
            return Output(name: name, datatype: "BYTES", shape: shape, binary: true, bytes: bytes, jsonData: "")
        }
        return Output(name: name, datatype: "BYTES", shape: shape, binary: false, bytes: Data(),
                      jsonData: "[" + strings.map(JSONText.quote).joined(separator: ",") + "]")
    }

    /// The response body and, when binary outputs follow the JSON, its length for
    /// `Inference-Header-Content-Length`.
    static func encodeResponse(model: String, id: String?, outputs: [Output]) -> (body: Data, headerLength: Int?) {
        var json = "{\"model_name\":\(JSONText.quote(model)),\"model_version\":\"1\""
        if let id { json += ",\"id\":\(JSONText.quote(id))" }
        json += ",\"outputs\":["
        for (i, o) in outputs.enumerated() {
            if i > 0 { json += "," }
            json += "{\"name\":\(JSONText.quote(o.name)),\"datatype\":\"\(o.datatype)\",\"shape\":[\(o.shape.map(String.init).joined(separator: ","))]"
            json += o.binary ? ",\"parameters\":{\"binary_data_size\":\(o.bytes.count)}}" : ",\"data\":\(o.jsonData)}"
        }
        json += "]}"
        var body = Data(json.utf8)
        let binary = outputs.filter(\.binary)
        guard !binary.isEmpty else { return (body, nil) }
        let headerLength = body.count
        for o in binary { body.append(o.bytes) }
        return (body, headerLength)
    }
}

/// Minimal JSON text helpers for responses built by hand (exact floats, no intermediate objects).
enum JSONText {
    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// `{"error": message}`.
    static func error(_ message: String) -> Data { Data("{\"error\":\(quote(message))}".utf8) }

    /// Serializes a JSON object with sorted keys.
    static func object(_ value: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
