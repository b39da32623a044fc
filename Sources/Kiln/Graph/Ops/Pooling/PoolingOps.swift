/// Registers the Pooling op family.
enum PoolingOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(MaxPool.self)
        registry.register(AveragePool.self)
        registry.register(GlobalAveragePool.self)
        registry.register(GlobalMaxPool.self)
    }
}
