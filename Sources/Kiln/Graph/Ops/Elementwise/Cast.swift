/// ONNX `Cast`: converts every element to the type `to` (see ``Tensor/converted(to:)``).
///
/// `to` is the ONNX `TensorProto` enum: 1 float, 2 uint8, 3 int8, 6 int32, 7 int64, 9 bool,
/// 10 float16. Float → integer truncates toward zero; out-of-range values and NaN saturate
/// (ONNX leaves them undefined). `saturate` and `round_mode` only concern float8 targets, which
/// Kiln does not have; they are accepted and ignored.
struct Cast: Operator {
    static let opType = "Cast"
    /// Target element type.
    let target: DType

    /// The ``DType`` of an ONNX `TensorProto.DataType` value, or `nil` when Kiln has no such
    /// type (reusable by other ops whose attributes name a data type).
    static func dtype(onnxDataType value: Int) -> DType? {
        switch value {
        case 1: return .float32
        case 2: return .uint8
        case 3: return .int8
        case 6: return .int32
        case 7: return .int64
        case 9: return .bool
        case 10: return .float16
        default: return nil
        }
    }

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["to", "saturate", "round_mode"])
        let to = try attributes.int("to")
        guard let t = Self.dtype(onnxDataType: to) else {
            throw KilnError.unsupportedOp(name: Self.opType, node: attributes.node,
                                          reason: "cast target 'to' = \(to) is not supported (1 float, 2 uint8, 3 int8, 6 int32, 7 int64, 9 bool, 10 float16)")
        }
        _ = try attributes.int("saturate", default: 1)
        _ = try attributes.string("round_mode", default: "up")
        target = t
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else { throw failure("expects 1 input (input), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "input", context: context)
        // A wider target can exceed the size limit; converted(to:) would then return `self`.
        _ = try Shape.byteCount(x.shape, dtype: target, what: "Cast output")
        return [try x.converted(to: target)]
    }
}

/// ONNX `CastLike`: `Cast` to the dtype of the second input (whose values are ignored).
struct CastLike: Operator {
    static let opType = "CastLike"

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["saturate", "round_mode"])
        _ = try attributes.int("saturate", default: 1)
        _ = try attributes.string("round_mode", default: "up")
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 else { throw failure("expects 2 inputs (input, target_type), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "input", context: context)
        let like = try input(inputs, 1, "target_type", context: context)
        _ = try Shape.byteCount(x.shape, dtype: like.dtype, what: "CastLike output")
        return [try x.converted(to: like.dtype)]
    }
}
