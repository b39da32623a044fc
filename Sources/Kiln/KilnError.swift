/// Every error Kiln throws. Each case names what is wrong and where: the op and node, the tensor,
/// the byte offset in a file.
public enum KilnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument of an op is invalid: a bad attribute value, an input of the wrong rank, a shape
    /// that does not fit the op. `op` is the op type (`"Conv"`), `node` the node name when known.
    case invalidArgument(op: String, node: String?, reason: String)
    /// Two shapes that must agree do not (channels of a Conv, broadcasting, concatenation).
    case shapeMismatch(op: String, node: String?, tensor: String, expected: [Int], got: [Int])
    /// The op does not support the element type it was given.
    case unsupportedDType(op: String, node: String?, tensor: String, dtype: DType)
    /// An op type the runtime does not implement, or an attribute value it does not support.
    case unsupportedOp(name: String, node: String?, reason: String)
    /// A `.npy` stream is malformed. `offset` is the byte offset where the problem was found.
    case malformedNPY(source: String, offset: Int, reason: String)
    /// A Kiln artifact is malformed. `offset` is the byte offset where the problem was found.
    case malformedArtifact(offset: Int, reason: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// A tensor of `byteCount` bytes would exceed a configured limit or overflow `Int`.
    case allocationTooLarge(what: String, byteCount: String)
    /// The system refused an allocation of `byteCount` bytes (memory limit, cgroup, address space):
    /// the inference fails, the model stays usable.
    case outOfMemory(what: String, byteCount: Int)

    /// A one-line, human-readable explanation.
    public var description: String {
        func at(_ op: String, _ node: String?) -> String {
            if let node, !node.isEmpty { return "\(op) (node '\(node)')" }
            return op
        }
        switch self {
        case let .invalidArgument(op, node, reason):
            return "\(at(op, node)): \(reason)"
        case let .shapeMismatch(op, node, tensor, expected, got):
            return "\(at(op, node)): shape mismatch for \(tensor): expected \(expected), got \(got)"
        case let .unsupportedDType(op, node, tensor, dtype):
            return "\(at(op, node)): unsupported dtype \(dtype) for \(tensor)"
        case let .unsupportedOp(name, node, reason):
            return "unsupported op \(at(name, node)): \(reason)"
        case let .malformedNPY(source, offset, reason):
            return "malformed .npy '\(source)' at byte \(offset): \(reason)"
        case let .malformedArtifact(offset, reason):
            return "malformed artifact at byte \(offset): \(reason)"
        case let .io(path, reason):
            return "I/O error on '\(path)': \(reason)"
        case let .allocationTooLarge(what, byteCount):
            return "\(what) would need \(byteCount) bytes, which is too large"
        case let .outOfMemory(what, byteCount):
            return "out of memory: the system refused \(byteCount) bytes for \(what)"
        }
    }
}
