// Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016), interpolation points 0, ±1, ±2 and ∞.
//
// An output tile of 4×4 pixels needs a 6×6 input patch d. With the filter g transformed once at
// load, U = G·g·Gᵀ (6×6), the tile is Y = Aᵀ·[U ⊙ (Bᵀ·d·B)]·A. Summed over input channels, the
// elementwise product becomes 36 independent GEMMs, one per position ξ of the 6×6 transform:
//
//     M_ξ[M × tiles] = U_ξ[M × C] · V_ξ[C × tiles]
//
// 36 multiply-adds per input channel per 16 outputs instead of 144: 4× fewer. The transforms are
// vectorized across tiles: lane l of every vector belongs to tile t0 + l.
//
//   Bᵀ = | 4  0 −5  0  1  0 |     G = |  1/4     0     0  |     Aᵀ = | 1  1  1  1  1  0 |
//        | 0 −4 −4  1  1  0 |         | −1/6  −1/6  −1/6  |          | 0  1 −1  2 −2  0 |
//        | 0  4 −4 −1  1  0 |         | −1/6   1/6  −1/6  |          | 0  1  1  4  4  0 |
//        | 0 −2 −1  2  1  0 |         | 1/24  1/12   1/6  |          | 0  1 −1  8 −8  1 |
//        | 0  2 −1 −2  1  0 |         | 1/24 −1/12   1/6  |
//        | 0  4  0 −5  0  1 |         |   0     0     1   |

/// Geometry of one Winograd F(4,3) convolution over one image: the input plane size, the leading
/// pads, the output plane size and its tiling.
@frozen public struct WinogradGeometry {
    public var inH: Int, inW: Int, padT: Int, padL: Int, outH: Int, outW: Int
    /// Tiles per row and per column: ⌈outW / 4⌉, ⌈outH / 4⌉.
    public var tilesW: Int, tilesH: Int
    /// A geometry.
    @_alwaysEmitIntoClient
    public init(inH: Int, inW: Int, padT: Int, padL: Int, outH: Int, outW: Int) {
        self.inH = inH; self.inW = inW; self.padT = padT; self.padL = padL; self.outH = outH; self.outW = outW
        tilesW = (outW &+ 3) / 4
        tilesH = (outH &+ 3) / 4
    }
    /// All tiles of the image.
    @_alwaysEmitIntoClient public var tiles: Int { tilesW &* tilesH }
}

/// `Bᵀ·d` along one axis: six inputs, six outputs, 12 additions/multiplications.
@_alwaysEmitIntoClient @inline(__always)
func winogradBT<V: KernelVector>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V, V, V, V) {
    let four = V(broadcast: 4), five = V(broadcast: 5), two = V(broadcast: 2)
    let a = d4 - four * d2, b = d3 - four * d1
    let c = d4 - d2, e = two * (d3 - d1)
    return (four * d0 - five * d2 + d4, a + b, a - b, c + e, c - e, four * d1 - five * d3 + d5)
}

/// `Aᵀ·m` along one axis: six inputs, four outputs.
@_alwaysEmitIntoClient @inline(__always)
func winogradAT<V: KernelVector>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V) {
    let p = m1 + m2, q = m1 - m2, s = m3 + m4, u = m3 - m4
    return (m0 + p + s, q + V(broadcast: 2) * u, p + V(broadcast: 4) * s, q + V(broadcast: 8) * u + m5)
}

/// Input transform of one channel for tiles `t0 ..< t0 + count` (tile `t` is row `t / tilesW`,
/// column `t % tilesW`), written as the packed B of the 36 GEMMs: position ξ, channel `c`, local
/// tile `τ` at `dst[ξ·xiStride + (τ / nr)·channels·nr + c·nr + τ % nr]` with `nr = 2·V.lanes`.
/// Lanes past `count` up to a multiple of `V.lanes` are written as zeros.
/// - Parameters:
///   - x: The channel's input plane (`inH × inW`).
///   - scratch: `36 · V.lanes` floats.
@_alwaysEmitIntoClient @inline(__always)
public func winograd43_input_f32<V: KernelVector>(_ x: UnsafePointer<Float>, _ g: WinogradGeometry, t0: Int, count: Int,
                                                  c: Int, channels: Int, xiStride: Int,
                                                  dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                                  vector: V.Type) {
    let L = V.lanes, nr = 2 &* V.lanes
    var tau = 0
    while tau < count {
        // Gather the 6×6 patches of L tiles, lane-minor: scratch[(i·6 + j)·L + l].
        let first = t0 &+ tau
        var th = first / g.tilesW, tw = first &- th &* g.tilesW
        for l in 0..<L {
            if tau &+ l >= count {
                for q in 0..<36 { scratch[q &* L &+ l] = 0 }
                continue
            }
            defer {
                tw &+= 1
                if tw == g.tilesW { tw = 0; th &+= 1 }
            }
            let r0 = th &* 4 &- g.padT, c0 = tw &* 4 &- g.padL
            if r0 >= 0 && c0 >= 0 && r0 &+ 6 <= g.inH && c0 &+ 6 <= g.inW {
                var src = x + (r0 &* g.inW &+ c0)
                for i in 0..<6 {
                    let o = scratch + (i &* 6 &* L &+ l)
                    o[0] = src[0]; o[L] = src[1]; o[2 &* L] = src[2]
                    o[3 &* L] = src[3]; o[4 &* L] = src[4]; o[5 &* L] = src[5]
                    src += g.inW
                }
            } else {
                for i in 0..<6 {
                    let r = r0 &+ i
                    let rowInside = r >= 0 && r < g.inH
                    for j in 0..<6 {
                        let cc = c0 &+ j
                        scratch[(i &* 6 &+ j) &* L &+ l] = rowInside && cc >= 0 && cc < g.inW ? x[r &* g.inW &+ cc] : 0
                    }
                }
            }
        }
        // Bᵀ·d column by column (into scratch, in place), then ·B row by row, straight to dst.
        for j in 0..<6 {
            let p = scratch + j &* L
            let s = 6 &* L
            let (r0, r1, r2, r3, r4, r5) = winogradBT(V(load: p), V(load: p + s), V(load: p + 2 &* s),
                                                      V(load: p + 3 &* s), V(load: p + 4 &* s), V(load: p + 5 &* s))
            r0.store(p); r1.store(p + s); r2.store(p + 2 &* s); r3.store(p + 3 &* s); r4.store(p + 4 &* s); r5.store(p + 5 &* s)
        }
        let out = dst + ((tau / nr) &* channels &* nr &+ c &* nr &+ tau % nr)
        for i in 0..<6 {
            let p = scratch + i &* 6 &* L
            let (v0, v1, v2, v3, v4, v5) = winogradBT(V(load: p), V(load: p + L), V(load: p + 2 &* L),
                                                      V(load: p + 3 &* L), V(load: p + 4 &* L), V(load: p + 5 &* L))
            let o = out + (i &* 6) &* xiStride
            v0.store(o); v1.store(o + xiStride); v2.store(o + 2 &* xiStride)
            v3.store(o + 3 &* xiStride); v4.store(o + 4 &* xiStride); v5.store(o + 5 &* xiStride)
        }
        tau &+= L
    }
}

/// Output transform of one output channel for tiles `t0 ..< t0 + count`: reads the 36 GEMM outputs
/// `m[ξ·xiStride + τ]` (local tile `τ`), computes `Aᵀ·M·A`, applies the epilogue (bias for this
/// channel, residual at the output's layout, activation) and writes the pixels inside the plane.
/// - Parameters:
///   - y: The channel's output plane (`outH × outW`); `residual`, if any, has the same layout.
///   - scratch: `40 · V.lanes` floats.
@_alwaysEmitIntoClient @inline(__always)
public func winograd43_output_f32<V: KernelVector>(_ m: UnsafePointer<Float>, _ g: WinogradGeometry, t0: Int, count: Int,
                                                   xiStride: Int, bias: Float, residual: UnsafePointer<Float>?,
                                                   activation epilogue: Epilogue, y: UnsafeMutablePointer<Float>,
                                                   scratch: UnsafeMutablePointer<Float>, vector: V.Type) {
    let L = V.lanes
    let biasV = V(broadcast: bias)
    var tau = 0
    while tau < count {
        // Aᵀ·M along rows (6 → 4 per column), then along columns: 16 output vectors.
        do {
            let tmp = scratch + 16 &* L
            for j in 0..<6 {
                let p = m + (j &* xiStride &+ tau)
                let s = 6 &* xiStride
                let (a0, a1, a2, a3) = winogradAT(V(load: p), V(load: p + s), V(load: p + 2 &* s),
                                                  V(load: p + 3 &* s), V(load: p + 4 &* s), V(load: p + 5 &* s))
                a0.store(tmp + j &* L); a1.store(tmp + (6 &+ j) &* L); a2.store(tmp + (12 &+ j) &* L); a3.store(tmp + (18 &+ j) &* L)
            }
            for i in 0..<4 {
                let p = tmp + i &* 6 &* L
                let (o0, o1, o2, o3) = winogradAT(V(load: p), V(load: p + L), V(load: p + 2 &* L),
                                                  V(load: p + 3 &* L), V(load: p + 4 &* L), V(load: p + 5 &* L))
                var v0 = o0 + biasV, v1 = o1 + biasV, v2 = o2 + biasV, v3 = o3 + biasV
                if residual == nil {
                    v0 = epilogue.activate(v0); v1 = epilogue.activate(v1); v2 = epilogue.activate(v2); v3 = epilogue.activate(v3)
                }
                let q = scratch + i &* 4 &* L
                v0.store(q); v1.store(q + L); v2.store(q + 2 &* L); v3.store(q + 3 &* L)
            }
        }
        // Scatter each lane's 4×4 tile into the plane, cut at its edges (tiles in order: the tile
        // coordinates advance without a division per lane).
        let lanes = min(L, count &- tau)
        let first = t0 &+ tau
        var th = first / g.tilesW, tw = first &- th &* g.tilesW
        for l in 0..<lanes {
            let oy = th &* 4, ox = tw &* 4
            let q = scratch + l
            if oy &+ 4 <= g.outH && ox &+ 4 <= g.outW {
                for i in 0..<4 {
                    let o = y + ((oy &+ i) &* g.outW &+ ox)
                    let qi = q + i &* 4 &* L
                    if let residual {
                        let r = residual + ((oy &+ i) &* g.outW &+ ox)
                        o[0] = epilogue.activate(qi[0] + r[0], V.self); o[1] = epilogue.activate(qi[L] + r[1], V.self)
                        o[2] = epilogue.activate(qi[2 &* L] + r[2], V.self); o[3] = epilogue.activate(qi[3 &* L] + r[3], V.self)
                    } else {
                        o[0] = qi[0]; o[1] = qi[L]; o[2] = qi[2 &* L]; o[3] = qi[3 &* L]
                    }
                }
            } else {
                let rows = min(4, g.outH &- oy), cols = min(4, g.outW &- ox)
                for i in 0..<rows {
                    let o = y + ((oy &+ i) &* g.outW &+ ox)
                    let qi = q + i &* 4 &* L
                    if let residual {
                        let r = residual + ((oy &+ i) &* g.outW &+ ox)
                        for j in 0..<cols { o[j] = epilogue.activate(qi[j &* L] + r[j], V.self) }
                    } else {
                        for j in 0..<cols { o[j] = qi[j &* L] }
                    }
                }
            }
            tw &+= 1
            if tw == g.tilesW { tw = 0; th &+= 1 }
        }
        tau &+= L
    }
}
