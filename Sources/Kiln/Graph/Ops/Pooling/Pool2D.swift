/// Shared decoding and execution of `MaxPool` and `AveragePool` over 1-D (`[N, C, W]`) and 2-D
/// (`[N, C, H, W]`) inputs.
struct Pool2D: Sendable {
    let op: String
    let window: SpatialAttributes
    let kernelShape: [Int]
    let kind: PoolKind

    /// Reads `kernel_shape` (required), the window attributes, and checks what ONNX Runtime checks:
    /// explicit pads smaller than the kernel.
    init(_ attributes: Attributes, kind: PoolKind) throws {
        op = attributes.op
        window = try SpatialAttributes(attributes, allowCeilMode: true)
        guard let k = window.kernelShape else { throw attributes.error("required attribute 'kernel_shape' is missing") }
        guard k.count == 1 || k.count == 2 else {
            throw KilnError.unsupportedOp(name: attributes.op, node: attributes.node,
                                          reason: "only 1-D and 2-D pooling is implemented, kernel_shape is \(k)")
        }
        if let p = window.pads, p.count == 2 * k.count {
            for i in 0..<k.count where p[i] >= k[i] || p[i + k.count] >= k[i] {
                throw attributes.error("pads \(p) must be smaller than kernel_shape \(k) on every axis")
            }
        }
        kernelShape = k
        self.kind = kind
    }

    /// Pools `x` (`[N, C, spatial...]`, rank 2 + kernel rank).
    func run(_ x: Tensor, context: ExecutionContext) throws -> Tensor {
        guard x.dtype == .float32 else {
            throw KilnError.unsupportedDType(op: op, node: context.node, tensor: "X", dtype: x.dtype)
        }
        let sr = kernelShape.count
        guard x.rank == 2 + sr else {
            throw KilnError.invalidArgument(op: op, node: context.node,
                                            reason: "X must have rank \(2 + sr) ([N, C] + \(sr) spatial dims for kernel_shape \(kernelShape)), got shape \(x.shape)")
        }
        // Kept from the last inference with this input shape.
        let (outShape, geometry) = try context.memoized(x.shape) { () throws -> ([Int], Pool2DGeometry) in
            let axes = try window.resolve(spatial: Array(x.shape.suffix(sr)), kernel: kernelShape, op: op, node: context.node)
            return (Array(x.shape.prefix(2)) + axes.map(\.output), Pool2DGeometry(axes))
        }
        var y = try context.allocate(outShape, dtype: .float32)
        let planes = x.shape[0] &* x.shape[1]
        if y.count == 0 { return y }
        pool2d_f32_nchw(x.pointer(Float.self), y.mutablePointer(Float.self), planes: planes,
                        geometry, kind: kind, context: context)
        withExtendedLifetime(x) {}
        return y
    }
}
