/// ONNX `SpaceToDepth` (opset 1–13), the inverse of `DepthToSpace` in `DCR` mode: any dtype,
/// `[N, C, H, W]` → `[N, C · b², H / b, W / b]` for `blocksize` b, output channel
/// `(i · b + j) · C + c` holding input `(c, h · b + i, w · b + j)`. (PyTorch's `PixelUnshuffle`
/// orders the channels `c · b² + i · b + j` instead: it is not this op.)
struct SpaceToDepth: Operator {
    static let opType = "SpaceToDepth"

    let blocksize: Int

    init(attributes: Attributes) throws {
        try attributes.rejectUnknown(["blocksize"])
        blocksize = try attributes.int("blocksize")
        guard blocksize >= 1 else { throw attributes.error("blocksize \(blocksize) must be at least 1") }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 1 else { throw failure("expects 1 input (input), got \(inputs.count)", context: context) }
        let x = try input(inputs, 0, "input", context: context)
        let b = blocksize
        guard x.rank == 4, x.shape[2] % b == 0, x.shape[3] % b == 0 else {
            throw failure("input must be [N, C, H, W] with H and W divisible by blocksize \(b), got shape \(x.shape)", context: context)
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2] / b, x.shape[3] / b)
        let y = try Transpose.apply(try x.reshaped([n, c, h, b, w, b]), perm: [0, 3, 5, 1, 2, 4], context: context)
        return [try y.reshaped([n, c * b * b, h, w])]
    }
}
