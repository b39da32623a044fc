/// Registers the Normalization op family.
enum NormalizationOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(BatchNormalization.self)
        registry.register(LayerNormalization.self)
        registry.register(InstanceNormalization.self)
        registry.register(LRN.self)
    }
}
