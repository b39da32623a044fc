/// ONNX `GridSample` (opset 16, and the 4-D case of opset 20), float32: samples `X [N, C, H, W]`
/// at the normalized positions `grid [N, Ho, Wo, 2]` (`(x, y)` in `[-1, 1]`) into
/// `Y [N, C, Ho, Wo]`, as PyTorch's `F.grid_sample` (spatial transformers, deformable heads,
/// optical flow warps).
///
/// `mode`: `bilinear` (opset 20 spells it `linear`), `nearest` or `bicubic` (`cubic`; Keys with
/// a = −0.75, the padding rule applied to each of the 16 taps, as PyTorch does). `padding_mode`: `zeros`, `border`, `reflection`. `align_corners`: 0 or 1.
struct GridSample: Operator {
    static let opType = "GridSample"

    let mode: GridSampleMode
    let padding: GridSamplePadding
    let alignCorners: Bool

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["mode", "padding_mode", "align_corners"])
        let mode = try attributes.string("mode", default: "bilinear")
        switch mode {
        case "bilinear", "linear": self.mode = .bilinear
        case "nearest": self.mode = .nearest
        case "bicubic", "cubic": self.mode = .bicubic
        default: throw attributes.error("mode '\(mode)' must be bilinear, linear, nearest, bicubic or cubic")
        }
        let p = try attributes.string("padding_mode", default: "zeros")
        guard let padding = GridSamplePadding(rawValue: p) else { throw attributes.error("padding_mode '\(p)' must be zeros, border or reflection") }
        self.padding = padding
        let a = try attributes.int("align_corners", default: 0)
        guard a == 0 || a == 1 else { throw attributes.error("align_corners \(a) must be 0 or 1") }
        alignCorners = a == 1
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2 else { throw failure("expects 2 inputs (X, grid), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "X", context: context)
        let grid = try input(inputs, 1, "grid", context: context)
        try require(x, .float32, "X", context: context)
        try require(grid, .float32, "grid", context: context)
        guard x.rank == 4 else {
            throw KilnError.unsupportedOp(name: Self.opType, node: context.node, reason: "X of rank \(x.rank): only 4-D [N, C, H, W] is supported")
        }
        guard grid.rank == 4, grid.shape[0] == x.shape[0], grid.shape[3] == 2 else {
            throw failure("grid must be [\(x.shape[0]), Ho, Wo, 2] for X \(x.shape), got \(grid.shape)", context: context)
        }
        guard x.shape[2] > 0, x.shape[3] > 0 else { throw failure("X \(x.shape) has an empty spatial axis", context: context) }
        let geo = GridSampleGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], ho: grid.shape[1], wo: grid.shape[2],
                                     alignCorners: alignCorners, padding: padding, mode: mode)
        var y = try context.allocate([geo.n, geo.c, geo.ho, geo.wo], dtype: .float32)
        if y.count > 0 { gridSample2D_f32(x.pointer(Float.self), grid.pointer(Float.self), y.mutablePointer(Float.self), geo, context: context) }
        withExtendedLifetime((x, grid)) {}
        return [y]
    }
}
