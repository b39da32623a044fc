/// The geometry of one 2-D convolution, NCHW, computed once from the input and weight shapes and
/// the resolved window attributes. A 1-D convolution is the same with `inHeight == 1`,
/// `kernelH == 1`, `strideH == 1`, no vertical padding.
///
/// Everything a kernel needs besides the data pointers is here, so that a planned convolution can
/// compute it once at load time (input shapes are static there) and keep prepacked weights next to it.
struct Conv2DGeometry: Sendable, Equatable {
    var batch: Int
    var inChannels: Int
    var inHeight: Int
    var inWidth: Int
    var outChannels: Int
    var outHeight: Int
    var outWidth: Int
    var group: Int
    var kernelH: Int
    var kernelW: Int
    var strideH: Int
    var strideW: Int
    var dilationH: Int
    var dilationW: Int
    var padTop: Int
    var padLeft: Int
    var padBottom: Int
    var padRight: Int

    /// Builds the geometry from resolved spatial axes (`[H, W]`, or `[W]` for 1-D).
    init(batch: Int, inChannels: Int, outChannels: Int, group: Int, axes: [SpatialAttributes.Axis]) {
        let h = axes.count == 2 ? axes[0] : SpatialAttributes.Axis(input: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0, output: 1)
        let w = axes[axes.count - 1]
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.group = group
        inHeight = h.input; inWidth = w.input
        outHeight = h.output; outWidth = w.output
        kernelH = h.kernel; kernelW = w.kernel
        strideH = h.stride; strideW = w.stride
        dilationH = h.dilation; dilationW = w.dilation
        padTop = h.padBegin; padBottom = h.padEnd
        padLeft = w.padBegin; padRight = w.padEnd
    }

    /// Input channels seen by one output channel (`C / group`).
    var inChannelsPerGroup: Int { inChannels / group }
    /// Output channels of one group (`M / group`).
    var outChannelsPerGroup: Int { outChannels / group }
    /// `kH · kW`.
    var kernelArea: Int { kernelH &* kernelW }
    /// The GEMM reduction length of the im2col path: `C/group · kH · kW`.
    var gemmK: Int { inChannelsPerGroup &* kernelArea }
    /// `H · W` of the input.
    var inPlane: Int { inHeight &* inWidth }
    /// `outH · outW`.
    var outPlane: Int { outHeight &* outWidth }

    /// A 1×1 kernel with unit strides and no padding: the input is already the im2col matrix.
    var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1
            && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0
    }

    /// One input channel per group: depthwise, possibly with a channel multiplier `M = k·C`
    /// (including a single-channel input with `group == 1`, where a GEMM would have `K = kH·kW`).
    var isDepthwise: Bool { inChannelsPerGroup == 1 }

    /// The algorithm ``conv2d_f32_nchw(_:input:weight:bias:output:scratch:activation:context:)`` uses.
    var algorithm: ConvAlgorithm {
        if isDepthwise { return .depthwise }
        if isPointwise { return .pointwiseGEMM }
        return .im2colGEMM
    }

    /// Floats of scratch memory the chosen algorithm needs (the im2col matrix of one group).
    var scratchCount: Int { algorithm == .im2colGEMM ? gemmK &* outPlane : 0 }
}

/// How a convolution is computed.
enum ConvAlgorithm: Sendable, Equatable, CaseIterable {
    /// 1×1, stride 1, no padding: one GEMM per (batch, group) straight on the input.
    case pointwiseGEMM
    /// One input channel per group: a direct SIMD kernel per output plane, no GEMM.
    case depthwise
    /// General: im2col into scratch, then one GEMM per (batch, group).
    case im2colGEMM
}

/// The geometry of one 2-D transposed convolution, NCHW (1-D uses `inHeight == 1`).
///
/// Output position `o = i·stride + k·dilation − padBegin` receives `x[i] · w[k]`; the output sizes
/// already include `output_padding` / `output_shape`.
struct ConvTranspose2DGeometry: Sendable, Equatable {
    var batch: Int
    var inChannels: Int
    var inHeight: Int
    var inWidth: Int
    var outChannels: Int
    var outHeight: Int
    var outWidth: Int
    var group: Int
    var kernelH: Int
    var kernelW: Int
    var strideH: Int
    var strideW: Int
    var dilationH: Int
    var dilationW: Int
    var padTop: Int
    var padLeft: Int

    var inChannelsPerGroup: Int { inChannels / group }
    var outChannelsPerGroup: Int { outChannels / group }
    var kernelArea: Int { kernelH &* kernelW }
    var inPlane: Int { inHeight &* inWidth }
    var outPlane: Int { outHeight &* outWidth }
    /// Rows of the column matrix of one group: `M/group · kH · kW`.
    var columnRows: Int { outChannelsPerGroup &* kernelArea }

    /// 1×1 kernel, unit strides, no padding and an output as large as the input: the GEMM writes
    /// the output directly.
    var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0
            && outHeight == inHeight && outWidth == inWidth
    }

    /// Floats of scratch memory (the column matrix of one group), 0 for the pointwise path.
    var scratchCount: Int { isPointwise ? 0 : columnRows &* inPlane }
}
