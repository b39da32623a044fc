#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dense, contiguous, row-major n-dimensional array.
///
/// `Tensor` is a value type: copies share storage until one of them is written, then the writer
/// copies (copy-on-write). Storage is 64-byte aligned when Kiln allocates it; a tensor can also
/// wrap memory it does not own, such as a region of an mmapped artifact, without copying. Such a
/// borrowed tensor is read-only; writing to it first copies it into owned memory.
///
/// Layout is always row-major ("C order") with no padding between elements: the element at index
/// `[i0, i1, ..., ik]` is at offset `sum(i_j * stride_j)` with strides from ``Shape/strides(_:)``.
/// Image tensors are `[N, C, H, W]`.
public struct Tensor: Sendable {
    /// Element type.
    public let dtype: DType
    /// Dimensions, outermost first. `[]` is a scalar.
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage

    // MARK: Creating tensors

    /// Internal designated initializer; callers have validated `shape`.
    init(storage: TensorStorage, dtype: DType, shape: [Int]) {
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
    }

    /// A tensor of zeros.
    /// - Parameters:
    ///   - shape: Dimensions, each ≥ 0.
    ///   - dtype: Element type (default `float32`).
    /// - Throws: ``KilnError`` when a dimension is negative or the size is too large.
    public init(zeros shape: [Int], dtype: DType = .float32) throws {
        let bytes = try Shape.byteCount(shape, dtype: dtype)
        self.init(storage: try TensorStorage(zeroedByteCount: bytes), dtype: dtype, shape: shape)
    }

    /// An owned tensor whose contents are undefined until written. For kernels, which overwrite
    /// every element; `shape` must already be validated (see ``Shape/byteCount(_:dtype:what:)``).
    init(uninitialized shape: [Int], dtype: DType) throws {
        let bytes = try Shape.byteCount(shape, dtype: dtype)
        self.init(storage: try TensorStorage(uninitializedByteCount: bytes), dtype: dtype, shape: shape)
    }

    /// A tensor holding `scalars` in row-major order.
    /// - Parameters:
    ///   - shape: Dimensions; their product must equal `scalars.count`.
    ///   - scalars: Elements in row-major order.
    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` when the counts differ.
    public init<T: TensorScalar>(shape: [Int], scalars: [T]) throws {
        let count = try Shape.elementCount(shape)
        guard count == scalars.count else {
            throw KilnError.shapeMismatch(op: "Tensor.init", node: nil, tensor: "scalars", expected: shape, got: [scalars.count])
        }
        try self.init(uninitialized: shape, dtype: T.dtype)
        let base = storage.base
        scalars.withUnsafeBytes { src in
            if src.count > 0 { base.copyMemory(from: src.baseAddress!, byteCount: src.count) }
        }
    }

    /// A rank-0 tensor holding one value.
    public init<T: TensorScalar>(scalar: T) {
        // A one-element shape cannot fail validation.
        try! self.init(shape: [], scalars: [scalar])
    }

    /// A read-only tensor over memory Kiln does not own, without copying.
    /// - Parameters:
    ///   - pointer: First byte of the elements. Should be aligned to `dtype.byteSize` (64 for best
    ///     performance); misaligned memory is copied into an owned buffer instead.
    ///   - byteCount: Bytes available at `pointer`; must be at least the tensor's size.
    ///   - dtype: Element type.
    ///   - shape: Dimensions.
    ///   - owner: An object that keeps the memory alive as long as the tensor (or a copy of it) lives.
    /// - Throws: ``KilnError`` when the shape is invalid or needs more than `byteCount` bytes.
    public init(borrowing pointer: UnsafeRawPointer, byteCount: Int, dtype: DType, shape: [Int], owner: AnyObject?) throws {
        let needed = try Shape.byteCount(shape, dtype: dtype)
        guard needed <= byteCount else {
            throw KilnError.invalidArgument(op: "Tensor.init(borrowing:)", node: nil,
                                            reason: "shape \(shape) of \(dtype) needs \(needed) bytes, only \(byteCount) available")
        }
        let borrowed = TensorStorage(borrowing: pointer, byteCount: needed, owner: owner)
        if Int(bitPattern: pointer) % dtype.byteSize != 0 {
            self.init(storage: borrowed.copy(), dtype: dtype, shape: shape)
        } else {
            self.init(storage: borrowed, dtype: dtype, shape: shape)
        }
    }

    // MARK: Properties

    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// Number of elements (product of the shape; 1 for a scalar).
    public var count: Int { shape.reduce(1, &*) }
    /// Number of bytes of the elements.
    public var byteCount: Int { count &* dtype.byteSize }
    /// Whether the tensor borrows memory it does not own (an mmapped artifact, or an inference arena).
    public var isBorrowed: Bool { !storage.ownsMemory }

    // MARK: Access

    /// Copies the elements out as an array.
    /// - Parameter type: The Swift type matching ``dtype``.
    /// - Throws: ``KilnError/unsupportedDType(op:node:tensor:dtype:)`` when `T` does not match.
    public func scalars<T: TensorScalar>(as type: T.Type = T.self) throws -> [T] {
        guard T.dtype == dtype else {
            throw KilnError.unsupportedDType(op: "Tensor.scalars", node: nil, tensor: "\(T.self)", dtype: dtype)
        }
        let n = count
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: storage.base, byteCount: n &* dtype.byteSize)
            }
            initialized = n
        }
    }

    /// Calls `body` with the raw bytes of the elements.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = try body(UnsafeRawBufferPointer(start: storage.base, count: byteCount))
        withExtendedLifetime(storage) {}
        return r
    }

    /// Calls `body` with the elements as a typed buffer.
    /// - Throws: ``KilnError/unsupportedDType(op:node:tensor:dtype:)`` when `T` does not match, or
    ///   what `body` throws.
    public func withUnsafeBufferPointer<T: TensorScalar, R>(as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        guard T.dtype == dtype else {
            throw KilnError.unsupportedDType(op: "Tensor.withUnsafeBufferPointer", node: nil, tensor: "\(T.self)", dtype: dtype)
        }
        let p = storage.base.assumingMemoryBound(to: T.self)
        let r = try body(UnsafeBufferPointer(start: p, count: count))
        withExtendedLifetime(storage) {}
        return r
    }

    /// Calls `body` with the elements as a mutable typed buffer, copying first when the storage is
    /// shared or borrowed.
    /// - Throws: ``KilnError/unsupportedDType(op:node:tensor:dtype:)`` when `T` does not match, or
    ///   what `body` throws.
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R) throws -> R {
        guard T.dtype == dtype else {
            throw KilnError.unsupportedDType(op: "Tensor.withUnsafeMutableBufferPointer", node: nil, tensor: "\(T.self)", dtype: dtype)
        }
        let p = mutableBase().assumingMemoryBound(to: T.self)
        let r = try body(UnsafeMutableBufferPointer(start: p, count: count))
        withExtendedLifetime(storage) {}
        return r
    }

    /// Read pointer for kernels. Valid while `self` (or its storage) is alive.
    @inlinable var rawPointer: UnsafeRawPointer { UnsafeRawPointer(storage.base) }

    /// Typed read pointer for kernels (no dtype check: kernels have checked).
    @inlinable func pointer<T>(_: T.Type) -> UnsafePointer<T> {
        UnsafePointer(storage.base.assumingMemoryBound(to: T.self))
    }

    /// Write pointer for kernels; makes the storage unique and owned first.
    mutating func mutableBase() -> UnsafeMutableRawPointer {
        if !isKnownUniquelyReferenced(&storage) || !storage.isWritable {
            storage = storage.copy()
        }
        return storage.base
    }

    /// Typed write pointer for kernels; makes the storage unique and owned first.
    mutating func mutablePointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        mutableBase().assumingMemoryBound(to: T.self)
    }

    // MARK: Reshaping and conversion

    /// The same elements with another shape of equal element count (no copy).
    /// - Throws: ``KilnError/shapeMismatch(op:node:tensor:expected:got:)`` when counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let n = try Shape.elementCount(newShape)
        guard n == count else {
            throw KilnError.shapeMismatch(op: "Reshape", node: nil, tensor: "tensor of \(count) elements", expected: shape, got: newShape)
        }
        return Tensor(storage: storage, dtype: dtype, shape: newShape)
    }

    /// An owned, contiguous copy (useful to detach from an mmapped file).
    public func copied() -> Tensor {
        Tensor(storage: storage.copy(), dtype: dtype, shape: shape)
    }
}

extension Tensor: Equatable {
    /// Bitwise equality of dtype, shape and element bytes (so `NaN` equals an identical `NaN`).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.dtype == rhs.dtype, lhs.shape == rhs.shape else { return false }
        let n = lhs.byteCount
        if n == 0 || lhs.storage === rhs.storage { return true }
        return memcmp(lhs.storage.base, rhs.storage.base, n) == 0
    }
}

extension Tensor: CustomStringConvertible {
    /// `Tensor<f32>[1, 3, 224, 224]`.
    public var description: String { "Tensor<\(dtype)>\(shape)" }
}
