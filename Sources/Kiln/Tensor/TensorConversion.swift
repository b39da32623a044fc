extension Tensor {
    /// The elements converted to another element type (ONNX `Cast` semantics).
    ///
    /// Float → integer truncates toward zero (NaN and out-of-range values saturate to the target
    /// range instead of trapping); anything → `bool` is `value != 0`; `float32` → `float16` rounds to
    /// nearest even.
    /// - Parameter target: The element type of the result.
    /// - Returns: `self` when `target == dtype`, otherwise a new owned tensor.
    /// - Throws: ``KilnError/allocationTooLarge(what:byteCount:)`` when the converted tensor would
    ///   exceed ``Shape/maxByteCount`` (a wider element type on a tensor near the limit).
    public func converted(to target: DType) throws -> Tensor {
        if target == dtype { return self }
        var out = try Tensor(uninitialized: shape, dtype: target)
        let n = count
        let src = rawPointer
        let dst = out.mutableBase()
        // Widen everything to Double (exact for every supported type but int64 above 2^53, where
        // the int64 → int64 path is not taken) and narrow to the target.
        func load(_ i: Int) -> Double {
            switch dtype {
            case .float32: return Double(src.load(fromByteOffset: i &* 4, as: Float.self))
            case .float16: return Double(src.load(fromByteOffset: i &* 2, as: Float16.self))
            case .int64: return Double(src.load(fromByteOffset: i &* 8, as: Int64.self))
            case .int32: return Double(src.load(fromByteOffset: i &* 4, as: Int32.self))
            case .int8: return Double(src.load(fromByteOffset: i, as: Int8.self))
            case .uint8: return Double(src.load(fromByteOffset: i, as: UInt8.self))
            case .bool: return src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
            }
        }
        func saturating<I: FixedWidthInteger>(_ v: Double, _: I.Type) -> I {
            if v.isNaN { return 0 }
            if v <= Double(I.min) { return I.min }
            if v >= Double(I.max) { return I.max }
            return I(v.rounded(.towardZero))
        }
        if dtype == .int64 && target == .int32 {
            for i in 0..<n {
                let v = src.load(fromByteOffset: i &* 8, as: Int64.self)
                dst.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: i &* 4, as: Int32.self)
            }
            return out
        }
        for i in 0..<n {
            let v = load(i)
            switch target {
            case .float32: dst.storeBytes(of: Float(v), toByteOffset: i &* 4, as: Float.self)
            case .float16:
                // Float → Float16 rounds to nearest even; Double → Float first keeps that exact for
                // float32 sources (double rounding cannot occur: float32 values are exact in Double).
                dst.storeBytes(of: Float16(Float(v)), toByteOffset: i &* 2, as: Float16.self)
            case .int64:
                if dtype == .int64 {
                    dst.storeBytes(of: src.load(fromByteOffset: i &* 8, as: Int64.self), toByteOffset: i &* 8, as: Int64.self)
                } else {
                    dst.storeBytes(of: saturating(v, Int64.self), toByteOffset: i &* 8, as: Int64.self)
                }
            case .int32: dst.storeBytes(of: saturating(v, Int32.self), toByteOffset: i &* 4, as: Int32.self)
            case .int8: dst.storeBytes(of: saturating(v, Int8.self), toByteOffset: i, as: Int8.self)
            case .uint8: dst.storeBytes(of: saturating(v, UInt8.self), toByteOffset: i, as: UInt8.self)
            case .bool: dst.storeBytes(of: UInt8(v != 0 ? 1 : 0), toByteOffset: i, as: UInt8.self)
            }
        }
        return out
    }
}
