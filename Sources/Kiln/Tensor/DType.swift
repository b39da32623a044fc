/// The element type of a ``Tensor``.
///
/// `float32` is the compute type of every floating-point kernel. `float16` is a storage type:
/// weights may be stored in half precision and are widened to `float32` when a plan is built.
/// `int64` carries shapes and indices (the ONNX convention); `int32`, `int8`, `uint8` and `bool`
/// exist for ops that produce or consume them (comparisons, masks, quantized pixels).
public enum DType: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// IEEE 754 binary32.
    case float32
    /// IEEE 754 binary16 (storage only).
    case float16
    /// Signed 64-bit integer (shapes, indices).
    case int64
    /// Signed 32-bit integer.
    case int32
    /// Signed 8-bit integer.
    case int8
    /// Unsigned 8-bit integer (pixels).
    case uint8
    /// Boolean stored as one byte, 0 or 1.
    case bool

    /// Size of one element in bytes.
    @inlinable
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16: return 2
        case .int64: return 8
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool { self == .float32 || self == .float16 }

    /// The short name used in the artifact format and in `.npy` descriptors' documentation
    /// (`f32`, `f16`, `i64`, `i32`, `i8`, `u8`, `bool`).
    public var shortName: String {
        switch self {
        case .float32: return "f32"
        case .float16: return "f16"
        case .int64: return "i64"
        case .int32: return "i32"
        case .int8: return "i8"
        case .uint8: return "u8"
        case .bool: return "bool"
        }
    }

    /// Looks a type up by its ``shortName``.
    /// - Parameter shortName: `f32`, `f16`, `i64`, `i32`, `i8`, `u8` or `bool`.
    /// - Returns: The type, or `nil` when the name is unknown.
    public init?(shortName: String) {
        guard let match = DType.allCases.first(where: { $0.shortName == shortName }) else { return nil }
        self = match
    }

    /// The ``shortName``.
    public var description: String { shortName }
}
