/// Registers the Conv op family.
enum ConvOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(Conv.self)
        registry.register(ConvTranspose.self)
    }
}
