/// The window attributes shared by Conv, ConvTranspose and the pooling ops: `kernel_shape`,
/// `strides`, `pads`, `dilations`, `auto_pad` (and `ceil_mode` for pools), validated once.
struct SpatialAttributes: Sendable, Equatable {
    /// ONNX `auto_pad`.
    enum AutoPad: String, Sendable { case notSet = "NOTSET", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER", valid = "VALID" }

    /// Kernel size per spatial axis, or `nil` when taken from the weight shape (Conv).
    var kernelShape: [Int]?
    /// Stride per spatial axis, or `nil` for all ones.
    var strides: [Int]?
    /// `[x1_begin, x2_begin, ..., x1_end, x2_end, ...]`, or `nil` for zeros.
    var pads: [Int]?
    /// Dilation per spatial axis, or `nil` for all ones.
    var dilations: [Int]?
    /// Padding policy.
    var autoPad: AutoPad
    /// Pools only: round the output size up.
    var ceilMode: Bool

    /// Reads and validates the attributes (all values positive, pads non-negative).
    init(_ a: Attributes, allowCeilMode: Bool = false, allowDilations: Bool = true) throws {
        kernelShape = try a.ints("kernel_shape")
        strides = try a.ints("strides")
        pads = try a.ints("pads")
        dilations = allowDilations ? try a.ints("dilations") : nil
        let ap = try a.string("auto_pad", default: "NOTSET")
        guard let autoPad = AutoPad(rawValue: ap) else { throw a.error("auto_pad '\(ap)' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID") }
        self.autoPad = autoPad
        ceilMode = allowCeilMode ? try a.int("ceil_mode", default: 0) != 0 : false
        if let k = kernelShape, k.contains(where: { $0 < 1 }) { throw a.error("kernel_shape \(k) must be positive") }
        if let s = strides, s.contains(where: { $0 < 1 }) { throw a.error("strides \(s) must be positive") }
        if let d = dilations, d.contains(where: { $0 < 1 }) { throw a.error("dilations \(d) must be positive") }
        if let p = pads {
            if p.contains(where: { $0 < 0 }) { throw a.error("pads \(p) must be non-negative") }
            if p.count % 2 != 0 { throw a.error("pads \(p) must have an even length (begins then ends)") }
        }
    }

    /// The geometry of one spatial axis once the input size is known.
    struct Axis: Sendable, Equatable {
        var input: Int
        var kernel: Int
        var stride: Int
        var dilation: Int
        var padBegin: Int
        var padEnd: Int
        var output: Int
    }

    /// Resolves every spatial axis for an input of `spatial` sizes and a kernel of `kernel` sizes.
    /// - Parameters:
    ///   - spatial: Input sizes of the spatial axes (H, W for 2-D).
    ///   - kernel: Kernel sizes (from `kernel_shape` or the weight).
    ///   - op: Op type, for errors.
    ///   - node: Node name, for errors.
    /// - Returns: One ``Axis`` per spatial axis.
    /// - Throws: ``KilnError/invalidArgument(op:node:reason:)`` when an attribute has the wrong
    ///   length, or the output would be empty or negative.
    func resolve(spatial: [Int], kernel: [Int], op: String, node: String?) throws -> [Axis] {
        let n = spatial.count
        func fail(_ r: String) -> KilnError { .invalidArgument(op: op, node: node, reason: r) }
        guard kernel.count == n else { throw fail("kernel has \(kernel.count) spatial dims, input has \(n)") }
        if let k = kernelShape, k != kernel { throw fail("kernel_shape \(k) does not match the weight's spatial shape \(kernel)") }
        let s = strides ?? [Int](repeating: 1, count: n)
        let d = dilations ?? [Int](repeating: 1, count: n)
        let p = pads ?? [Int](repeating: 0, count: 2 * n)
        guard s.count == n else { throw fail("strides \(s) must have \(n) values") }
        guard d.count == n else { throw fail("dilations \(d) must have \(n) values") }
        guard p.count == 2 * n else { throw fail("pads \(p) must have \(2 * n) values") }
        var axes: [Axis] = []
        for i in 0..<n {
            let input = spatial[i]
            guard kernel[i] >= 1 else { throw fail("kernel size \(kernel[i]) on spatial axis \(i) must be positive") }
            // Guard the products below against absurd attribute values.
            guard kernel[i] <= 1 << 20, d[i] <= 1 << 20, s[i] <= 1 << 20, p[i] <= 1 << 20, p[i + n] <= 1 << 20 else {
                throw fail("window attributes on spatial axis \(i) are too large")
            }
            let effective = (kernel[i] - 1) * d[i] + 1
            var pb = p[i], pe = p[i + n]
            let out: Int
            switch autoPad {
            case .notSet:
                let span = input + pb + pe - effective
                guard span >= 0 else {
                    throw fail("kernel extent \(effective) is larger than the padded input \(input + pb + pe) on spatial axis \(i)")
                }
                if ceilMode {
                    var o = (span + s[i] - 1) / s[i] + 1
                    // A window must start inside the input or the begin padding (PyTorch and ORT agree).
                    if (o - 1) * s[i] >= input + pb { o -= 1 }
                    out = o
                } else {
                    out = span / s[i] + 1
                }
            case .valid:
                guard input >= effective else { throw fail("kernel extent \(effective) is larger than the input \(input) on spatial axis \(i)") }
                pb = 0; pe = 0
                out = (input - effective) / s[i] + 1
            case .sameUpper, .sameLower:
                out = (input + s[i] - 1) / s[i]
                let total = max(0, (out - 1) * s[i] + effective - input)
                if autoPad == .sameUpper { pb = total / 2; pe = total - pb } else { pe = total / 2; pb = total - pe }
            }
            guard out >= 1 else { throw fail("output size \(out) on spatial axis \(i) is empty") }
            axes.append(Axis(input: input, kernel: kernel[i], stride: s[i], dilation: d[i], padBegin: pb, padEnd: pe, output: out))
        }
        return axes
    }
}
