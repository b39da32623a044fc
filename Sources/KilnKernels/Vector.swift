// The vector abstraction every kernel body is written against.
//
// Kernel bodies in this module are generic over `KernelVector` and marked
// `@_alwaysEmitIntoClient`: they are never compiled here. Each ISA module (KilnKernelsBaseline,
// KilnKernelsAVX2, KilnKernelsAVX512) instantiates them with its own vector type and is built with
// its own `-target-cpu`, so one source produces SSE2, AVX2+FMA and AVX-512 machine code.

import CKilnSIMD

/// A float32 vector of a fixed lane count with the handful of operations kernels use.
///
/// Conforming types are thin wrappers around the standard library's SIMD types. `fma` is the one
/// operation whose lowering differs by ISA: the FMA variants use a fused multiply-add (one
/// instruction under a `-target-cpu` that has FMA), the baseline a multiply and an add (a fused
/// multiply-add without hardware support becomes a libm call per lane).
public protocol KernelVector {
    /// Lanes per vector.
    static var lanes: Int { get }
    /// All lanes set to `value`.
    init(broadcast value: Float)
    /// `lanes` floats from `p` (no alignment required).
    init(load p: UnsafePointer<Float>)
    /// `p[0], p[2], …, p[2·(lanes−1)]`: the even elements of `2·lanes` floats (stride-2 windows).
    init(loadEven p: UnsafePointer<Float>)
    /// Writes the lanes to `p` (no alignment required).
    func store(_ p: UnsafeMutablePointer<Float>)
    /// `self + a · b`.
    func fma(_ a: Self, _ b: Self) -> Self
    /// Lane-wise sum.
    static func + (l: Self, r: Self) -> Self
    /// Lane-wise difference.
    static func - (l: Self, r: Self) -> Self
    /// Lane-wise product.
    static func * (l: Self, r: Self) -> Self
    /// Lane-wise quotient.
    static func / (l: Self, r: Self) -> Self
    /// `e^−x` (the sigmoid's term) by ``kilnExpNegated(_:_:fused:)``; `x` is clamped to
    /// `[-88.3, 87.3]` (results stay normal and finite), NaN passes through.
    func expNegated() -> Self
    /// Lane-wise maximum (`lo` where `self` is NaN is *not* taken: NaN passes through).
    func clampedBelow(_ lo: Self) -> Self
    /// Lane-wise minimum (NaN passes through).
    func clampedAbove(_ hi: Self) -> Self
    /// The sum of the lanes.
    func sum() -> Float
    /// Transposes one `lanes × lanes` block: `dst[j·dstStride + i] = src[i·srcStride + j]`, reading
    /// rows `0..<srcRows` of `src` (later rows read as zeros) and writing rows `0..<dstRows` of `dst`.
    /// In registers: `log₂(lanes)` rounds of even/odd de-interleaving of row pairs.
    static func transpose(_ src: UnsafePointer<Float>, srcStride: Int, srcRows: Int,
                          _ dst: UnsafeMutablePointer<Float>, dstStride: Int, dstRows: Int)
}

/// 4 lanes, separate multiply and add: the baseline that runs on any x86-64 (SSE2).
@frozen public struct Vec4: KernelVector {
    /// The lanes.
    public var v: SIMD4<Float>
    @_alwaysEmitIntoClient @inline(__always) public init(_ v: SIMD4<Float>) { self.v = v }
    @_alwaysEmitIntoClient @inline(__always) public static var lanes: Int { 4 }
    @_alwaysEmitIntoClient @inline(__always) public init(broadcast value: Float) { v = SIMD4(repeating: value) }
    @_alwaysEmitIntoClient @inline(__always) public init(load p: UnsafePointer<Float>) {
        v = UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }
    @_alwaysEmitIntoClient @inline(__always) public init(loadEven p: UnsafePointer<Float>) {
        v = kiln_even4(UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self), UnsafeRawPointer(p + 4).loadUnaligned(as: SIMD4<Float>.self))
    }
    @_alwaysEmitIntoClient @inline(__always) public func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
    }
    @_alwaysEmitIntoClient @inline(__always) public func fma(_ a: Vec4, _ b: Vec4) -> Vec4 { Vec4(v + a.v * b.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func + (l: Vec4, r: Vec4) -> Vec4 { Vec4(l.v + r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func - (l: Vec4, r: Vec4) -> Vec4 { Vec4(l.v - r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func * (l: Vec4, r: Vec4) -> Vec4 { Vec4(l.v * r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func / (l: Vec4, r: Vec4) -> Vec4 { Vec4(l.v / r.v) }
    @_alwaysEmitIntoClient @inline(__always) public func expNegated() -> Vec4 {
        let c = clampedBelow(Vec4(broadcast: -88.37626266)).clampedAbove(Vec4(broadcast: 87.33654475))
        return Vec4(kilnExpNegated(c.v, SIMD4<Int32>.self))
    }
    @_alwaysEmitIntoClient @inline(__always) public func clampedBelow(_ lo: Vec4) -> Vec4 { Vec4(v.replacing(with: lo.v, where: v .< lo.v)) }
    @_alwaysEmitIntoClient @inline(__always) public func clampedAbove(_ hi: Vec4) -> Vec4 { Vec4(v.replacing(with: hi.v, where: v .> hi.v)) }
    @_alwaysEmitIntoClient @inline(__always) public func sum() -> Float { v.sum() }
    @_alwaysEmitIntoClient @inline(__always)
    public static func transpose(_ src: UnsafePointer<Float>, srcStride: Int, srcRows: Int,
                                 _ dst: UnsafeMutablePointer<Float>, dstStride: Int, dstRows: Int) {
        @inline(__always) func row(_ i: Int) -> SIMD4<Float> {
            i < srcRows ? UnsafeRawPointer(src + i &* srcStride).loadUnaligned(as: SIMD4<Float>.self) : SIMD4(repeating: 0)
        }
        var r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
        for _ in 0..<2 {
            (r0, r1, r2, r3) = (kiln_even4(r0, r1), kiln_even4(r2, r3), kiln_odd4(r0, r1), kiln_odd4(r2, r3))
        }
        @inline(__always) func put(_ i: Int, _ v: SIMD4<Float>) {
            if i < dstRows { UnsafeMutableRawPointer(dst + i &* dstStride).storeBytes(of: v, as: SIMD4<Float>.self) }
        }
        put(0, r0); put(1, r1); put(2, r2); put(3, r3)
    }
}

/// 8 lanes with fused multiply-add: AVX2 + FMA (`ymm`).
@frozen public struct Vec8: KernelVector {
    /// The lanes.
    public var v: SIMD8<Float>
    @_alwaysEmitIntoClient @inline(__always) public init(_ v: SIMD8<Float>) { self.v = v }
    @_alwaysEmitIntoClient @inline(__always) public static var lanes: Int { 8 }
    @_alwaysEmitIntoClient @inline(__always) public init(broadcast value: Float) { v = SIMD8(repeating: value) }
    @_alwaysEmitIntoClient @inline(__always) public init(load p: UnsafePointer<Float>) {
        v = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @_alwaysEmitIntoClient @inline(__always) public init(loadEven p: UnsafePointer<Float>) {
        v = kiln_even8(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(p + 8).loadUnaligned(as: SIMD8<Float>.self))
    }
    @_alwaysEmitIntoClient @inline(__always) public func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
    @_alwaysEmitIntoClient @inline(__always) public func fma(_ a: Vec8, _ b: Vec8) -> Vec8 { Vec8(v.addingProduct(a.v, b.v)) }
    @_alwaysEmitIntoClient @inline(__always) public static func + (l: Vec8, r: Vec8) -> Vec8 { Vec8(l.v + r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func - (l: Vec8, r: Vec8) -> Vec8 { Vec8(l.v - r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func * (l: Vec8, r: Vec8) -> Vec8 { Vec8(l.v * r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func / (l: Vec8, r: Vec8) -> Vec8 { Vec8(l.v / r.v) }
    @_alwaysEmitIntoClient @inline(__always) public func expNegated() -> Vec8 {
        let c = clampedBelow(Vec8(broadcast: -88.37626266)).clampedAbove(Vec8(broadcast: 87.33654475))
        return Vec8(kilnExpNegated(c.v, SIMD8<Int32>.self, fused: true))
    }
    @_alwaysEmitIntoClient @inline(__always) public func clampedBelow(_ lo: Vec8) -> Vec8 { Vec8(v.replacing(with: lo.v, where: v .< lo.v)) }
    @_alwaysEmitIntoClient @inline(__always) public func clampedAbove(_ hi: Vec8) -> Vec8 { Vec8(v.replacing(with: hi.v, where: v .> hi.v)) }
    @_alwaysEmitIntoClient @inline(__always) public func sum() -> Float { v.sum() }
    @_alwaysEmitIntoClient @inline(__always)
    public static func transpose(_ src: UnsafePointer<Float>, srcStride: Int, srcRows: Int,
                                 _ dst: UnsafeMutablePointer<Float>, dstStride: Int, dstRows: Int) {
        @inline(__always) func row(_ i: Int) -> SIMD8<Float> {
            i < srcRows ? UnsafeRawPointer(src + i &* srcStride).loadUnaligned(as: SIMD8<Float>.self) : SIMD8(repeating: 0)
        }
        var r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7)
        for _ in 0..<3 {
            (r0, r1, r2, r3, r4, r5, r6, r7) = (kiln_even8(r0, r1), kiln_even8(r2, r3), kiln_even8(r4, r5), kiln_even8(r6, r7),
                                                kiln_odd8(r0, r1), kiln_odd8(r2, r3), kiln_odd8(r4, r5), kiln_odd8(r6, r7))
        }
        @inline(__always) func put(_ i: Int, _ v: SIMD8<Float>) {
            if i < dstRows { UnsafeMutableRawPointer(dst + i &* dstStride).storeBytes(of: v, as: SIMD8<Float>.self) }
        }
        put(0, r0); put(1, r1); put(2, r2); put(3, r3); put(4, r4); put(5, r5); put(6, r6); put(7, r7)
    }
}

/// 16 lanes with fused multiply-add: AVX-512 (`zmm`).
@frozen public struct Vec16: KernelVector {
    /// The lanes.
    public var v: SIMD16<Float>
    @_alwaysEmitIntoClient @inline(__always) public init(_ v: SIMD16<Float>) { self.v = v }
    @_alwaysEmitIntoClient @inline(__always) public static var lanes: Int { 16 }
    @_alwaysEmitIntoClient @inline(__always) public init(broadcast value: Float) { v = SIMD16(repeating: value) }
    @_alwaysEmitIntoClient @inline(__always) public init(load p: UnsafePointer<Float>) {
        v = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
    @_alwaysEmitIntoClient @inline(__always) public init(loadEven p: UnsafePointer<Float>) {
        v = kiln_even16(UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self), UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self))
    }
    @_alwaysEmitIntoClient @inline(__always) public func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
    @_alwaysEmitIntoClient @inline(__always) public func fma(_ a: Vec16, _ b: Vec16) -> Vec16 { Vec16(v.addingProduct(a.v, b.v)) }
    @_alwaysEmitIntoClient @inline(__always) public static func + (l: Vec16, r: Vec16) -> Vec16 { Vec16(l.v + r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func - (l: Vec16, r: Vec16) -> Vec16 { Vec16(l.v - r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func * (l: Vec16, r: Vec16) -> Vec16 { Vec16(l.v * r.v) }
    @_alwaysEmitIntoClient @inline(__always) public static func / (l: Vec16, r: Vec16) -> Vec16 { Vec16(l.v / r.v) }
    @_alwaysEmitIntoClient @inline(__always) public func expNegated() -> Vec16 {
        let c = clampedBelow(Vec16(broadcast: -88.37626266)).clampedAbove(Vec16(broadcast: 87.33654475))
        return Vec16(kilnExpNegated(c.v, SIMD16<Int32>.self, fused: true))
    }
    @_alwaysEmitIntoClient @inline(__always) public func clampedBelow(_ lo: Vec16) -> Vec16 { Vec16(v.replacing(with: lo.v, where: v .< lo.v)) }
    @_alwaysEmitIntoClient @inline(__always) public func clampedAbove(_ hi: Vec16) -> Vec16 { Vec16(v.replacing(with: hi.v, where: v .> hi.v)) }
    @_alwaysEmitIntoClient @inline(__always) public func sum() -> Float { v.sum() }
    @_alwaysEmitIntoClient @inline(__always)
    public static func transpose(_ src: UnsafePointer<Float>, srcStride: Int, srcRows: Int,
                                 _ dst: UnsafeMutablePointer<Float>, dstStride: Int, dstRows: Int) {
        @inline(__always) func row(_ i: Int) -> SIMD16<Float> {
            i < srcRows ? UnsafeRawPointer(src + i &* srcStride).loadUnaligned(as: SIMD16<Float>.self) : SIMD16(repeating: 0)
        }
        var r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7)
        var r8 = row(8), r9 = row(9), r10 = row(10), r11 = row(11), r12 = row(12), r13 = row(13), r14 = row(14), r15 = row(15)
        for _ in 0..<4 {
            let e0 = kiln_even16(r0, r1), e1 = kiln_even16(r2, r3), e2 = kiln_even16(r4, r5), e3 = kiln_even16(r6, r7)
            let e4 = kiln_even16(r8, r9), e5 = kiln_even16(r10, r11), e6 = kiln_even16(r12, r13), e7 = kiln_even16(r14, r15)
            let o0 = kiln_odd16(r0, r1), o1 = kiln_odd16(r2, r3), o2 = kiln_odd16(r4, r5), o3 = kiln_odd16(r6, r7)
            let o4 = kiln_odd16(r8, r9), o5 = kiln_odd16(r10, r11), o6 = kiln_odd16(r12, r13), o7 = kiln_odd16(r14, r15)
            r0 = e0; r1 = e1; r2 = e2; r3 = e3; r4 = e4; r5 = e5; r6 = e6; r7 = e7
            r8 = o0; r9 = o1; r10 = o2; r11 = o3; r12 = o4; r13 = o5; r14 = o6; r15 = o7
        }
        @inline(__always) func put(_ i: Int, _ v: SIMD16<Float>) {
            if i < dstRows { UnsafeMutableRawPointer(dst + i &* dstStride).storeBytes(of: v, as: SIMD16<Float>.self) }
        }
        put(0, r0); put(1, r1); put(2, r2); put(3, r3); put(4, r4); put(5, r5); put(6, r6); put(7, r7)
        put(8, r8); put(9, r9); put(10, r10); put(11, r11); put(12, r12); put(13, r13); put(14, r14); put(15, r15)
    }
}

/// `Base` as instantiated by one ISA module: `Module` is a type of that module, so every kernel
/// specialized on this vector gets a symbol name of its own.
///
/// Why: a generic kernel specialized on `Vec16` in two modules (say, the AVX-512 module and a test
/// table of 16-lane code in the AVX2 module) is emitted as a weak symbol of the *same* name in both
/// objects, and the linker keeps one of them for every caller: the AVX-512 table then ran code
/// compiled for Haswell (each `SIMD16` split in two `ymm` halves, accumulators spilled; measured
/// 2× slower on an Intel Xeon), and the reverse choice would put AVX-512 instructions behind a
/// narrower table. A module-local `Module` makes the specializations distinct; the forwarding
/// below is inlined away.
@frozen public struct ModuleVector<Base: KernelVector, Module>: KernelVector {
    /// The vector.
    public var base: Base
    @_alwaysEmitIntoClient @inline(__always) public init(_ base: Base) { self.base = base }
    @_alwaysEmitIntoClient @inline(__always) public static var lanes: Int { Base.lanes }
    @_alwaysEmitIntoClient @inline(__always) public init(broadcast value: Float) { base = Base(broadcast: value) }
    @_alwaysEmitIntoClient @inline(__always) public init(load p: UnsafePointer<Float>) { base = Base(load: p) }
    @_alwaysEmitIntoClient @inline(__always) public init(loadEven p: UnsafePointer<Float>) { base = Base(loadEven: p) }
    @_alwaysEmitIntoClient @inline(__always) public func store(_ p: UnsafeMutablePointer<Float>) { base.store(p) }
    @_alwaysEmitIntoClient @inline(__always) public func fma(_ a: Self, _ b: Self) -> Self { Self(base.fma(a.base, b.base)) }
    @_alwaysEmitIntoClient @inline(__always) public static func + (l: Self, r: Self) -> Self { Self(l.base + r.base) }
    @_alwaysEmitIntoClient @inline(__always) public static func - (l: Self, r: Self) -> Self { Self(l.base - r.base) }
    @_alwaysEmitIntoClient @inline(__always) public static func * (l: Self, r: Self) -> Self { Self(l.base * r.base) }
    @_alwaysEmitIntoClient @inline(__always) public static func / (l: Self, r: Self) -> Self { Self(l.base / r.base) }
    @_alwaysEmitIntoClient @inline(__always) public func expNegated() -> Self { Self(base.expNegated()) }
    @_alwaysEmitIntoClient @inline(__always) public func clampedBelow(_ lo: Self) -> Self { Self(base.clampedBelow(lo.base)) }
    @_alwaysEmitIntoClient @inline(__always) public func clampedAbove(_ hi: Self) -> Self { Self(base.clampedAbove(hi.base)) }
    @_alwaysEmitIntoClient @inline(__always) public func sum() -> Float { base.sum() }
    @_alwaysEmitIntoClient @inline(__always)
    public static func transpose(_ src: UnsafePointer<Float>, srcStride: Int, srcRows: Int,
                                 _ dst: UnsafeMutablePointer<Float>, dstStride: Int, dstRows: Int) {
        Base.transpose(src, srcStride: srcStride, srcRows: srcRows, dst, dstStride: dstStride, dstRows: dstRows)
    }
}

/// `e^−x` lane by lane, for `x` already clamped to `[-88.3, 87.3]`: `−x = n·ln2 + r` with
/// `n = round(−x·log₂e)` found by adding 1.5·2²³ (plain vector adds; SIMD rounding needs SSE4.1), a
/// polynomial for `e^r` on `|r| ≤ ln2/2` in Estrin's form, and `2ⁿ` built in the exponent bits.
///
/// Written for a short dependency chain, which is what bounds it: a SiLU pass keeps only a few
/// vectors in flight (the FP scheduler fills with their ~20 operations each), so its speed is the
/// chain's latency, not the operation count. Estrin's form has depth 3 where Horner's has 5 or 6,
/// and `n` comes straight from `x`, so the negation is off the chain.
/// - `fused` (the AVX2 and AVX-512 variants, where a fused multiply-add is one instruction): one
///   `ln2` constant in a fused multiply-add, and a degree-5 polynomial (coefficients fitted for
///   relative error, Lawson-weighted least squares on Chebyshev nodes: 1.05e-7 on the interval).
///   Relative error ≤ 2e-7 for `|x| ≤ 16`, ≤ 4e-7 at the ends of the range (the rounding of `ln2`,
///   1.9e-9, times `|n|` up to 127). For a 32 × 112² SiLU pass on Zen 4: 2.3 ns per 8-lane vector,
///   against 3.3 with the Cephes `expf` scheme (two-part `ln2`, degree 7 in Horner form) used before.
/// - Not `fused` (the baseline, where a fused multiply-add would be a libm call per lane; and
///   `exp8_f32` of Kiln's `Exp`, `Sigmoid`, `Softmax`): `ln2` split in two so the reduction is exact,
///   and a degree-6 polynomial (3e-9 on the interval): within 2 ulp.
@_alwaysEmitIntoClient @inline(__always)
public func kilnExpNegated<F: SIMD, I: SIMD>(_ x: F, _: I.Type, fused: Bool = false) -> F where F.Scalar == Float, I.Scalar == Int32 {
    @inline(__always) func madd(_ a: F, _ b: F, _ c: F) -> F { fused ? c.addingProduct(a, b) : a * b + c }
    let magic = F(repeating: 12_582_912)
    let t = madd(x, F(repeating: -1.44269504088896341), magic)
    let n = t - magic
    let negX = F(repeating: 0) - x
    let er: F
    if fused {
        let r = madd(n, F(repeating: -0.693147182464599609375), negX)
        let r2 = r * r
        let c23 = madd(F(repeating: 0.16667114198207855), r, F(repeating: 0.499992311000824))
        let c45 = madd(F(repeating: 0.008312525227665901), r, F(repeating: 0.041890114545822144))
        er = madd(madd(c45, r2, c23), r2, r + 1)
    } else {
        let r = madd(n, F(repeating: 2.12194440e-4), madd(n, F(repeating: -0.693359375), negX))
        let r2 = r * r, r4 = r2 * r2
        let c23 = madd(F(repeating: 0.1666652113199234), r, F(repeating: 0.4999999403953552))
        let c456 = madd(madd(F(repeating: 0.001381461275741458), r, F(repeating: 0.008368710055947304)),
                        r, F(repeating: 0.04166838899254799))
        er = madd(c456, r4, madd(c23, r2, r + 1))
    }
    let ni = unsafeBitCast(t, to: I.self) &- unsafeBitCast(magic, to: I.self)
    let bits = (ni &+ I(repeating: 127)) &<< I(repeating: 23)
    return er * unsafeBitCast(bits, to: F.self)
}
