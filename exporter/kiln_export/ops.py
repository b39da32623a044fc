"""The ONNX op types the Kiln runtime executes.

This list mirrors the Swift runtime's op registry; a Swift test
(``ModelFixtureTests.testExporterSupportedOpsMatchRegistry``) checks that the two agree, so
change both together.
"""

from __future__ import annotations

from typing import Iterable

SUPPORTED_OPS: frozenset[str] = frozenset(
    """
    Conv ConvTranspose Gemm MatMul MaxPool AveragePool GlobalAveragePool GlobalMaxPool
    BatchNormalization LayerNormalization InstanceNormalization LRN
    Relu LeakyRelu PRelu Clip Sigmoid HardSigmoid HardSwish Swish Tanh Erf Gelu Elu Selu Softplus Mish
    Softmax LogSoftmax Identity Dropout
    Add Sub Mul Div Pow Max Min Sum Mean Sqrt Exp Log Abs Neg Reciprocal Floor Ceil
    Equal Less Greater LessOrEqual GreaterOrEqual Where Not And Or Xor
    Cast CastLike Reshape Flatten Transpose Concat Split Slice Gather Pad Squeeze Unsqueeze Expand Tile
    Shape ConstantOfShape Range Resize Upsample DepthToSpace SpaceToDepth
    ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceSumSquare ReduceLogSum
    ArgMax ArgMin
    RNN GRU LSTM TopK ScatterND NonMaxSuppression Einsum GridSample
    """.split()
)

DEFAULT_DOMAINS = ("", "ai.onnx")


def unsupported_nodes(nodes: Iterable) -> list[str]:
    """Every node Kiln cannot run, as ``"<name> (<op>)"`` strings, in graph order.

    A node is unsupported when its domain is not the default ONNX domain or its op type is not in
    :data:`SUPPORTED_OPS`.
    """
    problems = []
    for node in nodes:
        if node.domain not in DEFAULT_DOMAINS:
            problems.append(f"{node.name} ({node.domain}::{node.op_type}): non-default domain")
        elif node.op_type not in SUPPORTED_OPS:
            problems.append(f"{node.name} ({node.op_type}): unsupported op")
    return problems
