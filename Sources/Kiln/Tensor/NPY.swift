import Foundation

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), the way tensors are
/// exchanged with Python.
///
/// Supported descriptors: `f4`, `f2`, `i8`, `i4`, `i1`, `u1`, `b1`, little- or big-endian (big-endian
/// data is byte-swapped on read). Only C order. Writing always produces little-endian version 1.0
/// (or 2.0 when the header does not fit in 65,535 bytes).
public enum NPY {
    /// The largest header Kiln accepts. NumPy itself refuses to read headers above 10,000 bytes by
    /// default; a larger one is a malformed or hostile file, not a real tensor description.
    static let maxHeaderLength = 1 << 16

    /// Reads a `.npy` file.
    /// - Parameter url: A file URL.
    /// - Returns: The tensor, in owned memory.
    /// - Throws: ``KilnError/io(path:reason:)`` when the file cannot be read,
    ///   ``KilnError/malformedNPY(source:offset:reason:)`` when it is not a valid `.npy`.
    public static func read(contentsOf url: URL) throws -> Tensor {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw KilnError.io(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, source: url.lastPathComponent)
    }

    /// Decodes `.npy` bytes.
    /// - Parameters:
    ///   - data: The whole file.
    ///   - source: Names the data in errors (a file name).
    /// - Returns: The tensor, in owned memory.
    /// - Throws: ``KilnError/malformedNPY(source:offset:reason:)`` naming the byte offset of the problem.
    public static func decode(_ data: Data, source: String = "<memory>") throws -> Tensor {
        let bytes = [UInt8](data)
        func fail(_ offset: Int, _ reason: String) -> KilnError {
            .malformedNPY(source: source, offset: offset, reason: reason)
        }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY
        guard bytes.count >= 10 else { throw fail(bytes.count, "file is \(bytes.count) bytes, shorter than the 10-byte preamble") }
        guard Array(bytes[0..<6]) == magic else { throw fail(0, "missing \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail(bytes.count, "truncated version \(major) preamble") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail(6, "unsupported format version \(major).\(bytes[7])")
        }
        guard headerLength <= maxHeaderLength else { throw fail(8, "header length \(headerLength) exceeds \(maxHeaderLength)") }
        guard headerStart + headerLength <= bytes.count else {
            throw fail(bytes.count, "header of \(headerLength) bytes runs past the end of the file")
        }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail(headerStart, "header is not text")
        }
        let dict: [String: HeaderValue]
        do { var parser = HeaderParser(header); dict = try parser.parseDict() } catch let e as HeaderParser.Failure {
            throw fail(headerStart + e.position, "header: \(e.reason)")
        }
        guard case .string(let descr)? = dict["descr"] else { throw fail(headerStart, "header has no string 'descr'") }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw fail(headerStart, "header has no boolean 'fortran_order'") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail(headerStart, "header has no tuple 'shape'") }
        guard !fortran || shape.count <= 1 else { throw fail(headerStart, "Fortran-order arrays are not supported; save with np.ascontiguousarray") }
        guard let (dtype, bigEndian) = parseDescr(descr) else { throw fail(headerStart, "unsupported dtype descriptor '\(descr)'") }
        let dataStart = headerStart + headerLength
        let expected: Int
        do { expected = try Shape.byteCount(shape, dtype: dtype, what: "npy payload") } catch {
            throw fail(headerStart, "shape \(shape) is invalid or too large")
        }
        let available = bytes.count - dataStart
        guard available == expected else {
            throw fail(dataStart, "payload is \(available) bytes, shape \(shape) of \(dtype) needs \(expected)")
        }
        var tensor = try Tensor(uninitialized: shape, dtype: dtype)
        let dst = tensor.mutableBase()
        bytes.withUnsafeBytes { src in
            if expected > 0 { dst.copyMemory(from: src.baseAddress! + dataStart, byteCount: expected) }
        }
        if bigEndian && dtype.byteSize > 1 {
            let size = dtype.byteSize
            let p = dst.assumingMemoryBound(to: UInt8.self)
            var i = 0
            while i < expected {
                var lo = i, hi = i + size - 1
                while lo < hi { let t = p[lo]; p[lo] = p[hi]; p[hi] = t; lo += 1; hi -= 1 }
                i += size
            }
        }
        if dtype == .bool {
            // NumPy bools are 0/1; anything else would break comparisons downstream.
            let p = dst.assumingMemoryBound(to: UInt8.self)
            for i in 0..<expected where p[i] > 1 { throw fail(dataStart + i, "bool element is \(p[i]), not 0 or 1") }
        }
        return tensor
    }

    /// Encodes a tensor as `.npy` bytes (little-endian, C order).
    /// - Parameter tensor: Any tensor.
    /// - Returns: The file contents.
    public static func encode(_ tensor: Tensor) -> Data {
        let shapeText: String
        switch tensor.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(tensor.shape[0]),)"
        default: shapeText = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr(tensor.dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that preamble + header + "\n" is a multiple of 64 (NumPy aligns to 64).
        let preamble1 = 10
        var total = preamble1 + header.utf8.count + 1
        let useV2 = total + 64 > 65535 + preamble1
        let preamble = useV2 ? 12 : 10
        total = preamble + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, useV2 ? 2 : 1, 0])
        let len = header.utf8.count
        if useV2 {
            out.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8 & 0xFF), UInt8(len >> 16 & 0xFF), UInt8(len >> 24 & 0xFF)])
        } else {
            out.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8 & 0xFF)])
        }
        out.append(contentsOf: Array(header.utf8))
        tensor.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// Writes a tensor to a `.npy` file.
    /// - Throws: ``KilnError/io(path:reason:)`` when the file cannot be written.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        do { try encode(tensor).write(to: url) } catch {
            throw KilnError.io(path: url.path, reason: error.localizedDescription)
        }
    }

    static func descr(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "<f4"
        case .float16: return "<f2"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        }
    }

    static func parseDescr(_ d: String) -> (DType, Bool)? {
        guard let first = d.first, "<>|=".contains(first), d.count == 3 else { return nil }
        let big = first == ">"
        switch d.dropFirst() {
        case "f4": return (.float32, big)
        case "f2": return (.float16, big)
        case "i8": return (.int64, big)
        case "i4": return (.int32, big)
        case "i1": return (.int8, false)
        case "u1": return (.uint8, false)
        case "b1": return (.bool, false)
        default: return nil
        }
    }

    enum HeaderValue { case string(String), bool(Bool), tuple([Int]) }

    /// A parser for the Python dict literal of an `.npy` header; nothing more general.
    struct HeaderParser {
        struct Failure: Error { let position: Int; let reason: String }
        let chars: [Character]
        var i = 0
        init(_ text: String) { chars = Array(text) }

        mutating func skipSpace() { while i < chars.count, chars[i].isWhitespace { i += 1 } }
        mutating func expect(_ c: Character) throws {
            skipSpace()
            guard i < chars.count, chars[i] == c else { throw Failure(position: i, reason: "expected '\(c)'") }
            i += 1
        }
        mutating func parseDict() throws -> [String: HeaderValue] {
            try expect("{")
            var out: [String: HeaderValue] = [:]
            while true {
                skipSpace()
                if i < chars.count, chars[i] == "}" { i += 1; break }
                let key = try parseString()
                try expect(":")
                out[key] = try parseValue()
                skipSpace()
                if i < chars.count, chars[i] == "," { i += 1; continue }
                try expect("}")
                break
            }
            return out
        }
        mutating func parseString() throws -> String {
            skipSpace()
            guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { throw Failure(position: i, reason: "expected a quoted string") }
            let q = chars[i]; i += 1
            let start = i
            while i < chars.count, chars[i] != q { i += 1 }
            guard i < chars.count else { throw Failure(position: start, reason: "unterminated string") }
            defer { i += 1 }
            return String(chars[start..<i])
        }
        mutating func parseValue() throws -> HeaderValue {
            skipSpace()
            guard i < chars.count else { throw Failure(position: i, reason: "unexpected end of header") }
            switch chars[i] {
            case "'", "\"": return .string(try parseString())
            case "T", "F":
                for (word, v) in [("True", true), ("False", false)] where String(chars[i..<min(chars.count, i + word.count)]) == word {
                    i += word.count
                    return .bool(v)
                }
                throw Failure(position: i, reason: "expected True or False")
            case "(":
                i += 1
                var dims: [Int] = []
                while true {
                    skipSpace()
                    if i < chars.count, chars[i] == ")" { i += 1; break }
                    let start = i
                    while i < chars.count, chars[i].isNumber { i += 1 }
                    // A dimension longer than 18 digits cannot be a real size (and must not overflow).
                    guard i > start, i - start <= 18, let d = Int(String(chars[start..<i])) else {
                        throw Failure(position: start, reason: "expected a non-negative dimension")
                    }
                    dims.append(d)
                    skipSpace()
                    if i < chars.count, chars[i] == "," { i += 1; continue }
                    try expect(")")
                    break
                }
                return .tuple(dims)
            default:
                throw Failure(position: i, reason: "unexpected character '\(chars[i])'")
            }
        }
    }
}

extension Tensor {
    /// Reads a NumPy `.npy` file. See ``NPY``.
    /// - Throws: ``KilnError/io(path:reason:)`` or ``KilnError/malformedNPY(source:offset:reason:)``.
    public init(npyContentsOf url: URL) throws {
        self = try NPY.read(contentsOf: url)
    }

    /// Writes the tensor as a NumPy `.npy` file. See ``NPY``.
    /// - Throws: ``KilnError/io(path:reason:)``.
    public func writeNPY(to url: URL) throws {
        try NPY.write(self, to: url)
    }
}
