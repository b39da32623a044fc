/// ONNX `DepthToSpace` (opset 1–13; PyTorch's `PixelShuffle` is the `CRD` mode): any dtype,
/// `[N, C, H, W]` → `[N, C / b², H · b, W · b]` for `blocksize` b.
///
/// Both modes are a reshape to six axes, a transpose and a reshape back:
/// `DCR` (the default) splits C as `[b, b, C / b²]`, `CRD` as `[C / b², b, b]`.
struct DepthToSpace: Operator {
    static let opType = "DepthToSpace"

    enum Mode: String { case dcr = "DCR", crd = "CRD" }

    let blocksize: Int
    let mode: Mode

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["blocksize", "mode"])
        blocksize = try attributes.int("blocksize")
        let name = try attributes.string("mode", default: "DCR")
        guard let m = Mode(rawValue: name) else { throw attributes.error("mode '\(name)' must be DCR or CRD") }
        mode = m
        guard blocksize >= 1 else { throw attributes.error("blocksize \(blocksize) must be at least 1") }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else { throw failure("expects 1 input (input), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "input", context: context)
        let b = blocksize
        guard x.rank == 4, x.shape[1] % (b * b) == 0 else {
            throw failure("input must be [N, C, H, W] with C divisible by blocksize² = \(b * b), got shape \(x.shape)", context: context)
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1] / (b * b), x.shape[2], x.shape[3])
        let split: [Int], perm: [Int]
        switch mode {
        case .dcr: (split, perm) = ([n, b, b, c, h, w], [0, 3, 4, 1, 5, 2])
        case .crd: (split, perm) = ([n, c, b, b, h, w], [0, 1, 4, 2, 5, 3])
        }
        let y = try Transpose.apply(try x.reshaped(split), perm: perm, context: context)
        return [try y.reshaped([n, c, h * b, w * b])]
    }
}
