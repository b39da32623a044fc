/// Reading the small integer tensors that data-movement and reduction ops take as inputs (shapes,
/// axes, starts/ends, pads, repeats), with errors that name the op, the node and the input.
extension Operator {
    /// The elements of a rank-0 or rank-1 `int64` tensor (`allowInt32`: also `int32`).
    /// - Throws: ``KilnError/unsupportedDType(op:node:tensor:dtype:)`` for another dtype,
    ///   ``KilnError/invalidArgument(op:node:reason:)`` for rank > 1.
    func indexVector(_ t: Tensor, _ name: String, allowInt32: Bool = false, context: ExecutionContext) throws -> [Int] {
        guard t.rank <= 1 else {
            throw failure("input '\(name)' must be a 1-D tensor, got shape \(t.shape)", context: context)
        }
        switch t.dtype {
        case .int64: return try t.scalars(as: Int64.self).map { Int($0) }
        case .int32 where allowInt32: return try t.scalars(as: Int32.self).map { Int($0) }
        default: throw KilnError.unsupportedDType(op: Self.opType, node: context.node, tensor: name, dtype: t.dtype)
        }
    }

    /// Normalizes `axes` for `rank` (negative counts from the end) and rejects repeats.
    func normalizedAxes(_ axes: [Int], rank: Int, context: ExecutionContext) throws -> [Int] {
        var seen = Set<Int>()
        return try axes.map { a in
            let n = try Shape.normalizeAxis(a, rank: rank, op: Self.opType, node: context.node)
            guard seen.insert(n).inserted else { throw failure("axis \(a) is repeated in \(axes)", context: context) }
            return n
        }
    }
}

/// An attribute-or-input list (`axes`, `pads`, `split`, …): older opsets pass it as an attribute,
/// newer ones as an input. Both at once is an error; neither is `nil`.
extension Operator {
    func attributeOrInput(_ attribute: [Int]?, _ inputs: [Tensor?], _ index: Int, _ name: String,
                          allowInt32: Bool = false, context: ExecutionContext) throws -> [Int]? {
        let t = optionalInput(inputs, index)
        if let attribute {
            guard t == nil else {
                throw failure("'\(name)' is given both as an attribute and as input \(index)", context: context)
            }
            return attribute
        }
        guard let t else { return nil }
        return try indexVector(t, name, allowInt32: allowInt32, context: context)
    }
}
