// Kiln's own single-precision GEMM: C[M×N] = A[M×K] · B[K×N], then the epilogue.
//
// Blocking (GotoBLAS/BLIS family, sized for a 32–48 KiB L1 and ≥ 512 KiB L2 per core):
//   for each block of ≤ gemmNC columns          (a thread's share of N)
//     for each chunk of ≤ gemmKC reductions    (KC)
//       pack B[KC × NC] into NR-wide micro-panels   (≤ 256 KiB: stays in L2)
//       for each MR-row panel of A               (KC × MR: stays in L1)
//         for each NR-wide micro-panel of B        (streams from L2)
//           micro-kernel: MR × NR accumulators in registers, K loop of broadcast-A × vector-B FMAs
// A is normally a weight matrix packed once at load (`packA`), so a convolution does no weight work
// per inference. B is packed per call from a row-major matrix, straight from an NCHW input through
// an implicit im2col (no column matrix is ever materialized), or prepacked at load.

/// Reductions per packed chunk.
public let gemmKC = 256
/// Columns per packed block of B.
public let gemmNC = 256
/// Rows of the micro-kernel's output tile.
public let gemmMR = 6
/// Row panels per block of A (MC = 20 · MR = 120 rows: 120 KiB of A per KC chunk, in L2).
public let gemmMCPanels = 20

/// Where B comes from.
@frozen public enum GemmBSource {
    /// Row-major `[K × N]` with row stride `ldb`.
    case matrix(UnsafePointer<Float>, ldb: Int)
    /// Packed at load by `packB` (micro-panels of `[K × NR]`).
    case packed(UnsafePointer<Float>)
    /// The implicit im2col matrix of a 2-D convolution over one image and group:
    /// row `k = (c·kH + i)·kW + j`, column `n = oh·outW + ow` is
    /// `x[c][oh·sH − padT + i·dH][ow·sW − padL + j·dW]`, or 0 outside the image.
    case im2col(UnsafePointer<Float>, ConvWindow)
}

/// The window of a 2-D convolution over one plane or image: sizes, kernel, strides, dilations and
/// the leading pads (the implicit im2col of the GEMM path, the depthwise kernel).
@frozen public struct ConvWindow {
    public var inH: Int, inW: Int, outH: Int, outW: Int
    public var kH: Int, kW: Int, sH: Int, sW: Int, dH: Int, dW: Int, padT: Int, padL: Int
    /// A window.
    @_alwaysEmitIntoClient
    public init(inH: Int, inW: Int, outH: Int, outW: Int, kH: Int, kW: Int, sH: Int, sW: Int,
                dH: Int, dW: Int, padT: Int, padL: Int) {
        self.inH = inH; self.inW = inW; self.outH = outH; self.outW = outW
        self.kH = kH; self.kW = kW; self.sH = sH; self.sW = sW; self.dH = dH; self.dW = dW
        self.padT = padT; self.padL = padL
    }
}

/// Where A comes from.
@frozen public enum GemmASource {
    /// Packed at load by `gemm_packA_f32` (chunk-major panels of `[kc × MR]`, rows past M zero).
    case packed(UnsafePointer<Float>)
    /// Row-major `[M × K]` with row stride `lda`, packed per call.
    case matrix(UnsafePointer<Float>, lda: Int)
}

/// One GEMM. Pointers are borrowed for the duration of the call.
@frozen public struct GemmProblem {
    public var m: Int, n: Int, k: Int
    public var a: GemmASource
    public var b: GemmBSource
    /// Row-major output, row stride `ldc`.
    public var c: UnsafeMutablePointer<Float>
    public var ldc: Int
    /// Applied to the finished tile. `bias` is per row (per column when `biasPerColumn`).
    public var epilogue: Epilogue
    /// Bias indexed by column (a linear layer `x·Wᵀ + b`) instead of by row.
    public var biasPerColumn: Bool
    /// A problem.
    @_alwaysEmitIntoClient
    public init(m: Int, n: Int, k: Int, a: GemmASource, b: GemmBSource, c: UnsafeMutablePointer<Float>, ldc: Int,
                epilogue: Epilogue = Epilogue(), biasPerColumn: Bool = false) {
        self.m = m; self.n = n; self.k = k; self.a = a; self.b = b; self.c = c; self.ldc = ldc
        self.epilogue = epilogue; self.biasPerColumn = biasPerColumn
    }
}

/// Floats of workspace one call of ``gemm_f32(_:mPanels:columns:workspace:vector:)`` needs.
@_alwaysEmitIntoClient
public func gemmWorkspaceCount(nr: Int) -> Int { gemmKC &* gemmNC &+ gemmKC &* gemmMR &* gemmMCPanels &+ 64 }

/// Floats of a packed A (`packA`) for an `m × k` matrix.
@_alwaysEmitIntoClient
public func gemmPackedACount(m: Int, k: Int) -> Int { (m &+ gemmMR &- 1) / gemmMR &* gemmMR &* k }

/// Floats of a packed B (`packB`) for a `k × n` matrix with micro-panels `nr` wide.
@_alwaysEmitIntoClient
public func gemmPackedBCount(k: Int, n: Int, nr: Int) -> Int { (n &+ nr &- 1) / nr &* nr &* k }

/// Packs a row-major `[m × k]` matrix (row stride `lda`) into panels of `[kc × MR]`, zero rows past
/// `m`, chunk-major: for each chunk of ``gemmKC`` reductions (starting at `k0`, `kc` long), all the
/// row panels of that chunk in order, panel `p` at `k0·Mpad + p·MR·kc` (`Mpad` = rows rounded up to
/// MR). A block of row panels for one chunk is then one contiguous run the GEMM streams through,
/// instead of `MR·k`-strided pieces (ResNet's 512×4608 weights: 20 streams 110 KB apart).
@_alwaysEmitIntoClient
public func gemm_packA_f32(_ a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, into dst: UnsafeMutablePointer<Float>) {
    var p = dst
    var k0 = 0
    while k0 < k {
        let kc = min(gemmKC, k &- k0)
        var i0 = 0
        while i0 < m {
            let rows = min(gemmMR, m &- i0)
            for kk in k0..<(k0 &+ kc) {
                for r in 0..<gemmMR {
                    p[r] = r < rows ? a[(i0 &+ r) &* lda &+ kk] : 0
                }
                p += gemmMR
            }
            i0 &+= gemmMR
        }
        k0 &+= kc
    }
}

/// Packs a row-major `[k × n]` matrix (row stride `ldb`) into micro-panels of `[k × nr]`, zero past `n`.
@_alwaysEmitIntoClient
public func gemm_packB_f32(_ b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, nr: Int, into dst: UnsafeMutablePointer<Float>) {
    var p = dst
    var j0 = 0
    while j0 < n {
        let cols = min(nr, n &- j0)
        for kk in 0..<k {
            let row = b + kk &* ldb + j0
            for j in 0..<nr { p[j] = j < cols ? row[j] : 0 }
            p += nr
        }
        j0 &+= nr
    }
}

/// Packs rows `k0..<k0+kc`, columns `n0..<n0+nc` of B into micro-panels of `[kc × NR]` at `dst`
/// (`NR = 2·V.lanes`), zero past the last column.
@_alwaysEmitIntoClient @inline(__always)
public func gemm_packBBlock_f32<V: KernelVector>(_ source: GemmBSource, k0: Int, kc: Int, n0: Int, nc: Int, n: Int,
                                                 into dst: UnsafeMutablePointer<Float>, vector: V.Type) {
    let nr = 2 &* V.lanes
    switch source {
    case let .matrix(b, ldb):
        var j0 = 0
        while j0 < nc {
            let cols = min(nr, nc &- j0)
            let panel = dst + (j0 / nr) &* kc &* nr
            if cols == nr {
                for kk in 0..<kc {
                    let row = b + ((k0 &+ kk) &* ldb &+ n0 &+ j0)
                    V(load: row).store(panel + kk &* nr)
                    V(load: row + V.lanes).store(panel + kk &* nr + V.lanes)
                }
            } else {
                for kk in 0..<kc {
                    let row = b + ((k0 &+ kk) &* ldb &+ n0 &+ j0)
                    let out = panel + kk &* nr
                    for j in 0..<nr { out[j] = j < cols ? row[j] : 0 }
                }
            }
            j0 &+= nr
        }
    case .packed:
        break // already in place; the caller reads the panels directly
    case let .im2col(x, w):
        gemm_packIm2colPanels_f32(x, w, k0: k0, kc: kc, n0: n0, nc: nc, into: dst, vector: V.self)
    }
    _ = n
}

/// The implicit-im2col packer by micro-panels (`NR = 2·V.lanes` columns): a panel whose columns lie
/// in one output row and whose every window is inside the image (most of a stem convolution's
/// panels: 5 of 7 per row for ResNet's 7×7 stride 2, 6 of 7 for a 3×3 stride 2) is written row by
/// row of the column matrix as two whole-vector copies from the input, strided loads for stride 2,
/// with no bounds to check; a whole panel at the border or across the end of an output row is
/// written per row run with bounds; only a last, partial panel goes through
/// ``gemm_packIm2col_f32(_:_:k0:kc:n0:nc:nr:into:vector:)``.
/// Before, every panel took the general packer's per-piece bookkeeping, a quarter of ResNet's stem.
@_alwaysEmitIntoClient @inline(__always)
public func gemm_packIm2colPanels_f32<V: KernelVector>(_ x: UnsafePointer<Float>, _ w: ConvWindow, k0: Int, kc: Int,
                                                       n0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>,
                                                       vector: V.Type) {
    let L = V.lanes, nr = 2 &* V.lanes
    guard w.outW >= nr, w.sW == 1 || w.sW == 2 else {
        gemm_packIm2col_f32(x, w, k0: k0, kc: kc, n0: n0, nc: nc, nr: nr, into: dst, vector: V.self)
        return
    }
    let area = w.kH &* w.kW, plane = w.inH &* w.inW
    let panelStride = kc &* nr
    // Input rows and columns every tap of output row oh / column ow reads.
    let spanH = (w.kH &- 1) &* w.dH, spanW = (w.kW &- 1) &* w.dW
    var j0 = 0
    while j0 < nc {
        let cols = min(nr, nc &- j0)
        let col = n0 &+ j0
        let oh = col / w.outW, ow = col &- oh &* w.outW
        let ih0 = oh &* w.sH &- w.padT, iw0 = ow &* w.sW &- w.padL
        // Every load inside its input row: a stride-2 load reads 2·L floats, one past the last it keeps.
        let interior = cols == nr && ow &+ nr <= w.outW && ih0 >= 0 && ih0 &+ spanH < w.inH && iw0 >= 0
            && iw0 &+ spanW &+ (w.sW == 1 ? nr &- 1 : 2 &* nr &- 1) < w.inW
        let panel = dst + (j0 / nr) &* panelStride
        if interior {
            let base = x + (ih0 &* w.inW &+ iw0)
            var c = k0 / area, r = k0 &- c &* area
            var i = r / w.kW, j = r &- i &* w.kW
            var out = panel
            for _ in 0..<kc {
                let s = base + (c &* plane &+ i &* w.dH &* w.inW &+ j &* w.dW)
                if w.sW == 1 {
                    V(load: s).store(out); V(load: s + L).store(out + L)
                } else {
                    V(loadEven: s).store(out); V(loadEven: s + 2 &* L).store(out + L)
                }
                out += nr
                j &+= 1
                if j == w.kW {
                    j = 0; i &+= 1
                    if i == w.kH { i = 0; c &+= 1 }
                }
            }
        } else if cols == nr {
            // A whole panel at the image's border (the first and last panels of a padded stem's rows),
            // or across the end of an output row (a 111-wide map's panels: one in seven), in runs
            // that each stay in one output row: per reduction row, whole vectors where a whole-panel
            // run is inside the input row, else zeros and the columns that are inside, one by one.
            let zero = V(broadcast: 0)
            var done = 0, runOh = oh, runOw = ow
            while done < nr {
                let run = min(nr &- done, w.outW &- runOw)
                let rih0 = runOh &* w.sH &- w.padT, riw0 = runOw &* w.sW &- w.padL
                var c = k0 / area, r = k0 &- c &* area
                var i = r / w.kW, j = r &- i &* w.kW
                var out = panel + done
                for _ in 0..<kc {
                    let ih = rih0 &+ i &* w.dH
                    if ih < 0 || ih >= w.inH {
                        if run == nr { zero.store(out); zero.store(out + L) } else { out.update(repeating: 0, count: run) }
                    } else {
                        let iwj = riw0 &+ j &* w.dW
                        let s = x + (c &* plane &+ ih &* w.inW &+ iwj)
                        // Columns e with 0 ≤ iwj + e·sW < inW.
                        let eLo = iwj >= 0 ? 0 : min(run, (-iwj &+ w.sW &- 1) / w.sW)
                        let eHi = iwj >= w.inW ? 0 : min(run, (w.inW &- 1 &- iwj) / w.sW &+ 1)
                        let reach = w.sW == 1 ? nr : 2 &* nr // floats a whole-vector load reads
                        if run == nr && eLo == 0 && iwj &+ reach <= w.inW {
                            if w.sW == 1 {
                                V(load: s).store(out); V(load: s + L).store(out + L)
                            } else {
                                V(loadEven: s).store(out); V(loadEven: s + 2 &* L).store(out + L)
                            }
                        } else {
                            if run == nr { zero.store(out); zero.store(out + L) } else { out.update(repeating: 0, count: run) }
                            var e = eLo
                            while e < eHi { out[e] = s[e &* w.sW]; e &+= 1 }
                        }
                    }
                    out += nr
                    j &+= 1
                    if j == w.kW {
                        j = 0; i &+= 1
                        if i == w.kH { i = 0; c &+= 1 }
                    }
                }
                done &+= run
                runOh &+= 1
                runOw = 0
            }
        } else {
            gemm_packIm2col_f32(x, w, k0: k0, kc: kc, n0: col, nc: cols, nr: nr, into: panel, vector: V.self)
        }
        j0 &+= nr
    }
}

/// The implicit-im2col packer: rows `k0..<k0+kc`, columns `n0..<n0+nc` of the column matrix of
/// `x` (`[C, inH, inW]`), into micro-panels `nr` wide.
///
/// Each row of the column matrix is, along one output row, a strided run of one input row with
/// zeros where the window leaves the image. The packer walks those runs and cuts them at
/// micro-panel boundaries, so every piece is a plain copy (or zero fill) between two pointers.
@_alwaysEmitIntoClient @inline(__always)
public func gemm_packIm2col_f32<V: KernelVector>(_ x: UnsafePointer<Float>, _ w: ConvWindow, k0: Int, kc: Int, n0: Int,
                                                 nc: Int, nr: Int, into dst: UnsafeMutablePointer<Float>, vector: V.Type) {
    let L = V.lanes
    let area = w.kH &* w.kW
    let panelStride = kc &* nr
    // Zero the padding columns of the last micro-panel once.
    if nc % nr != 0 {
        let lastPanel = dst + (nc / nr) &* panelStride
        for kk in 0..<kc {
            for j in (nc % nr)..<nr { lastPanel[kk &* nr &+ j] = 0 }
        }
    }
    let ohFirst = n0 / w.outW
    let owFirst = n0 &- ohFirst &* w.outW
    for kk in 0..<kc {
        let k = k0 &+ kk
        let c = k / area, r = k &- c &* area
        let i = r / w.kW, j = r &- i &* w.kW
        let plane = x + c &* w.inH &* w.inW
        let ihBase = i &* w.dH &- w.padT
        let iwBase = j &* w.dW &- w.padL
        // Output columns ow with 0 ≤ ow·sW + iwBase < inW: [owLo, owHi).
        let owLo = iwBase >= 0 ? 0 : min(w.outW, (-iwBase &+ w.sW &- 1) / w.sW)
        let owHi = w.inW &- iwBase > 0 ? max(owLo, min(w.outW, (w.inW &- iwBase &- 1) / w.sW &+ 1)) : owLo
        let rowDst = dst + kk &* nr
        var col = 0
        var oh = ohFirst
        var ow = owFirst
        while col < nc {
            let run = min(w.outW &- ow, nc &- col)
            let ih = oh &* w.sH &+ ihBase
            let rowValid = ih >= 0 && ih < w.inH
            let src = plane + (rowValid ? ih &* w.inW : 0)
            // Pieces of the run [ow, ow+run) that stay inside one micro-panel.
            var t = 0
            while t < run {
                let cc = col &+ t
                let inPanel = cc % nr
                let piece = min(run &- t, nr &- inPanel)
                let out = rowDst + ((cc / nr) &* panelStride &+ inPanel)
                let o0 = ow &+ t, o1 = o0 &+ piece
                if !rowValid || o1 <= owLo || o0 >= owHi {
                    for q in 0..<piece { out[q] = 0 }
                } else {
                    let a = max(o0, owLo), b = min(o1, owHi)
                    var q = 0
                    while q < a &- o0 { out[q] = 0; q &+= 1 }
                    if w.sW == 1 {
                        let s = src + (a &+ iwBase)
                        let o = out + (a &- o0)
                        let count = b &- a
                        var e = 0
                        while e &+ L <= count { V(load: s + e).store(o + e); e &+= L }
                        while e < count { o[e] = s[e]; e &+= 1 }
                    } else if w.sW == 2 {
                        // Even lanes of 2·L consecutive floats, while those stay inside the row.
                        let first = a &* 2 &+ iwBase
                        let s = src + first
                        let o = out + (a &- o0)
                        let count = b &- a
                        var e = 0
                        while e &+ L <= count && first &+ 2 &* (e &+ L) <= w.inW {
                            V(loadEven: s + 2 &* e).store(o + e)
                            e &+= L
                        }
                        while e < count { o[e] = s[2 &* e]; e &+= 1 }
                    } else {
                        var iw = a &* w.sW &+ iwBase
                        let o = out + (a &- o0)
                        for e in 0..<(b &- a) { o[e] = src[iw]; iw &+= w.sW }
                    }
                    q = b &- o0
                    while q < piece { out[q] = 0; q &+= 1 }
                }
                t &+= piece
            }
            col &+= run
            ow = 0
            oh &+= 1
        }
    }
}

/// Stores the `rows × cols` corner of a tile held in `t` (row stride `stride`) to C, element by
/// element, with the accumulation and the epilogue: the edge path of the micro-kernels.
@_alwaysEmitIntoClient @inline(__always)
public func gemm_storeEdge_f32<V: KernelVector>(_ t: UnsafePointer<Float>, stride: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                               rows: Int, cols: Int, accumulate: Bool, final: Bool, epilogue: Epilogue,
                               biasPerColumn: Bool, row0: Int, col0: Int, residual: UnsafePointer<Float>?,
                                                  vector: V.Type) {
    for r in 0..<rows {
        let out = c + r &* ldc
        for j in 0..<cols {
            var y = t[r &* stride &+ j]
            if accumulate { y += out[j] }
            if final {
                if let bias = epilogue.bias { y += biasPerColumn ? bias[col0 &+ j] : bias[row0 &+ r] }
                if let residual { y += residual[r &* epilogue.residualStride &+ j] }
                y = epilogue.activate(y, V.self)
            }
            out[j] = y
        }
    }
}

/// How many rows of a 6-row A micro-panel a micro-kernel computes, as a type so that each
/// instantiation is compiled with the others' multiply-adds removed.
public protocol GemmMicroRows {
    /// Rows computed (the panel's layout stays 6 rows wide).
    static var count: Int { get }
}
/// All six rows: the full micro-tile.
public enum GemmMicroRows6: GemmMicroRows {
    @_alwaysEmitIntoClient @inline(__always) public static var count: Int { 6 }
}
/// The first four rows: a last row panel with at most four valid rows (a 16-channel layer's rows
/// 12–15, a 64- or 40-channel layer's last four, a 32- or 128-channel layer's last two). Its eight
/// chains keep both FMA units busy, where the full tile's twelve spent a third of their
/// multiply-adds on rows of zeros.
public enum GemmMicroRows4: GemmMicroRows {
    @_alwaysEmitIntoClient @inline(__always) public static var count: Int { 4 }
}

/// The MR × 2V micro-kernel: `acc = A_panel[kc × MR]ᵀ · B_panel[kc × 2V]` in registers, then
/// accumulated into / stored to C with the epilogue when `final`. `R`: the rows computed (6, or 4
/// for a last panel of at most 4 valid rows; `rows` ≤ `R.count`).
@_alwaysEmitIntoClient @inline(__always)
public func gemm_micro_f32<V: KernelVector, R: GemmMicroRows>(_ kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                            c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                                            accumulate: Bool, final: Bool, epilogue: Epilogue,
                                            biasPerColumn: Bool, row0: Int, col0: Int,
                                            residual: UnsafePointer<Float>?, vector: V.Type, rowCount: R.Type) {
    let L = V.lanes
    var c00 = V(broadcast: 0), c01 = V(broadcast: 0), c10 = V(broadcast: 0), c11 = V(broadcast: 0)
    var c20 = V(broadcast: 0), c21 = V(broadcast: 0), c30 = V(broadcast: 0), c31 = V(broadcast: 0)
    var c40 = V(broadcast: 0), c41 = V(broadcast: 0), c50 = V(broadcast: 0), c51 = V(broadcast: 0)
    var ap = a, bp = b
    // The K loop, unrolled by 4 by hand: the loop's own bookkeeping otherwise costs ~20% of the FMA
    // rate (Zen 3, L1-resident 6×16 tile: 73 → 89 GFLOPS). Written out rather than through a local
    // function, which would capture the accumulators and keep them in memory.
    var b0 = V(broadcast: 0), b1 = V(broadcast: 0), av = V(broadcast: 0)
    var kk = kc
    while kk >= 4 {
        b0 = V(load: bp); b1 = V(load: bp + L)
        av = V(broadcast: ap[0]); c00 = c00.fma(av, b0); c01 = c01.fma(av, b1)
        av = V(broadcast: ap[1]); c10 = c10.fma(av, b0); c11 = c11.fma(av, b1)
        av = V(broadcast: ap[2]); c20 = c20.fma(av, b0); c21 = c21.fma(av, b1)
        av = V(broadcast: ap[3]); c30 = c30.fma(av, b0); c31 = c31.fma(av, b1)
        if R.count > 4 { av = V(broadcast: ap[4]); c40 = c40.fma(av, b0); c41 = c41.fma(av, b1) }
        if R.count > 4 { av = V(broadcast: ap[5]); c50 = c50.fma(av, b0); c51 = c51.fma(av, b1) }
        b0 = V(load: bp + 2 &* L); b1 = V(load: bp + (2 + 1) &* L)
        av = V(broadcast: ap[6]); c00 = c00.fma(av, b0); c01 = c01.fma(av, b1)
        av = V(broadcast: ap[7]); c10 = c10.fma(av, b0); c11 = c11.fma(av, b1)
        av = V(broadcast: ap[8]); c20 = c20.fma(av, b0); c21 = c21.fma(av, b1)
        av = V(broadcast: ap[9]); c30 = c30.fma(av, b0); c31 = c31.fma(av, b1)
        if R.count > 4 { av = V(broadcast: ap[10]); c40 = c40.fma(av, b0); c41 = c41.fma(av, b1) }
        if R.count > 4 { av = V(broadcast: ap[11]); c50 = c50.fma(av, b0); c51 = c51.fma(av, b1) }
        b0 = V(load: bp + 4 &* L); b1 = V(load: bp + (4 + 1) &* L)
        av = V(broadcast: ap[12]); c00 = c00.fma(av, b0); c01 = c01.fma(av, b1)
        av = V(broadcast: ap[13]); c10 = c10.fma(av, b0); c11 = c11.fma(av, b1)
        av = V(broadcast: ap[14]); c20 = c20.fma(av, b0); c21 = c21.fma(av, b1)
        av = V(broadcast: ap[15]); c30 = c30.fma(av, b0); c31 = c31.fma(av, b1)
        if R.count > 4 { av = V(broadcast: ap[16]); c40 = c40.fma(av, b0); c41 = c41.fma(av, b1) }
        if R.count > 4 { av = V(broadcast: ap[17]); c50 = c50.fma(av, b0); c51 = c51.fma(av, b1) }
        b0 = V(load: bp + 6 &* L); b1 = V(load: bp + (6 + 1) &* L)
        av = V(broadcast: ap[18]); c00 = c00.fma(av, b0); c01 = c01.fma(av, b1)
        av = V(broadcast: ap[19]); c10 = c10.fma(av, b0); c11 = c11.fma(av, b1)
        av = V(broadcast: ap[20]); c20 = c20.fma(av, b0); c21 = c21.fma(av, b1)
        av = V(broadcast: ap[21]); c30 = c30.fma(av, b0); c31 = c31.fma(av, b1)
        if R.count > 4 { av = V(broadcast: ap[22]); c40 = c40.fma(av, b0); c41 = c41.fma(av, b1) }
        if R.count > 4 { av = V(broadcast: ap[23]); c50 = c50.fma(av, b0); c51 = c51.fma(av, b1) }
        ap += 24
        bp += 8 &* L
        kk &-= 4
    }
    while kk > 0 {
        b0 = V(load: bp); b1 = V(load: bp + L)
        av = V(broadcast: ap[0]); c00 = c00.fma(av, b0); c01 = c01.fma(av, b1)
        av = V(broadcast: ap[1]); c10 = c10.fma(av, b0); c11 = c11.fma(av, b1)
        av = V(broadcast: ap[2]); c20 = c20.fma(av, b0); c21 = c21.fma(av, b1)
        av = V(broadcast: ap[3]); c30 = c30.fma(av, b0); c31 = c31.fma(av, b1)
        if R.count > 4 { av = V(broadcast: ap[4]); c40 = c40.fma(av, b0); c41 = c41.fma(av, b1) }
        if R.count > 4 { av = V(broadcast: ap[5]); c50 = c50.fma(av, b0); c51 = c51.fma(av, b1) }
        ap += 6
        bp += 2 &* L
        kk &-= 1
    }
    let nr = 2 &* L
    if cols == nr {
        // Full width: vector stores for the valid rows (a panel past M's last multiple of MR, e.g.
        // rows 12..<16 of a 16-channel layer, is a third of such a layer's tiles: the scalar edge
        // path made MobileNetV3's 16-channel 112×112 convolutions 5× slower than the full tiles).
        let ep = epilogue
        @inline(__always) func put(_ r: Int, _ x0: V, _ x1: V) {
            let out = c + r &* ldc
            var y0 = x0, y1 = x1
            if accumulate { y0 = y0 + V(load: out); y1 = y1 + V(load: out + L) }
            if final {
                if let bias = ep.bias {
                    if biasPerColumn {
                        y0 = y0 + V(load: bias + col0); y1 = y1 + V(load: bias + col0 + L)
                    } else {
                        let bv = V(broadcast: bias[row0 &+ r]); y0 = y0 + bv; y1 = y1 + bv
                    }
                }
                if let residual {
                    let rp = residual + r &* ep.residualStride
                    y0 = y0 + V(load: rp); y1 = y1 + V(load: rp + L)
                }
                y0 = ep.activate(y0); y1 = ep.activate(y1)
            }
            y0.store(out); y1.store(out + L)
        }
        put(0, c00, c01)
        if rows > 1 { put(1, c10, c11) }
        if rows > 2 { put(2, c20, c21) }
        if rows > 3 { put(3, c30, c31) }
        if R.count > 4 && rows > 4 { put(4, c40, c41) }
        if R.count > 5 && rows > 5 { put(5, c50, c51) }
        return
    }
    // Edge tile: through a small buffer, element by element. MR × NR floats with NR ≤ 32 (16-lane
    // vectors): 768 bytes, under the 1 KiB below which the temporary is on the stack, not the heap.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMR &* 32) { tmp in
        let t = tmp.baseAddress!
        c00.store(t); c01.store(t + L); c10.store(t + nr); c11.store(t + nr + L)
        c20.store(t + 2 &* nr); c21.store(t + 2 &* nr + L); c30.store(t + 3 &* nr); c31.store(t + 3 &* nr + L)
        c40.store(t + 4 &* nr); c41.store(t + 4 &* nr + L); c50.store(t + 5 &* nr); c51.store(t + 5 &* nr + L)
        gemm_storeEdge_f32(t, stride: nr, c: c, ldc: ldc, rows: rows, cols: cols, accumulate: accumulate, final: final,
                           epilogue: epilogue, biasPerColumn: biasPerColumn, row0: row0, col0: col0, residual: residual,
                           vector: V.self)
    }
}

/// The MR × V micro-kernel for a last micro-panel with at most `V.lanes` valid columns (a 7×7 map's
/// 49 columns leave one): half the multiply-adds of the full tile. B rows are still `2·V.lanes`
/// apart (the packed panel's layout); only their first vector is read.
@_alwaysEmitIntoClient @inline(__always)
public func gemm_microNarrow_f32<V: KernelVector>(_ kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                                  c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                                                  accumulate: Bool, final: Bool, epilogue: Epilogue,
                                                  biasPerColumn: Bool, row0: Int, col0: Int,
                                                  residual: UnsafePointer<Float>?, vector: V.Type) {
    let L = V.lanes, nr = 2 &* V.lanes
    var c0 = V(broadcast: 0), c1 = V(broadcast: 0), c2 = V(broadcast: 0)
    var c3 = V(broadcast: 0), c4 = V(broadcast: 0), c5 = V(broadcast: 0)
    // Odd reductions go to a second set of accumulators: six FMA chains alone are bound by the FMA
    // latency (4 cycles, 2 units: 8 chains needed); twelve keep both units busy. Summed at the end.
    var d0 = V(broadcast: 0), d1 = V(broadcast: 0), d2 = V(broadcast: 0)
    var d3 = V(broadcast: 0), d4 = V(broadcast: 0), d5 = V(broadcast: 0)
    var ap = a, bp = b
    var kk = kc
    while kk >= 2 {
        var bv = V(load: bp)
        c0 = c0.fma(V(broadcast: ap[0]), bv); c1 = c1.fma(V(broadcast: ap[1]), bv); c2 = c2.fma(V(broadcast: ap[2]), bv)
        c3 = c3.fma(V(broadcast: ap[3]), bv); c4 = c4.fma(V(broadcast: ap[4]), bv); c5 = c5.fma(V(broadcast: ap[5]), bv)
        bv = V(load: bp + nr)
        d0 = d0.fma(V(broadcast: ap[6]), bv); d1 = d1.fma(V(broadcast: ap[7]), bv); d2 = d2.fma(V(broadcast: ap[8]), bv)
        d3 = d3.fma(V(broadcast: ap[9]), bv); d4 = d4.fma(V(broadcast: ap[10]), bv); d5 = d5.fma(V(broadcast: ap[11]), bv)
        ap += 12
        bp += 2 &* nr
        kk &-= 2
    }
    c0 = c0 + d0; c1 = c1 + d1; c2 = c2 + d2; c3 = c3 + d3; c4 = c4 + d4; c5 = c5 + d5
    if kk > 0 {
        let bv = V(load: bp)
        c0 = c0.fma(V(broadcast: ap[0]), bv); c1 = c1.fma(V(broadcast: ap[1]), bv); c2 = c2.fma(V(broadcast: ap[2]), bv)
        c3 = c3.fma(V(broadcast: ap[3]), bv); c4 = c4.fma(V(broadcast: ap[4]), bv); c5 = c5.fma(V(broadcast: ap[5]), bv)
    }
    if cols == L {
        let ep = epilogue
        @inline(__always) func put(_ r: Int, _ x: V) {
            let out = c + r &* ldc
            var y = x
            if accumulate { y = y + V(load: out) }
            if final {
                if let bias = ep.bias {
                    y = y + (biasPerColumn ? V(load: bias + col0) : V(broadcast: bias[row0 &+ r]))
                }
                if let residual { y = y + V(load: residual + r &* ep.residualStride) }
                y = ep.activate(y)
            }
            y.store(out)
        }
        put(0, c0)
        if rows > 1 { put(1, c1) }
        if rows > 2 { put(2, c2) }
        if rows > 3 { put(3, c3) }
        if rows > 4 { put(4, c4) }
        if rows > 5 { put(5, c5) }
        return
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMR &* 16) { tmp in
        let t = tmp.baseAddress!
        c0.store(t); c1.store(t + L); c2.store(t + 2 &* L); c3.store(t + 3 &* L); c4.store(t + 4 &* L); c5.store(t + 5 &* L)
        gemm_storeEdge_f32(t, stride: L, c: c, ldc: ldc, rows: rows, cols: cols, accumulate: accumulate, final: final,
                           epilogue: epilogue, biasPerColumn: biasPerColumn, row0: row0, col0: col0, residual: residual,
                           vector: V.self)
    }
}

/// Computes the tiles of C in row panels `mPanels` (panel `p` is rows `p·MR ..< p·MR+MR`) and columns
/// `columns`, fully (every K chunk, then the epilogue). Disjoint calls may run concurrently.
/// - Parameters:
///   - workspace: ``gemmWorkspaceCount(nr:)`` floats, owned by the calling thread.
///   - columns: A range whose start is a multiple of `2·V.lanes` (or 0).
@_alwaysEmitIntoClient @inline(__always)
public func gemm_f32<V: KernelVector>(_ p: GemmProblem, mPanels: Range<Int>, columns: Range<Int>,
                                      workspace: UnsafeMutablePointer<Float>, vector: V.Type) {
    let nr = 2 &* V.lanes
    let packedB = workspace
    let packedA = workspace + gemmKC &* gemmNC
    // A costly activation (SiLU, sigmoid) is applied once a block of columns is final, over each row's
    // run of up to `gemmNC` floats, not on the accumulators (see `Epilogue.hasCostlyActivation`).
    let deferred = p.epilogue.hasCostlyActivation
    let epilogue = p.epilogue
    var problem = p
    if deferred { problem.epilogue = p.epilogue.withoutActivation }
    let p = problem
    var n0 = columns.lowerBound
    while n0 < columns.upperBound {
        let nc = min(gemmNC, columns.upperBound &- n0)
        var k0 = 0
        repeat {
            let kc = min(gemmKC, p.k &- k0)
            let first = k0 == 0, last = k0 &+ kc >= p.k
            var bBase: UnsafePointer<Float>
            var bPanelStride: Int
            if case let .packed(pb) = p.b {
                // Micro-panels of [K × NR] for the whole K: chunk k0 starts k0·NR into each.
                bBase = pb + ((n0 / nr) &* p.k &* nr &+ k0 &* nr)
                bPanelStride = p.k &* nr
            } else {
                gemm_packBBlock_f32(p.b, k0: k0, kc: kc, n0: n0, nc: nc, n: p.n, into: packedB, vector: V.self)
                bBase = UnsafePointer(packedB)
                bPanelStride = kc &* nr
            }
            // Rows in blocks of `gemmMCPanels` panels (A block ≤ MC × KC: L2); within a block each
            // B micro-panel (KC × NR: L1) is reused by every A panel of the block.
            var pb = mPanels.lowerBound
            while pb < mPanels.upperBound {
                let pe = min(mPanels.upperBound, pb &+ gemmMCPanels)
                // A panels of this block: packed at load, or packed now into the workspace.
                var aBlock: UnsafePointer<Float>
                var aPanelStride: Int
                switch p.a {
                case let .packed(pa):
                    // Chunk-major panels (`gemm_packA_f32`): chunk k0 holds every panel, kc·MR each.
                    let mPad = (p.m &+ gemmMR &- 1) / gemmMR &* gemmMR
                    aBlock = pa + (k0 &* mPad &+ pb &* gemmMR &* kc)
                    aPanelStride = gemmMR &* kc
                case let .matrix(a, lda):
                    var q = packedA
                    for panel in pb..<pe {
                        let row0 = panel &* gemmMR
                        let rows = min(gemmMR, p.m &- row0)
                        for kk in 0..<kc {
                            for r in 0..<gemmMR { q[r] = r < rows ? a[(row0 &+ r) &* lda &+ k0 &+ kk] : 0 }
                            q += gemmMR
                        }
                    }
                    aBlock = UnsafePointer(packedA)
                    aPanelStride = gemmMR &* kc
                }
                var j0 = 0
                while j0 < nc {
                    let cols = min(nr, nc &- j0)
                    let col0 = n0 &+ j0
                    let bPanel = bBase + (j0 / nr) &* bPanelStride
                    for panel in pb..<pe {
                        let row0 = panel &* gemmMR
                        let rows = min(gemmMR, p.m &- row0)
                        let cTile = p.c + (row0 &* p.ldc &+ col0)
                        let res = p.epilogue.residual.map { $0 + (row0 &* p.epilogue.residualStride &+ col0) }
                        if cols <= V.lanes {
                            gemm_microNarrow_f32(kc, a: aBlock + (panel &- pb) &* aPanelStride, b: bPanel, c: cTile, ldc: p.ldc,
                                                 rows: rows, cols: cols, accumulate: !first, final: last, epilogue: p.epilogue,
                                                 biasPerColumn: p.biasPerColumn, row0: row0, col0: col0, residual: res, vector: V.self)
                        } else if rows <= 4 {
                            gemm_micro_f32(kc, a: aBlock + (panel &- pb) &* aPanelStride, b: bPanel, c: cTile, ldc: p.ldc,
                                           rows: rows, cols: cols, accumulate: !first, final: last, epilogue: p.epilogue,
                                           biasPerColumn: p.biasPerColumn, row0: row0, col0: col0, residual: res, vector: V.self,
                                           rowCount: GemmMicroRows4.self)
                        } else {
                            gemm_micro_f32(kc, a: aBlock + (panel &- pb) &* aPanelStride, b: bPanel, c: cTile, ldc: p.ldc,
                                           rows: rows, cols: cols, accumulate: !first, final: last, epilogue: p.epilogue,
                                           biasPerColumn: p.biasPerColumn, row0: row0, col0: col0, residual: res, vector: V.self,
                                           rowCount: GemmMicroRows6.self)
                        }
                    }
                    j0 &+= nr
                }
                pb = pe
            }
            k0 &+= kc
        } while k0 < p.k
        if deferred {
            let rowEnd = min(p.m, mPanels.upperBound &* gemmMR)
            var r = mPanels.lowerBound &* gemmMR
            while r < rowEnd {
                epilogue.activateInPlace(p.c + (r &* p.ldc &+ n0), count: nc, vector: V.self)
                r &+= 1
            }
        }
        n0 &+= nc
    }
}

extension ConvWindow {
    /// Width of the zero-bordered copy ``conv_im2colSmall_f32(_:_:channels:padded:into:vector:)``
    /// reads: every column a window touches, left pad included, at least `inW + padL`.
    @_alwaysEmitIntoClient
    public var im2colPaddedWidth: Int { max(padL &+ inW, (outW &- 1) &* sW &+ (kW &- 1) &* dW &+ 1) }
    /// Rows of that copy.
    @_alwaysEmitIntoClient
    public var im2colPaddedHeight: Int { max(padT &+ inH, (outH &- 1) &* sH &+ (kH &- 1) &* dH &+ 1) }

    /// Floats of scratch ``conv_im2colSmall_f32(_:_:channels:padded:into:vector:)`` needs for
    /// `channels` channels and `lanes`-wide vectors: the bordered copy, the `[C·kH·kW × outH·outW]`
    /// matrix, and the slack its whole-vector copies run past either end.
    @_alwaysEmitIntoClient
    public func im2colSmallScratchCount(channels: Int, lanes: Int) -> Int {
        channels &* im2colPaddedHeight &* im2colPaddedWidth &+ 2 &* lanes
            &+ channels &* kH &* kW &* outH &* outW &+ 2 &* lanes
    }
}

/// The im2col matrix of a convolution over a small map, materialized: `dst[k][n]` (`[C·kH·kW ×
/// outH·outW]`, row-major, rows `outH·outW` apart) for `k = (c·kH + i)·kW + j`, `n = oh·outW + ow`.
///
/// For maps under two vectors wide (ResNet's 7×7 and 14×14 stages) the implicit-im2col packer
/// copies runs of 7 or 14 floats, cut at micro-panel edges, element by element — a sixth of a
/// 512-channel 7×7 layer's time. Here the input is first copied once into a zero-bordered buffer
/// (`padded`), so that every output row of every column-matrix row is one strided run with no
/// bounds to check, copied a whole vector at a time (each copy may run up to a vector past the
/// run; the next run, written after it, overwrites the excess, and the buffers carry the slack).
/// The GEMM then reads the matrix as a plain row-major B.
/// - Parameters:
///   - padded: ``ConvWindow/im2colSmallScratchCount(channels:lanes:)`` floats in all with `dst`:
///     pass `scratch` and `scratch + channels·paddedHeight·paddedWidth + 2·lanes`.
@_alwaysEmitIntoClient @inline(__always)
public func conv_im2colSmall_f32<V: KernelVector>(_ x: UnsafePointer<Float>, _ w: ConvWindow, channels: Int,
                                                  padded: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                                                  vector: V.Type) {
    let L = V.lanes
    let wp = w.im2colPaddedWidth, hp = w.im2colPaddedHeight
    let planeP = hp &* wp
    // The bordered copy: zeros, then each input row at (padT + r, padL).
    padded.update(repeating: 0, count: channels &* planeP &+ 2 &* L)
    for c in 0..<channels {
        let src = x + c &* w.inH &* w.inW
        let d = padded + c &* planeP
        for r in 0..<w.inH {
            (d + ((w.padT &+ r) &* wp &+ w.padL)).update(from: src + r &* w.inW, count: w.inW)
        }
    }
    let n = w.outH &* w.outW
    var row = dst
    for c in 0..<channels {
        let plane = UnsafePointer(padded + c &* planeP)
        for i in 0..<w.kH {
            for j in 0..<w.kW {
                let first = plane + (i &* w.dH &* wp &+ j &* w.dW)
                for oh in 0..<w.outH {
                    let s = first + oh &* w.sH &* wp
                    let o = row + oh &* w.outW
                    var e = 0
                    if w.sW == 1 {
                        while e < w.outW { V(load: s + e).store(o + e); e &+= L }
                    } else if w.sW == 2 {
                        while e < w.outW { V(loadEven: s + 2 &* e).store(o + e); e &+= L }
                    } else {
                        while e < w.outW { o[e] = s[e &* w.sW]; e &+= 1 }
                    }
                }
                row += n
            }
        }
    }
}
