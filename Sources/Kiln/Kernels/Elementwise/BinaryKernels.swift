#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Row kernels of broadcasting binary ops. Each op is a caseless enum conforming to a small
// protocol of static functions; the row kernels are generic over it and every call site names a
// concrete op, so the compiler specializes them into straight loops (no dynamic dispatch per element).

/// A float32 binary operation with an 8-lane SIMD form.
protocol BinaryOpF32 {
    /// One element.
    static func apply(_ a: Float, _ b: Float) -> Float
    /// Eight elements.
    static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
    /// `y = Op(a, b)` over the flat output range `start..<end` of `plan`. A requirement (with the
    /// one implementation below) so that a parallel chunk, which knows the op only as an
    /// `any BinaryOpF32.Type` (a `@convention(c)` body cannot name a generic parameter), still
    /// runs the row loops specialized for it.
    static func broadcast(_ plan: BroadcastPlan, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                          _ y: UnsafeMutablePointer<Float>, _ start: Int, _ end: Int)
}

extension BinaryOpF32 {
    static func broadcast(_ plan: BroadcastPlan, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                          _ y: UnsafeMutablePointer<Float>, _ start: Int, _ end: Int) {
        let sa = plan.rowStride(0), sb = plan.rowStride(1)
        plan.forEachSegment(start, end) { o, ia, ib, _, n in
            binaryRow_f32(Self.self, a + ia, sa, b + ib, sb, y + o, n)
        }
    }
}

enum AddF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
}
enum SubF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a - b }
}
enum MulF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a * b }
}
enum DivF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a / b }
}
/// NaN-propagating maximum (like `torch.maximum`): a NaN in either operand gives NaN.
enum MaxF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { b > a || b.isNaN ? b : a }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: (b .> a) .| (b .!= b))
    }
}
/// NaN-propagating minimum.
enum MinF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { b < a || b.isNaN ? b : a }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: (b .< a) .| (b .!= b))
    }
}
/// `powf` lane by lane (libm has no vector form here).
enum PowF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { powf(a, b) }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var r = SIMD8<Float>()
        for i in 0..<8 { r[i] = powf(a[i], b[i]) }
        return r
    }
}
/// `PRelu`: `x < 0 ? slope * x : x` (a = x, b = slope).
enum PReluF32: BinaryOpF32 {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a < 0 ? a * b : a }
    @inline(__always) static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: a * b, where: a .< SIMD8<Float>(repeating: 0))
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// One broadcast row of a float32 binary op: `y[k] = Op(a[k·sa], b[k·sb])` for `k < n`, with
/// SIMD paths for the strides a ``BroadcastPlan`` produces ((1,1), (1,0), (0,1), (0,0)).
@inline(__always)
func binaryRow_f32<Op: BinaryOpF32>(_: Op.Type, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                                    _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    if sa == 1 && sb == 1 {
        while i &+ 8 <= n {
            store8(Op.apply(load8(a + i), load8(b + i)), y + i)
            i &+= 8
        }
        while i < n { y[i] = Op.apply(a[i], b[i]); i &+= 1 }
    } else if sa == 1 && sb == 0 {
        let bs = b.pointee
        let bv = SIMD8<Float>(repeating: bs)
        while i &+ 8 <= n {
            store8(Op.apply(load8(a + i), bv), y + i)
            i &+= 8
        }
        while i < n { y[i] = Op.apply(a[i], bs); i &+= 1 }
    } else if sa == 0 && sb == 1 {
        let as_ = a.pointee
        let av = SIMD8<Float>(repeating: as_)
        while i &+ 8 <= n {
            store8(Op.apply(av, load8(b + i)), y + i)
            i &+= 8
        }
        while i < n { y[i] = Op.apply(as_, b[i]); i &+= 1 }
    } else if sa == 0 && sb == 0 {
        let v = Op.apply(a.pointee, b.pointee)
        while i < n { y[i] = v; i &+= 1 }
    } else {
        while i < n { y[i] = Op.apply(a[i &* sa], b[i &* sb]); i &+= 1 }
    }
}

/// A float32 binary op over whole tensors with broadcasting: `y = Op(a, b)`.
/// `a` and `b` must be float32 and `plan` built from their shapes (in that order).
func binaryBroadcast_f32<Op: BinaryOpF32>(_ op: Op.Type, _ a: Tensor, _ b: Tensor, plan: BroadcastPlan,
                                          context: ExecutionContext) throws -> Tensor {
    var y = try context.allocate(plan.outputShape, dtype: .float32)
    let pa = a.pointer(Float.self), pb = b.pointer(Float.self)
    let py = y.mutablePointer(Float.self)
    typealias Args = (BroadcastPlan, any BinaryOpF32.Type, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>)
    let args: Args = (plan, op, pa, pb, py)
    plan.runner(context).parallelFor(plan.outputCount, with: args) { raw, start, end in
        let (plan, op, a, b, y) = raw.load(as: Args.self)
        op.broadcast(plan, a, b, y, start, end)
    }
    withExtendedLifetime((a, b)) {}
    return y
}

// MARK: Integers

/// A binary operation on signed integers (int64, int32). Overflow wraps (two's complement).
protocol BinaryOpInt {
    /// One element.
    static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I
}

enum AddInt: BinaryOpInt {
    @inline(__always) static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I { a &+ b }
}
enum SubInt: BinaryOpInt {
    @inline(__always) static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I { a &- b }
}
enum MulInt: BinaryOpInt {
    @inline(__always) static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I { a &* b }
}
/// Truncating division (toward zero, like C and ONNX Runtime). The caller has rejected zero
/// divisors; `min / -1` wraps to `min` instead of trapping.
enum DivInt: BinaryOpInt {
    @inline(__always) static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I {
        b == 0 ? 0 : a.dividedReportingOverflow(by: b).partialValue
    }
}
enum MaxInt: BinaryOpInt {
    @inline(__always) static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I { b > a ? b : a }
}
enum MinInt: BinaryOpInt {
    @inline(__always) static func apply<I: FixedWidthInteger & SignedInteger>(_ a: I, _ b: I) -> I { b < a ? b : a }
}

/// One broadcast row of an integer binary op (scalar loop; the compiler vectorizes the
/// contiguous case where the op allows).
@inline(__always)
func binaryRow_int<Op: BinaryOpInt, I: FixedWidthInteger & SignedInteger>(_: Op.Type, _ a: UnsafePointer<I>, _ sa: Int,
                                                                          _ b: UnsafePointer<I>, _ sb: Int,
                                                                          _ y: UnsafeMutablePointer<I>, _ n: Int) {
    var i = 0
    if sa == 1 && sb == 1 {
        while i < n { y[i] = Op.apply(a[i], b[i]); i &+= 1 }
    } else {
        while i < n { y[i] = Op.apply(a[i &* sa], b[i &* sb]); i &+= 1 }
    }
}

/// An integer binary op over whole tensors with broadcasting; `I` matches the dtype of `a` and `b`.
func binaryBroadcast_int<Op: BinaryOpInt, I: FixedWidthInteger & SignedInteger>(_ op: Op.Type, _: I.Type, _ a: Tensor, _ b: Tensor,
                                                                                plan: BroadcastPlan, dtype: DType,
                                                                                context: ExecutionContext) throws -> Tensor {
    var y = try context.allocate(plan.outputShape, dtype: dtype)
    let pa = a.pointer(I.self), pb = b.pointer(I.self)
    let py = y.mutablePointer(I.self)
    let sa = plan.rowStride(0), sb = plan.rowStride(1)
    plan.run(context: context) { o, ia, ib, _, n in
        binaryRow_int(op, pa + ia, sa, pb + ib, sb, py + o, n)
    }
    withExtendedLifetime((a, b)) {}
    return y
}

/// Whether any element of an integer tensor is zero (integer `Div` checks its divisor first).
func containsZero<I: FixedWidthInteger>(_ t: Tensor, _: I.Type) -> Bool {
    let p = t.pointer(I.self)
    let n = t.count
    var i = 0
    while i < n {
        if p[i] == 0 { return true }
        i &+= 1
    }
    withExtendedLifetime(t) {}
    return false
}
