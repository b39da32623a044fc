import KilnKernels

/// An activation applied by a producing op (Conv, Gemm) to its output tile right after the bias,
/// instead of by a separate pass over memory. Set by the `fuseActivation` optimizer pass.
enum FusedActivation: Sendable, Equatable {
    /// No activation.
    case none
    /// `max(x, 0)`.
    case relu
    /// `min(max(x, min), max)` (ONNX `Clip`; ReLU6 is `clip(0, 6)`).
    case clip(min: Float, max: Float)
    /// ONNX `HardSwish`: `x · clip(x + 3, 0, 6) / 6` (Conv only).
    case hardSwish
    /// SiLU, ONNX `Swish` with α = 1: `x · σ(x)` (Conv only).
    case silu
    /// ONNX `Sigmoid`: `1 / (1 + e^−x)` (Conv only).
    case sigmoid

    /// Whether a `Gemm` can apply it (its epilogue implements the clamps only).
    var isClamp: Bool {
        switch self {
        case .none, .relu, .clip: return true
        case .hardSwish, .silu, .sigmoid: return false
        }
    }

    /// Sets `epilogue`'s activation (and clip bounds) to this one, for Kiln's kernels.
    func configure(_ epilogue: inout Epilogue) {
        switch self {
        case .none: epilogue.activation = .none
        case .relu: epilogue.activation = .relu
        case let .clip(lo, hi):
            epilogue.activation = .clip
            epilogue.lo = lo
            epilogue.hi = hi
        case .hardSwish: epilogue.activation = .hardSwish
        case .silu: epilogue.activation = .silu
        case .sigmoid: epilogue.activation = .sigmoid
        }
    }

    /// Attribute names the optimizer uses to carry the fusion on a node (internal; never written
    /// to artifacts, and rejected by op decoders if found there).
    static let kindAttribute = "kiln.activation"
    static let minAttribute = "kiln.activation_min"
    static let maxAttribute = "kiln.activation_max"

    /// Reads and removes the fusion attributes from `attributes`.
    static func extract(from attributes: inout Attributes) throws -> FusedActivation {
        guard let kind = attributes.values.removeValue(forKey: kindAttribute) else { return .none }
        let lo = attributes.values.removeValue(forKey: minAttribute)
        let hi = attributes.values.removeValue(forKey: maxAttribute)
        switch (kind, lo, hi) {
        case (.string("relu"), _, _): return .relu
        case (.string("hardswish"), _, _): return .hardSwish
        case (.string("silu"), _, _): return .silu
        case (.string("sigmoid"), _, _): return .sigmoid
        case (.string("clip"), .float(let a)?, .float(let b)?): return .clip(min: a, max: b)
        default: throw attributes.error("malformed fused activation attributes")
        }
    }

    /// The attributes that carry this activation.
    var attributes: [String: AttributeValue] {
        switch self {
        case .none: return [:]
        case .relu: return [Self.kindAttribute: .string("relu")]
        case .hardSwish: return [Self.kindAttribute: .string("hardswish")]
        case .silu: return [Self.kindAttribute: .string("silu")]
        case .sigmoid: return [Self.kindAttribute: .string("sigmoid")]
        case let .clip(a, b): return [Self.kindAttribute: .string("clip"), Self.minAttribute: .float(a), Self.maxAttribute: .float(b)]
        }
    }
}

/// An operator that can apply a ``FusedActivation`` to its output.
protocol FusableOperator: Operator {
    /// The same operator followed by `activation`.
    func fused(with activation: FusedActivation) -> any Operator
}
