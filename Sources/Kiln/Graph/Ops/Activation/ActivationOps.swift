/// Registers the Activation op family.
enum ActivationOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(Relu.self)
    }
}
