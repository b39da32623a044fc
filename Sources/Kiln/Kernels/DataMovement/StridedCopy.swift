/// Dtype-agnostic N-d copies: every data-movement op that is not a pure reshape (Transpose, Slice,
/// Expand, Tile, the interior of Pad) is one strided copy `dst[i] = src[i]` over an index space,
/// with per-axis element strides on both sides (a stride may be 0 for broadcasting or negative
/// for reversed slices). Elements are moved by their byte size (1, 2, 4 or 8), never interpreted.

/// A coalesced copy problem: sizes and element strides, innermost axis last. Built once per call.
struct StridedCopyProblem {
    var shape: [Int]
    var srcStrides: [Int]
    var dstStrides: [Int]

    /// Drops size-1 axes and merges neighbours that are contiguous on both sides, so a copy that
    /// is really one `memcpy` (or a batch of 2-D transposes) is seen as such. Returns `nil` when
    /// the index space is empty.
    init?(shape: [Int], srcStrides: [Int], dstStrides: [Int]) {
        var s: [Int] = [], ss: [Int] = [], ds: [Int] = []
        for i in 0..<shape.count {
            if shape[i] == 0 { return nil }
            if shape[i] == 1 { continue }
            s.append(shape[i]); ss.append(srcStrides[i]); ds.append(dstStrides[i])
        }
        // Merge from the innermost side: axis i folds into i+1 when stepping i is the same as
        // stepping i+1 shape[i+1] times, on both sides.
        var i = s.count - 2
        while i >= 0 {
            if ss[i] == ss[i + 1] &* s[i + 1] && ds[i] == ds[i + 1] &* s[i + 1] {
                s[i + 1] &*= s[i]
                s.remove(at: i); ss.remove(at: i); ds.remove(at: i)
            }
            i -= 1
        }
        self.shape = s; self.srcStrides = ss; self.dstStrides = ds
    }
}

/// Copies `shape` elements of `elementSize` bytes from `src` to `dst` with the given element
/// strides (the offsets of element `[i0, …]` are `Σ i_k·stride_k` on each side). The caller has
/// checked that every touched offset lies inside both buffers.
///
/// Fast paths after coalescing: a single contiguous run (`memcpy`), contiguous inner runs, and
/// batched 2-D transposes (the inner two axes swapped, as in `[0, 2, 1]`, NCHW↔NHWC and plain
/// matrix transposes), which use 8×8 blocked copies.
func stridedCopy(shape: [Int], src: UnsafeRawPointer, srcStrides: [Int], dst: UnsafeMutableRawPointer,
                 dstStrides: [Int], elementSize: Int, context: ExecutionContext) {
    guard let p = StridedCopyProblem(shape: shape, srcStrides: srcStrides, dstStrides: dstStrides) else { return }
    let size = elementSize == 1 || elementSize == 2 || elementSize == 4 ? elementSize : 8
    let rank = p.shape.count
    if rank == 0 {
        dst.copyMemory(from: src, byteCount: size)
        return
    }
    let total = p.shape.reduce(1, &*)
    let runner = ExecutionContext(threads: total &* size >= dataMovementParallelThreshold ? context.threads : 1)

    let loop: StridedCopyLoop
    let items: Int
    if rank >= 2, p.dstStrides[rank - 1] == 1, p.srcStrides[rank - 2] == 1, p.srcStrides[rank - 1] != 1 {
        // Batched 2-D transpose: destination contiguous along the last axis, source contiguous
        // along the one before it.
        var l = StridedCopyLoop(src: src, dst: dst, size: size, outer: Array(p.shape[0..<(rank - 2)]),
                                outerSrc: Array(p.srcStrides[0..<(rank - 2)]), outerDst: Array(p.dstStrides[0..<(rank - 2)]))
        l.transpose = true
        l.rows = p.shape[rank - 2]
        l.cols = p.shape[rank - 1]
        l.srcColStride = p.srcStrides[rank - 1]
        l.dstRowStride = p.dstStrides[rank - 2]
        l.rowBlocks = (l.rows &+ 7) / 8
        loop = l
        items = l.outer.reduce(1, &*) &* l.rowBlocks
    } else {
        // General: iterate the outer axes with an odometer, copy the innermost axis as a run.
        var l = StridedCopyLoop(src: src, dst: dst, size: size, outer: Array(p.shape[0..<(rank - 1)]),
                                outerSrc: Array(p.srcStrides[0..<(rank - 1)]), outerDst: Array(p.dstStrides[0..<(rank - 1)]))
        l.cols = p.shape[rank - 1]
        l.si = p.srcStrides[rank - 1]
        l.di = p.dstStrides[rank - 1]
        loop = l
        items = l.outer.reduce(1, &*)
    }
    runner.parallelFor(items, with: loop) { raw, start, end in
        let loop = raw.load(as: StridedCopyLoop.self)
        switch loop.size {
        case 1: loop.run(UInt8.self, start, end)
        case 2: loop.run(UInt16.self, start, end)
        case 4: loop.run(UInt32.self, start, end)
        default: loop.run(UInt64.self, start, end)
        }
    }
}

/// Work below this many bytes runs on one thread: a thread hop costs more than the copy.
let dataMovementParallelThreshold = 1 << 18

/// One strided copy as its parallel chunks read it (passed by pointer: see
/// ``ExecutionContext/parallelFor(_:with:_:)``). The element type is chosen per chunk from `size`,
/// since a `@convention(c)` body cannot be generic; the loops themselves are generic over it.
private struct StridedCopyLoop {
    var src: UnsafeRawPointer, dst: UnsafeMutableRawPointer
    /// Bytes per element: 1, 2, 4 or 8.
    var size: Int
    /// The axes outside the copied rows or transposed matrices, with their element strides.
    var outer: [Int], outerSrc: [Int], outerDst: [Int]
    /// The transposed matrices (`rows × cols` in the destination, in blocks of 8 rows), or for a
    /// general copy the run length `cols` and its strides `si`, `di`.
    var transpose = false
    var rows = 0, cols = 0, srcColStride = 0, dstRowStride = 0, rowBlocks = 0
    var si = 0, di = 0

    /// Items `start..<end`: blocks of a transpose, or runs of a general copy.
    @inline(__always)
    func run<T>(_: T.Type, _ start: Int, _ end: Int) {
        if transpose { transposeBlocks(T.self, start, end) } else { copyRows(T.self, start, end) }
    }

    /// Transposes the blocks `start..<end` (each a matrix of `outer` and a block of 8 rows).
    @inline(__always)
    func transposeBlocks<T>(_: T.Type, _ start: Int, _ end: Int) {
        let size = MemoryLayout<T>.stride
        var item = start
        while item < end {
            let batch = item / rowBlocks, block = item % rowBlocks
            let (so, d) = offsets(of: batch, outer, outerSrc, outerDst)
            let r0 = block &* 8, r1 = min(rows, r0 &+ 8)
            transpose2d_blocked(T.self, src: src + so &* size, srcColStride: srcColStride,
                                dst: dst + d &* size, dstRowStride: dstRowStride, rows: r0..<r1, cols: cols)
            item &+= 1
        }
    }

    /// Copies the runs `start..<end` (flat indices over `outer`).
    @inline(__always)
    func copyRows<T>(_: T.Type, _ start: Int, _ end: Int) {
        let size = MemoryLayout<T>.stride
        let n = cols
        // On the stack: this runs once per chunk of every copy.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(outer.count, 1)) { index in
        var (so, d) = offsets(of: start, outer, outerSrc, outerDst, index: index)
        var row = start
        while row < end {
            let s = src + so &* size, t = dst + d &* size
            if si == 1 && di == 1 {
                t.copyMemory(from: s, byteCount: n &* size)
            } else {
                copyRun(T.self, s, si, t, di, n)
            }
            row &+= 1
            // Advance the odometer over the outer axes.
            var a = outer.count - 1
            while a >= 0 {
                index[a] &+= 1
                so &+= outerSrc[a]; d &+= outerDst[a]
                if index[a] < outer[a] { break }
                so &-= outerSrc[a] &* outer[a]; d &-= outerDst[a] &* outer[a]
                index[a] = 0
                a -= 1
            }
        }
        }
    }
}

/// Source and destination element offsets of flat outer index `flat`; with `index`, also its
/// coordinates per axis (where an odometer starts).
@inline(__always)
private func offsets(of flat: Int, _ shape: [Int], _ srcStrides: [Int], _ dstStrides: [Int],
                     index: UnsafeMutableBufferPointer<Int>? = nil) -> (Int, Int) {
    var f = flat, s = 0, d = 0
    var a = shape.count - 1
    while a >= 0 {
        let i = f % shape[a]
        f /= shape[a]
        index?[a] = i
        s &+= i &* srcStrides[a]; d &+= i &* dstStrides[a]
        a -= 1
    }
    return (s, d)
}

/// `n` elements from `src` (stride `si`) to `dst` (stride `di`), strides in elements.
@inline(__always)
func copyRun<T>(_: T.Type, _ src: UnsafeRawPointer, _ si: Int, _ dst: UnsafeMutableRawPointer, _ di: Int, _ n: Int) {
    let size = MemoryLayout<T>.stride
    if si == 0 {
        // Broadcast of one element (Expand, Tile of a size-1 axis).
        let v = src.load(as: T.self)
        var j = 0
        while j < n { (dst + j &* di &* size).storeBytes(of: v, as: T.self); j &+= 1 }
        return
    }
    var j = 0
    while j < n {
        (dst + j &* di &* size).storeBytes(of: (src + j &* si &* size).load(as: T.self), as: T.self)
        j &+= 1
    }
}

/// `dst[i·dstRowStride + j] = src[i + j·srcColStride]` for `i` in `rows`, `j < cols`, in 8×8 blocks
/// so both sides stay in cache lines that were just touched.
@inline(__always)
func transpose2d_blocked<T>(_: T.Type, src: UnsafeRawPointer, srcColStride: Int, dst: UnsafeMutableRawPointer,
                            dstRowStride: Int, rows: Range<Int>, cols: Int) {
    let size = MemoryLayout<T>.stride
    var j0 = 0
    while j0 < cols {
        let j1 = min(cols, j0 &+ 8)
        var i = rows.lowerBound
        while i < rows.upperBound {
            let d = dst + (i &* dstRowStride) &* size
            var j = j0
            while j < j1 {
                (d + j &* size).storeBytes(of: (src + (i &+ j &* srcColStride) &* size).load(as: T.self), as: T.self)
                j &+= 1
            }
            i &+= 1
        }
        j0 = j1
    }
}

/// Writes `count` copies of the `elementSize`-byte value at `value` to `dst`.
func fillElements(_ dst: UnsafeMutableRawPointer, count: Int, value: UnsafeRawPointer, elementSize: Int) {
    switch elementSize {
    case 1: dst.initializeMemory(as: UInt8.self, repeating: value.load(as: UInt8.self), count: count)
    case 2: fillTyped(dst, count, value.loadUnaligned(as: UInt16.self))
    case 4: fillTyped(dst, count, value.loadUnaligned(as: UInt32.self))
    default: fillTyped(dst, count, value.loadUnaligned(as: UInt64.self))
    }
}

@inline(__always)
private func fillTyped<T>(_ dst: UnsafeMutableRawPointer, _ count: Int, _ v: T) {
    let size = MemoryLayout<T>.stride
    var i = 0
    while i < count { (dst + i &* size).storeBytes(of: v, as: T.self); i &+= 1 }
}

/// Per-axis table gather: `dst[i0, …, ik] = src[Σ_a table_a[i_a]]`, where each table holds source
/// element offsets (index × stride) for every output position of its axis. Used by Pad's
/// reflect/edge/wrap modes, whose index maps are not affine.
func tableGather(shape: [Int], tables: [[Int]], src: UnsafeRawPointer, dst: UnsafeMutableRawPointer,
                 elementSize: Int, context: ExecutionContext) {
    if shape.contains(0) { return }
    switch elementSize {
    case 1: tableGather_typed(UInt8.self, shape, tables, src, dst, context)
    case 2: tableGather_typed(UInt16.self, shape, tables, src, dst, context)
    case 4: tableGather_typed(UInt32.self, shape, tables, src, dst, context)
    default: tableGather_typed(UInt64.self, shape, tables, src, dst, context)
    }
}

@inline(__always)
private func tableGather_typed<T>(_: T.Type, _ shape: [Int], _ tables: [[Int]], _ src: UnsafeRawPointer,
                                  _ dst: UnsafeMutableRawPointer, _ context: ExecutionContext) {
    let size = MemoryLayout<T>.stride
    let rank = shape.count
    if rank == 0 {
        dst.copyMemory(from: src, byteCount: size)
        return
    }
    let n = shape[rank - 1]
    let rows = shape[0..<(rank - 1)].reduce(1, &*)
    let threads = rows &* n &* size >= dataMovementParallelThreshold ? context.threads : 1
    // Flatten the inner table once so the hot loop reads a plain buffer.
    let inner = tables[rank - 1]
    inner.withUnsafeBufferPointer { innerTable in
        ExecutionContext(threads: threads).parallelFor(rows) { start, end in
            var index = [Int](repeating: 0, count: rank - 1)
            var f = start
            var a = rank - 2
            while a >= 0 { index[a] = f % shape[a]; f /= shape[a]; a -= 1 }
            var row = start
            while row < end {
                var base = 0
                for b in 0..<(rank - 1) { base &+= tables[b][index[b]] }
                let d = dst + row &* n &* size
                var j = 0
                while j < n {
                    (d + j &* size).storeBytes(of: (src + (base &+ innerTable[j]) &* size).load(as: T.self), as: T.self)
                    j &+= 1
                }
                row &+= 1
                var b = rank - 2
                while b >= 0 {
                    index[b] &+= 1
                    if index[b] < shape[b] { break }
                    index[b] = 0
                    b -= 1
                }
            }
        }
    }
}
