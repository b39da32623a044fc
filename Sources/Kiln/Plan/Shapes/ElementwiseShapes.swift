// Static output shapes of the shape-preserving and broadcasting ops (activations, unary math,
// casts, normalizations, arithmetic, comparisons, logic). See `ShapeInferable`.

extension Relu: SameShapeAsFirstInput {}
extension LeakyRelu: SameShapeAsFirstInput {}
extension PRelu: SameShapeAsFirstInput {}
extension Clip: SameShapeAsFirstInput {}
extension Sigmoid: SameShapeAsFirstInput {}
extension HardSigmoid: SameShapeAsFirstInput {}
extension HardSwish: SameShapeAsFirstInput {}
extension Swish: SameShapeAsFirstInput {}
extension Tanh: SameShapeAsFirstInput {}
extension Erf: SameShapeAsFirstInput {}
extension Gelu: SameShapeAsFirstInput {}
extension Elu: SameShapeAsFirstInput {}
extension Selu: SameShapeAsFirstInput {}
extension Softplus: SameShapeAsFirstInput {}
extension Mish: SameShapeAsFirstInput {}
extension Softmax: SameShapeAsFirstInput {}
extension LogSoftmax: SameShapeAsFirstInput {}
extension Identity: SameShapeAsFirstInput {}

extension Sqrt: SameShapeAsFirstInput {}
extension Exp: SameShapeAsFirstInput {}
extension Log: SameShapeAsFirstInput {}
extension Abs: SameShapeAsFirstInput {}
extension Neg: SameShapeAsFirstInput {}
extension Reciprocal: SameShapeAsFirstInput {}
extension Floor: SameShapeAsFirstInput {}
extension Ceil: SameShapeAsFirstInput {}
extension Not: SameShapeAsFirstInput {}
extension Cast: SameShapeAsFirstInput {}
extension CastLike: SameShapeAsFirstInput {}

extension BatchNormalization: SameShapeAsFirstInput {}
extension LayerNormalization: SameShapeAsFirstInput {}
extension InstanceNormalization: SameShapeAsFirstInput {}
extension LRN: SameShapeAsFirstInput {}

extension Dropout: ShapeInferable {
    /// The data and a mask of the same shape (inference `Dropout` always returns both).
    func outputShapes(_ inputs: ShapeFacts, outputCount: Int) throws -> [[Int]]? {
        inputs.shape(0).map { [$0, $0] }
    }
}

extension Add: BroadcastsInputs {}
extension Sub: BroadcastsInputs {}
extension Mul: BroadcastsInputs {}
extension Div: BroadcastsInputs {}
extension Pow: BroadcastsInputs {}
extension Max: BroadcastsInputs {}
extension Min: BroadcastsInputs {}
extension Sum: BroadcastsInputs {}
extension Mean: BroadcastsInputs {}
extension Equal: BroadcastsInputs {}
extension Less: BroadcastsInputs {}
extension Greater: BroadcastsInputs {}
extension LessOrEqual: BroadcastsInputs {}
extension GreaterOrEqual: BroadcastsInputs {}
extension And: BroadcastsInputs {}
extension Or: BroadcastsInputs {}
extension Xor: BroadcastsInputs {}
extension Where: BroadcastsInputs {}
