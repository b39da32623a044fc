/// What static shape inference knows about one value: its concrete shape and, for small tensors
/// (constants, and the `Shape → Gather → Concat` arithmetic that computes `Reshape` targets), its
/// contents.
struct ShapeFact: Sendable {
    /// The concrete shape.
    var shape: [Int]
    /// The value, when known and small (at most ``StaticShapeInference/valueLimit`` elements).
    var value: Tensor?

    /// The elements of a known rank-0 or rank-1 `int64`/`int32` value, or `nil`.
    var ints: [Int]? {
        guard let value, value.rank <= 1 else { return nil }
        switch value.dtype {
        case .int64: return try? value.scalars(as: Int64.self).map { Int($0) }
        case .int32: return try? value.scalars(as: Int32.self).map { Int($0) }
        default: return nil
        }
    }

    /// The elements of a known `float32` value, or `nil`.
    var floats: [Float]? {
        guard let value, value.dtype == .float32 else { return nil }
        return try? value.scalars(as: Float.self)
    }
}

/// The inputs of one node as static shape inference sees them: `nil` for an omitted optional input.
struct ShapeFacts: Sendable {
    /// Per input, in ONNX order.
    let items: [ShapeFact?]

    /// Number of input positions (omitted ones included).
    var count: Int { items.count }

    /// Input `i`, `nil` when omitted or past the end.
    subscript(_ i: Int) -> ShapeFact? { i < items.count ? items[i] : nil }

    /// The shape of input `i`, `nil` when omitted.
    func shape(_ i: Int) -> [Int]? { self[i]?.shape }

    /// An optional integer-list input (`axes`, `pads`, `split`, `repeats`, …).
    enum IntList {
        /// The input is omitted.
        case absent
        /// The input is given but its value is not known statically.
        case unknown
        /// The input's elements.
        case known([Int])
    }

    /// Input `i` read as an integer list.
    func intList(_ i: Int) -> IntList {
        guard let f = self[i] else { return .absent }
        return f.ints.map { .known($0) } ?? .unknown
    }

    /// An attribute-or-input list (older opsets pass it as an attribute, newer ones as input `i`):
    /// `.known` from either, `.absent` when neither is given, `.unknown` when the input's value is.
    func attributeOrInput(_ attribute: [Int]?, _ i: Int) -> IntList {
        if let attribute { return .known(attribute) }
        return intList(i)
    }
}

/// An operator whose output shapes follow from its inputs' shapes, and from the values of its small
/// integer inputs, without running it (ONNX shape inference, on concrete shapes).
///
/// Kiln infers every value's shape at load with these functions, on the probe's input shapes and on
/// the same with the batch doubled, and checks the first against one real run (see
/// ``ShapeInference``). Conformances live in `Plan/Shapes/`, one file per op family, as extensions
/// of the ops; an op without one makes static inference give up and the model fall back to probing.
protocol ShapeInferable: Operator {
    /// The shapes of the outputs `run` returns for inputs like `inputs`.
    /// - Parameters:
    ///   - inputs: Per input, its shape and, when known, its value.
    ///   - outputCount: The number of outputs the node declares.
    /// - Returns: One shape per output `run` would return, or `nil` when they depend on data that
    ///   is not known statically (a computed `k`, the boxes `NonMaxSuppression` keeps).
    /// - Throws: ``KilnError`` when the inputs are certainly invalid for the op.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]?
}

/// An op whose single output has the shape of its first input (activations, unary math, casts,
/// normalizations).
protocol SameShapeAsFirstInput: ShapeInferable {}

extension SameShapeAsFirstInput {
    /// `[shape of input 0]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        inputs.shape(0).map { [$0] }
    }
}

/// An op whose single output has the multidirectional (NumPy) broadcast of all its present inputs'
/// shapes (arithmetic, comparisons, logic, `Where`, variadic `Max`/`Sum`).
protocol BroadcastsInputs: ShapeInferable {}

extension BroadcastsInputs {
    /// `[broadcast of every present input's shape]`.
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        let shapes = inputs.items.compactMap { $0?.shape }
        guard var out = shapes.first else { return nil }
        for s in shapes.dropFirst() { out = try Shape.broadcast(out, s, op: Self.opType) }
        return [out]
    }
}
