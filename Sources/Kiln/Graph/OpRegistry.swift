/// Maps op types to decoders. Built explicitly from each op family's `registerAll(into:)`; there is
/// no reflection and no global mutable state.
public struct OpRegistry: Sendable {
    /// Decodes attributes into an operator.
    public typealias Decoder = @Sendable (Attributes) throws -> any Operator

    private var decoders: [String: Decoder] = [:]

    /// An empty registry.
    public init() {}

    /// Registers an operator type under its ``Operator/opType``.
    public mutating func register<Op: Operator>(_ type: Op.Type) {
        decoders[Op.opType] = { try Op(attributes: $0) }
    }

    /// Registers a decoder under an explicit name (aliases such as `Upsample`).
    public mutating func register(_ opType: String, decoder: @escaping Decoder) {
        decoders[opType] = decoder
    }

    /// Every registered op type, sorted.
    public var opTypes: [String] { decoders.keys.sorted() }

    /// Whether `opType` is registered.
    public func supports(_ opType: String) -> Bool { decoders[opType] != nil }

    /// Decodes a node.
    /// - Parameters:
    ///   - opType: The ONNX op type.
    ///   - attributes: The node's attributes (their `op` should equal `opType`).
    /// - Returns: The validated operator.
    /// - Throws: ``KilnError/unsupportedOp(name:node:reason:)`` for an unknown op type, or what the
    ///   decoder throws.
    public func make(_ opType: String, attributes: Attributes) throws -> any Operator {
        guard let decode = decoders[opType] else {
            throw KilnError.unsupportedOp(name: opType, node: attributes.node, reason: "no kernel for this op type")
        }
        return try decode(attributes)
    }

    /// Every op Kiln implements.
    public static let standard: OpRegistry = {
        var r = OpRegistry()
        ConvOps.registerAll(into: &r)
        LinearOps.registerAll(into: &r)
        PoolingOps.registerAll(into: &r)
        NormalizationOps.registerAll(into: &r)
        ActivationOps.registerAll(into: &r)
        ElementwiseOps.registerAll(into: &r)
        DataMovementOps.registerAll(into: &r)
        ReductionOps.registerAll(into: &r)
        RecurrentOps.registerAll(into: &r)
        DetectionOps.registerAll(into: &r)
        return r
    }()
}
