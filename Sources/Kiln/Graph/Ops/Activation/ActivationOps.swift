/// Registers the Activation op family.
enum ActivationOps {
    /// Adds every op of this family to `registry`.
    static func registerAll(into registry: inout OpRegistry) {
        registry.register(Relu.self)
        registry.register(LeakyRelu.self)
        registry.register(PRelu.self)
        registry.register(Clip.self)
        registry.register(Sigmoid.self)
        registry.register(HardSigmoid.self)
        registry.register(HardSwish.self)
        registry.register(Swish.self)
        registry.register(Tanh.self)
        registry.register(Erf.self)
        registry.register(Gelu.self)
        registry.register(Elu.self)
        registry.register(Selu.self)
        registry.register(Softplus.self)
        registry.register(Mish.self)
        registry.register(Softmax.self)
        registry.register(LogSoftmax.self)
        registry.register(Identity.self)
        registry.register(Dropout.self)
    }
}
