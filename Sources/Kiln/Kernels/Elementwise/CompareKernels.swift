/// A comparison producing bool. Float comparisons are IEEE (any comparison with NaN is false).
protocol ComparisonOp {
    /// One element pair.
    static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool
}

enum EqualOp: ComparisonOp {
    @inline(__always) static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b }
}
enum LessOp: ComparisonOp {
    @inline(__always) static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b }
}
enum GreaterOp: ComparisonOp {
    @inline(__always) static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b }
}
enum LessOrEqualOp: ComparisonOp {
    @inline(__always) static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b }
}
enum GreaterOrEqualOp: ComparisonOp {
    @inline(__always) static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b }
}

/// A comparison over whole tensors with broadcasting; the output is bool (bytes 0/1).
/// `T` matches the dtype of `a` and `b`.
func compareBroadcast<Op: ComparisonOp, T: Comparable>(_: Op.Type, _: T.Type, _ a: Tensor, _ b: Tensor, plan: BroadcastPlan,
                                                        context: ExecutionContext) throws -> Tensor {
    var y = try context.allocate(plan.outputShape, dtype: .bool)
    let pa = a.pointer(T.self), pb = b.pointer(T.self)
    let py = y.mutablePointer(UInt8.self)
    let sa = plan.rowStride(0), sb = plan.rowStride(1)
    plan.run(context: context) { o, ia, ib, _, n in
        let ra = pa + ia, rb = pb + ib, ry = py + o
        var i = 0
        if sa == 1 && sb == 1 {
            while i < n { ry[i] = Op.apply(ra[i], rb[i]) ? 1 : 0; i &+= 1 }
        } else {
            while i < n { ry[i] = Op.apply(ra[i &* sa], rb[i &* sb]) ? 1 : 0; i &+= 1 }
        }
    }
    withExtendedLifetime((a, b)) {}
    return y
}

/// A logical operation on bool bytes (any nonzero byte is true).
protocol LogicalOp {
    /// One element pair.
    static func apply(_ a: Bool, _ b: Bool) -> Bool
}

enum AndOp: LogicalOp {
    @inline(__always) static func apply(_ a: Bool, _ b: Bool) -> Bool { a && b }
}
enum OrOp: LogicalOp {
    @inline(__always) static func apply(_ a: Bool, _ b: Bool) -> Bool { a || b }
}
enum XorOp: LogicalOp {
    @inline(__always) static func apply(_ a: Bool, _ b: Bool) -> Bool { a != b }
}

/// A logical op over two bool tensors with broadcasting.
func logicalBroadcast<Op: LogicalOp>(_: Op.Type, _ a: Tensor, _ b: Tensor, plan: BroadcastPlan,
                                     context: ExecutionContext) throws -> Tensor {
    var y = try context.allocate(plan.outputShape, dtype: .bool)
    let pa = a.pointer(UInt8.self), pb = b.pointer(UInt8.self)
    let py = y.mutablePointer(UInt8.self)
    let sa = plan.rowStride(0), sb = plan.rowStride(1)
    plan.run(context: context) { o, ia, ib, _, n in
        let ra = pa + ia, rb = pb + ib, ry = py + o
        var i = 0
        while i < n { ry[i] = Op.apply(ra[i &* sa] != 0, rb[i &* sb] != 0) ? 1 : 0; i &+= 1 }
    }
    withExtendedLifetime((a, b)) {}
    return y
}

/// `Where`: `y = cond ? x : z` with three-way broadcasting, for any element type (copied as
/// `E`, an unsigned integer of the element's size). `plan` is built from `[cond, x, z]`.
func whereBroadcast<E: FixedWidthInteger>(_: E.Type, _ cond: Tensor, _ x: Tensor, _ z: Tensor, dtype: DType, plan: BroadcastPlan,
                                          context: ExecutionContext) throws -> Tensor {
    var y = try context.allocate(plan.outputShape, dtype: dtype)
    let pc = cond.pointer(UInt8.self), px = x.pointer(E.self), pz = z.pointer(E.self)
    let py = y.mutablePointer(E.self)
    let sc = plan.rowStride(0), sx = plan.rowStride(1), sz = plan.rowStride(2)
    plan.run(context: context) { o, ic, ix, iz, n in
        let rc = pc + ic, rx = px + ix, rz = pz + iz, ry = py + o
        var i = 0
        if sc == 1 && sx == 1 && sz == 1 {
            while i < n { ry[i] = rc[i] != 0 ? rx[i] : rz[i]; i &+= 1 }
        } else {
            while i < n { ry[i] = rc[i &* sc] != 0 ? rx[i &* sx] : rz[i &* sz]; i &+= 1 }
        }
    }
    withExtendedLifetime((cond, x, z)) {}
    return y
}
