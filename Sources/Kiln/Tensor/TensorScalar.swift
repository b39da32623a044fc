/// A Swift type that is the element type of some ``DType``.
///
/// Used only at API boundaries (building tensors, reading results); kernels work on raw pointers.
public protocol TensorScalar: Sendable {
    /// The ``DType`` whose elements are of this type.
    static var dtype: DType { get }
}

extension Float: TensorScalar {
    /// ``DType/float32``.
    public static var dtype: DType { .float32 }
}
extension Float16: TensorScalar {
    /// ``DType/float16``.
    public static var dtype: DType { .float16 }
}
extension Int64: TensorScalar {
    /// ``DType/int64``.
    public static var dtype: DType { .int64 }
}
extension Int32: TensorScalar {
    /// ``DType/int32``.
    public static var dtype: DType { .int32 }
}
extension Int8: TensorScalar {
    /// ``DType/int8``.
    public static var dtype: DType { .int8 }
}
extension UInt8: TensorScalar {
    /// ``DType/uint8``.
    public static var dtype: DType { .uint8 }
}
extension Bool: TensorScalar {
    /// ``DType/bool`` (one byte, 0 or 1).
    public static var dtype: DType { .bool }
}
