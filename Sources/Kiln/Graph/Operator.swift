/// One ONNX operator, decoded and validated from its attributes.
///
/// An operator value is created once (when a model is loaded) and then only read, so it must be
/// `Sendable` and immutable: everything that depends on attributes alone is computed in `init`.
/// ``run(_:context:)`` validates the inputs it is given (ranks, shapes, dtypes) and throws
/// ``KilnError`` naming the op and node on a mismatch; it never traps on bad input.
public protocol Operator: Sendable {
    /// The ONNX op type (`"Conv"`).
    static var opType: String { get }
    /// Decodes and validates the attributes.
    /// - Throws: ``KilnError`` for a missing, mistyped, illegal or unsupported attribute.
    init(attributes: Attributes) throws
    /// Computes the outputs.
    /// - Parameters:
    ///   - inputs: In ONNX input order; `nil` for an omitted optional input.
    ///   - context: Threads and the node name for errors.
    /// - Returns: The outputs in ONNX output order.
    /// - Throws: ``KilnError`` for inputs of the wrong count, rank, shape or dtype.
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor]
    /// Computes the outputs into a list the caller reuses from one inference to the next, so that
    /// a warm inference need not allocate a new list per step. The default calls
    /// ``run(_:context:)``; ``SingleOutputOperator``s fill the list in place.
    /// - Parameters:
    ///   - inputs: In ONNX input order; `nil` for an omitted optional input.
    ///   - outputs: Replaced by the outputs in ONNX output order.
    ///   - context: Threads and the node name for errors.
    /// - Throws: As ``run(_:context:)``.
    func run(_ inputs: [Tensor?], into outputs: inout [Tensor], context: ExecutionContext) throws
}

/// An operator with exactly one output, which it returns from ``output(_:context:)``; both `run`
/// requirements come from it, the one into a reused list without allocating.
public protocol SingleOutputOperator: Operator {
    /// Computes the one output.
    /// - Parameters:
    ///   - inputs: In ONNX input order; `nil` for an omitted optional input.
    ///   - context: Threads and the node name for errors.
    /// - Returns: The output.
    /// - Throws: ``KilnError`` for inputs of the wrong count, rank, shape or dtype.
    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor
}

extension SingleOutputOperator {
    /// The one output, as a list.
    /// - Throws: What ``output(_:context:)`` throws.
    public func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try output(inputs, context: context)]
    }

    /// The one output, stored into `outputs` in place (no allocation once it has capacity).
    /// - Throws: What ``output(_:context:)`` throws.
    public func run(_ inputs: [Tensor?], into outputs: inout [Tensor], context: ExecutionContext) throws {
        let y = try output(inputs, context: context)
        outputs.removeAll(keepingCapacity: true)
        outputs.append(y)
    }
}

extension Operator {
    /// Stores ``run(_:context:)``'s list in `outputs` (the default of the requirement).
    /// - Throws: What ``run(_:context:)`` throws.
    public func run(_ inputs: [Tensor?], into outputs: inout [Tensor], context: ExecutionContext) throws {
        outputs = try run(inputs, context: context)
    }

    /// The op type of this instance's type.
    public var opType: String { Self.opType }

    /// Input `index`, which must be present.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` when missing.
    public func input(_ inputs: [Tensor?], _ index: Int, _ name: String, context: ExecutionContext) throws -> Tensor {
        guard index < inputs.count, let t = inputs[index] else {
            throw KilnError.invalidArgument(op: Self.opType, node: context.node, reason: "required input \(index) ('\(name)') is missing")
        }
        return t
    }

    /// Optional input `index`, `nil` when omitted.
    public func optionalInput(_ inputs: [Tensor?], _ index: Int) -> Tensor? {
        index < inputs.count ? inputs[index] : nil
    }

    /// Throws unless `t` has `dtype`.
    public func require(_ t: Tensor, _ dtype: DType, _ name: String, context: ExecutionContext) throws {
        guard t.dtype == dtype else {
            throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: name, dtype: t.dtype)
        }
    }

    /// An ``KilnError/invalidArgument(op:node:reason:)`` for this op.
    public func failure(_ reason: String, context: ExecutionContext) -> KilnError {
        .invalidArgument(op: Self.opType, node: context.node, reason: reason)
    }
}
