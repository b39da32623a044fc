#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A float32 → float32 elementwise function with an 8-lane form. Conforming types are small
/// structs (holding attributes such as `alpha`), so generic row kernels specialize per function.
protocol UnaryOpF32 {
    /// One element.
    func apply(_ x: Float) -> Float
    /// Eight elements.
    func apply(_ x: SIMD8<Float>) -> SIMD8<Float>
    /// ``unaryRow_f32(_:_:_:_:)`` with the op stored at `op`. A requirement (with the one
    /// implementation below) so that a parallel chunk, which knows the op only as an
    /// `any UnaryOpF32.Type` (a `@convention(c)` body cannot name a generic parameter), still
    /// runs the row loop specialized for it.
    static func row(_ op: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int)
}

extension UnaryOpF32 {
    static func row(_ op: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        unaryRow_f32(op.load(as: Self.self), x, y, n)
    }
}

/// Applies a scalar function lane by lane: the SIMD form of functions that only libm provides
/// (`expf`, `logf`, `tanhf`, `erff`, …). Keeps the row loop uniform; the speed is libm's.
@inline(__always)
func lanewise(_ x: SIMD8<Float>, _ f: (Float) -> Float) -> SIMD8<Float> {
    var r = SIMD8<Float>()
    for i in 0..<8 { r[i] = f(x[i]) }
    return r
}

/// `y[i] = op(x[i])` for `i < n`, 8 lanes at a time plus a scalar tail.
@inline(__always)
func unaryRow_f32<Op: UnaryOpF32>(_ op: Op, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i &+ 8 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: op.apply(v), as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < n {
        y[i] = op.apply(x[i])
        i &+= 1
    }
}

/// `op` over a whole float32 tensor (the caller has checked the dtype), split across threads
/// when there are at least `grain` elements per thread's worth of work.
/// - Parameters:
///   - op: The function.
///   - x: A float32 tensor of any shape.
///   - context: Thread budget.
///   - grain: Minimum element count before the work is split (lower for costly functions).
/// - Returns: A new tensor of `x.shape`.
func unaryMap_f32<Op: UnaryOpF32>(_ op: Op, _ x: Tensor, context: ExecutionContext, grain: Int = 1 << 16) throws -> Tensor {
    var y = try context.allocate(x.shape, dtype: .float32)
    let src = x.pointer(Float.self)
    let dst = y.mutablePointer(Float.self)
    let n = x.count
    let chunks = n >= grain ? context.threads : 1
    withUnsafePointer(to: op) { op in
        typealias Args = (UnsafeRawPointer, any UnaryOpF32.Type, UnsafePointer<Float>, UnsafeMutablePointer<Float>)
        let args: Args = (UnsafeRawPointer(op), Op.self, src, dst)
        ExecutionContext(threads: chunks).parallelFor(n, with: args) { raw, start, end in
            let (op, type, src, dst) = raw.load(as: Args.self)
            type.row(op, src + start, dst + start, end &- start)
        }
    }
    withExtendedLifetime(x) {}
    return y
}

struct SqrtF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { x.squareRoot() }
}
struct ExpF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { expf(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { lanewise(x, expf) }
}
struct LogF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { logf(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { lanewise(x, logf) }
}
struct AbsF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { Swift.abs(x) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clear the sign bit (also maps -0 to +0 and keeps NaN a NaN).
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x7FFF_FFFF), to: SIMD8<Float>.self)
    }
}
struct NegF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { -x }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { -x }
}
struct ReciprocalF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { 1 / x }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / x }
}
struct FloorF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { x.rounded(.down) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { x.rounded(.down) }
}
struct CeilF32: UnaryOpF32 {
    @inline(__always) func apply(_ x: Float) -> Float { x.rounded(.up) }
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { x.rounded(.up) }
}

/// Integer `Abs` and `Neg` (wrapping: `abs(min)` and `-min` are `min`, as in two's complement C).
enum UnaryIntKind: Sendable { case abs, neg }

/// Integer `Abs`/`Neg` over a whole tensor; `I` matches `x.dtype`.
func unaryMap_int<I: FixedWidthInteger & SignedInteger>(_ kind: UnaryIntKind, _: I.Type, _ x: Tensor, context: ExecutionContext) throws -> Tensor {
    var y = try context.allocate(x.shape, dtype: x.dtype)
    let src = x.pointer(I.self)
    let dst = y.mutablePointer(I.self)
    let n = x.count
    var i = 0
    switch kind {
    case .abs:
        while i < n { let v = src[i]; dst[i] = v < 0 ? 0 &- v : v; i &+= 1 }
    case .neg:
        while i < n { dst[i] = 0 &- src[i]; i &+= 1 }
    }
    withExtendedLifetime(x) {}
    return y
}
