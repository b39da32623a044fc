"""Model fixtures: small committed `.kiln` artifacts that together use every op Kiln registers.

Run from anywhere (torch, onnx and onnxruntime needed here only, never in CI):

    /work/venv/bin/python Fixtures/models/gen_models.py [--only ops_<group> ...]

Regenerates the whole directory, seeded (or, with ``--only``, just the named hand-built op graphs):

- ``<net>.kiln``: tiny networks shaped like real architectures (ResNet, MobileNetV3, ViT, U-Net),
  exported with ``kiln_export.export_module``: dynamic batch ``N``, opset 17 (TorchScript exporter;
  ``tiny_vit_dynamo``: the torch.export-based exporter at opset 18), the self-test is
  PyTorch's own output on a seeded batch-2 input (``"reference": "torch"``). BatchNorm running
  statistics are perturbed so that BN is not the identity.
- ``ops_<group>.kiln``: hand-built ONNX graphs (``onnx.helper``) for the registered ops PyTorch does
  not emit, exported with ``kiln_export.export_onnx`` (ONNX Runtime is the reference). Every node
  depends on the graph input so that the exporter's constant folding keeps it.
- ``ops_upsample_opset9.kiln``: ``Upsample`` exists only up to opset 9, and ``kiln-export`` converts
  such models to opset 11 (where it becomes ``Resize``), so this artifact is written directly with
  the exporter's writer (graph opset 9, reference from ONNX Runtime on the opset-9 model).
- ``onnx/<net>.onnx``: the ONNX files of three of the nets, for the CI round trip
  (``roundtrip.sh`` exports them with the ``kiln-export`` CLI into ``generated/``).

Every output keeps batch rows independent (a batch of identical rows gives identical output
rows), which the Swift batch tests rely on.
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "exporter"))

from kiln_export import export_module, export_onnx, read_artifact  # noqa: E402
from kiln_export.api import _frameworks, torch_to_onnx  # noqa: E402
from kiln_export.format import encode_artifact, write_file_atomic  # noqa: E402
from kiln_export.reader import run_onnx_model  # noqa: E402

CREATED = "2026-01-01T00:00:00Z"  # fixed so that regenerating gives identical bytes
OPSET = 17


# ---------------------------------------------------------------------------------------------
# Tiny PyTorch nets
# ---------------------------------------------------------------------------------------------

def perturb_batchnorm(module: nn.Module, gen: torch.Generator) -> None:
    """Non-trivial running stats and affine parameters, so BN (or its folded form) matters."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)


def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout, 3)
        self.down = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.b(F.relu(self.a(x)))
        return F.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    """conv-bn-relu stem, maxpool, two basic blocks (one downsampling), GAP, Linear."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 8, 3)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.pool(F.relu(self.stem(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.gap(x), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))


class InvertedResidual(nn.Module):
    def __init__(self, cin, hidden, cout, k, stride, act, se):
        super().__init__()
        self.expand = conv_bn(cin, hidden, 1)
        self.dw = conv_bn(hidden, hidden, k, stride, groups=hidden)
        self.se = SqueezeExcite(hidden) if se else nn.Identity()
        self.project = conv_bn(hidden, cout, 1)
        self.act = act
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.act(self.expand(x))
        y = self.se(self.act(self.dw(y)))
        y = self.project(y)
        return x + y if self.residual else y


class TinyMobileNetV3(nn.Module):
    """Hardswish stem, inverted residuals (depthwise 3x3/5x5, ReLU / ReLU6 / Hardswish,
    squeeze-excite with Hardsigmoid and Mul), GAP, Linear-Hardswish-Dropout-Linear head."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 8, 3, 2)
        self.blocks = nn.Sequential(
            InvertedResidual(8, 16, 8, 3, 1, nn.ReLU(), se=True),
            InvertedResidual(8, 24, 12, 5, 2, nn.ReLU6(), se=False),
            InvertedResidual(12, 24, 12, 3, 1, nn.Hardswish(), se=True),
        )
        self.head = nn.Sequential(nn.Linear(12, 16), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(16, classes))

    def forward(self, x):
        x = self.blocks(F.hardswish(self.stem(x)))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # Split
        q, k, v = (t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2) for t in (q, k, v))
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class TinyViT(nn.Module):
    """Patch conv, flatten/transpose, cls token (Expand + Concat), position embedding, one
    pre-norm transformer block (LayerNorm, MatMul attention with Softmax, GELU MLP), final
    LayerNorm, cls token (Gather) plus mean of the patch tokens (Slice + ReduceMean), Linear."""

    def __init__(self, classes=10, dim=16, patch=4, image=16, heads=2):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        tokens = (image // patch) ** 2 + 1
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.5)
        self.pos = nn.Parameter(torch.randn(1, tokens, dim) * 0.2)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        x = self.norm(x)
        return self.head(x[:, 0] + x[:, 1:].mean(dim=1))


class TinyUNet(nn.Module):
    """Reflect-padded conv + InstanceNorm + LeakyReLU encoder, strided-conv downsampling, a
    bottleneck behind AvgPool, decoder with bilinear and nearest F.interpolate and a
    ConvTranspose, Concat skip connections, Tanh/Sigmoid heads."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(3, 8, 3), nn.InstanceNorm2d(8, affine=True),
                                  nn.LeakyReLU(0.2))
        self.down = nn.Conv2d(8, 16, 3, 2, 1)
        self.mid = nn.Conv2d(16, 16, 3, 1, 1)
        self.up = nn.ConvTranspose2d(16, 8, 2, 2)
        self.fuse = nn.Conv2d(8 + 8 + 16, 8, 3, 1, 1)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)                                   # [N, 8, 16, 16]
        e2 = F.relu(self.down(e1))                          # [N, 16, 8, 8]
        m = torch.tanh(self.mid(F.avg_pool2d(e2, 2)))       # [N, 16, 4, 4]
        m = F.interpolate(m, scale_factor=2, mode="bilinear", align_corners=False)  # [N, 16, 8, 8]
        u = self.up(e2 + m)                                 # [N, 8, 16, 16]
        # size= from a tensor shape, as real U-Nets write it: a Resize whose `sizes` input is computed
        # (Shape -> Slice -> Concat) because the batch dim is symbolic.
        n = F.interpolate(m, size=e1.shape[-2:], mode="nearest")  # [N, 16, 16, 16]
        y = F.relu(self.fuse(torch.cat([u, e1, n], dim=1)))
        return torch.sigmoid(self.out(y))


NETS = [
    # name, module class, input shape (without batch), kept as ONNX for the round trip, exporter
    ("tiny_resnet", TinyResNet, (3, 16, 16), True, "torchscript"),
    ("tiny_mobilenetv3", TinyMobileNetV3, (3, 16, 16), True, "torchscript"),
    ("tiny_vit", TinyViT, (3, 16, 16), False, "torchscript"),
    ("tiny_unet", TinyUNet, (3, 16, 16), True, "torchscript"),
    # The torch.export-based exporter (opset 18 forms: Split with num_outputs, ReduceMean with axes
    # as an input, LayerNormalization with stash outputs dropped).
    ("tiny_vit_dynamo", TinyViT, (3, 16, 16), False, "dynamo"),
]


def export_nets() -> None:
    for index, (name, cls, shape, keep_onnx, exporter) in enumerate(NETS):
        gen = torch.Generator().manual_seed(1000 + index)
        torch.manual_seed(1000 + index)
        net = cls()
        perturb_batchnorm(net, gen)
        net.eval()
        example = torch.randn((2, *shape), generator=gen)
        out_name = "mask" if name == "tiny_unet" else "logits"
        result = export_module(net, example, os.path.join(HERE, f"{name}.kiln"), input_names=["input"],
                               output_names=[out_name], dynamic_batch=True, dynamo=exporter == "dynamo",
                               opset=18 if exporter == "dynamo" else OPSET,
                               source_name=f"Fixtures/models/gen_models.py:{cls.__name__}", created=CREATED)
        report(result)
        if keep_onnx:
            proto = torch_to_onnx(net, (example,), ["input"], [out_name], True, False, OPSET)
            proto.producer_version = ""  # no torch build string in a committed file
            onnx.save(proto, os.path.join(HERE, "onnx", f"{name}.onnx"))


# ---------------------------------------------------------------------------------------------
# Hand-built ONNX graphs for the ops PyTorch does not emit
# ---------------------------------------------------------------------------------------------

class GraphBuilder:
    """Nodes and initializers with generated names; `op(...)` returns the output name(s)."""

    def __init__(self, seed: int):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def const(self, value, dtype=np.float32) -> str:
        name = f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs, outputs: int = 1, **attrs):
        self.count += 1
        base = f"{op_type.lower()}_{self.count}"
        outs = [base] if outputs == 1 else [f"{base}_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=base, **attrs))
        return outs[0] if outputs == 1 else outs

    def flat(self, x: str) -> str:
        """[N, ...] -> [N, prod(...)], float32."""
        return self.op("Flatten", [x], axis=1)

    def model(self, name, inputs, outputs, opset) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, initializer=self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 7 if opset < 15 else 8 if opset < 19 else 10
        onnx.checker.check_model(m, full_check=True)
        return m


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def ops_elementwise() -> onnx.ModelProto:
    """Unary math, binary arithmetic with broadcasting, variadic Max/Min/Sum/Mean. Two inputs
    sharing the batch dim N."""
    g = GraphBuilder(1)
    ap = g.op("Add", [g.op("Abs", ["x"]), g.const(0.5)])          # > 0: safe for Sqrt/Log/Pow
    x3 = g.op("Mul", ["x", g.const(3.0)])
    parts = [
        g.op("Sqrt", [ap]), g.op("Log", [ap]), g.op("Exp", ["y"]), g.op("Neg", ["x"]),
        g.op("Reciprocal", [ap]), g.op("Floor", [x3]), g.op("Ceil", [x3]),
        g.op("Pow", [ap, g.const(1.5)]), g.op("Pow", ["x", g.const([2.0, 3.0, 1.0, 0.0])]),
        g.op("Sub", ["x", "y"]), g.op("Div", ["y", ap]),
        g.op("Max", ["x", "y", g.const([[0.1], [0.2], [-0.3]])]), g.op("Min", ["x", "y"]),
        g.op("Sum", ["x", "y", ap]), g.op("Mean", ["x", "y", g.const(1.0)]),
        g.op("Max", ["x"]),
    ]
    g.op("Concat", parts, axis=2)
    g.nodes[-1].output[0] = "elementwise"
    return g.model("ops_elementwise", [f32("x", ["N", 3, 4]), f32("y", ["N", 3, 4])],
                   [f32("elementwise", ["N", 3, 64])], 13)


def ops_logic() -> onnx.ModelProto:
    """Comparisons, boolean logic, Where, Cast and CastLike (opset 15)."""
    g = GraphBuilder(2)
    gt = g.op("Greater", ["x", g.const(0.0)])
    lt = g.op("Less", ["x", g.const(0.5)])
    ge = g.op("GreaterOrEqual", ["x", g.const(-0.5)])
    le = g.op("LessOrEqual", ["x", g.const(1.0)])
    xi = g.op("Cast", [g.op("Floor", [g.op("Mul", ["x", g.const(2.0)])])], to=TensorProto.INT64)
    eq = g.op("Equal", [xi, g.const([0, -1, 1, 0, 2, -2], np.int64)])
    an = g.op("And", [gt, lt])
    o = g.op("Or", [eq, le])
    xr = g.op("Xor", [ge, gt])
    nt = g.op("Not", [an])
    w = g.op("Where", [xr, "x", g.op("Neg", ["x"])])
    as_float = [g.op("CastLike", [b, "x"]) for b in (gt, lt, ge, le, eq, an, o)]
    as_float += [g.op("Cast", [b], to=TensorProto.FLOAT) for b in (xr, nt, xi)]
    g.op("Concat", as_float + [w], axis=1)
    g.nodes[-1].output[0] = "logic"
    return g.model("ops_logic", [f32("x", ["N", 6])], [f32("logic", ["N", 66])], 15)


def ops_reduce() -> onnx.ModelProto:
    """Every Reduce* with axes as an input (opset 18), keepdims 0 and 1, negative axes, ArgMax and
    ArgMin (select_last_index, keepdims)."""
    g = GraphBuilder(3)
    ax = lambda *a: g.const(list(a), np.int64)  # noqa: E731
    pos = g.op("Add", [g.op("Abs", ["x"]), g.const(0.25)])
    parts = [
        g.op("ReduceSum", ["x", ax(2, 3)], keepdims=1),
        g.op("ReduceMean", ["x", ax(-1)], keepdims=0),
        g.op("ReduceMax", ["x", ax(1)], keepdims=0),
        g.op("ReduceMin", ["x", ax(2, -1)], keepdims=1),
        g.op("ReduceProd", [pos, ax(3)], keepdims=0),
        g.op("ReduceL1", ["x", ax(1, 2)], keepdims=0),
        g.op("ReduceL2", ["x", ax(-2)], keepdims=1),
        g.op("ReduceSumSquare", ["x", ax(3)], keepdims=0),
        g.op("ReduceLogSum", [pos, ax(1, 3)], keepdims=1),
        g.op("Cast", [g.op("ArgMax", ["x"], axis=1, keepdims=1)], to=TensorProto.FLOAT),
        g.op("Cast", [g.op("ArgMin", ["x"], axis=-1, keepdims=0, select_last_index=1)], to=TensorProto.FLOAT),
        g.op("Cast", [g.op("ArgMax", ["x"], axis=2, keepdims=0)], to=TensorProto.FLOAT),
    ]
    g.op("Concat", [g.flat(p) for p in parts], axis=1)
    g.nodes[-1].output[0] = "reduced"
    # The width is left symbolic here; the exporter stores what shape inference computes.
    return g.model("ops_reduce", [f32("x", ["N", 3, 4, 5])], [f32("reduced", ["N", "W"])], 18)


def ops_shape() -> onnx.ModelProto:
    """Shape-driven ops that stay live because of the symbolic batch: Shape, ConstantOfShape,
    Range (bounds computed from the data), Expand, Tile, Squeeze/Unsqueeze, Split, Slice with
    negative steps, Gather, Pad (constant, edge, reflect), Reshape with 0/-1, Transpose, Identity,
    Dropout (inference), Cast between int and float."""
    g = GraphBuilder(4)
    i64 = lambda *a: g.const(list(a), np.int64)  # noqa: E731
    shape = g.op("Shape", ["x"])
    filled = g.op("ConstantOfShape", [shape], value=numpy_helper.from_array(np.array([0.25], np.float32)))
    start = g.op("ReduceMin", ["x"], keepdims=0)                # scalar; equal rows give equal bounds
    limit = g.op("Add", [start, g.const(4.0)])
    rng = g.op("Range", [start, limit, g.const(0.75)])           # 6 values: ceil(4 / 0.75)
    nrange = g.op("Cast", [g.op("Range", [g.const(0, np.int64), g.op("Gather", [shape, g.const(3, np.int64)], axis=0),
                                          g.const(2, np.int64)])], to=TensorProto.FLOAT)  # [0, 2, 4]
    expanded = g.op("Expand", [g.op("Slice", ["x", i64(0), i64(1), i64(1)]), i64(1, 2, 1, 1)])
    tiled = g.op("Tile", ["x", i64(1, 1, 2, 1)])
    unsq = g.op("Unsqueeze", ["x", i64(2, -1)])
    sq = g.op("Squeeze", [unsq, i64(2, 5)])
    a, b = g.op("Split", ["x", i64(2, 4)], outputs=2, axis=3)
    rev = g.op("Slice", ["x", i64(-1), i64(-1000), i64(3), i64(-2)])
    gathered = g.op("Gather", ["x", i64(5, 0, 2, -1)], axis=3)
    gathered2 = g.op("Gather", ["x", g.const([[1, 0], [0, 1]], np.int64)], axis=1)
    padc = g.op("Pad", ["x", i64(0, 0, 1, 2, 0, 0, 0, 1), g.const(-1.5)], mode="constant")
    pade = g.op("Pad", ["x", i64(0, 0, 1, 0, 0, 0, 2, 1)], mode="edge")
    padr = g.op("Pad", ["x", i64(0, 0, 0, 2, 0, 0, 2, 1)], mode="reflect")
    reshaped = g.op("Reshape", ["x", i64(0, -1, 4)])             # [N, 2, 3, 6] -> [N, 9, 4]
    transposed = g.op("Transpose", [reshaped], perm=[0, 2, 1])
    ident = g.op("Identity", [transposed])
    dropped = g.op("Dropout", [ident])
    rounded = g.op("Cast", [g.op("Cast", [g.op("Mul", ["x", g.const(4.0)])], to=TensorProto.INT32)], to=TensorProto.FLOAT)
    parts = [g.op("Add", ["x", filled]), g.op("Add", ["x", rng]), g.op("Add", [g.op("Slice", ["x", i64(0), i64(3), i64(3)]), nrange]),
             expanded, tiled, sq, a, b, rev, gathered, gathered2, padc, pade, padr, dropped, rounded]
    g.op("Concat", [g.flat(p) for p in parts], axis=1)
    g.nodes[-1].output[0] = "shaped"
    return g.model("ops_shape", [f32("x", ["N", 2, 3, 6])], [f32("shaped", ["N", "W"])], 13)


def ops_activation() -> onnx.ModelProto:
    """Activations torch exports rarely or differently: Elu, Selu, Softplus, Mish, PRelu (per
    channel), LeakyRelu, HardSigmoid with non-default alpha/beta, Clip (min only, attribute-free),
    Sigmoid, Tanh, Erf, Softmax and LogSoftmax on inner and outer axes (opset 18)."""
    g = GraphBuilder(5)
    parts = [
        g.op("Elu", ["x"], alpha=0.7), g.op("Selu", ["x"]), g.op("Softplus", ["x"]), g.op("Mish", ["x"]),
        g.op("PRelu", ["x", g.const(np.linspace(-0.5, 0.5, 4, dtype=np.float32).reshape(4, 1))]),
        g.op("LeakyRelu", ["x"], alpha=0.05), g.op("HardSigmoid", ["x"], alpha=0.3, beta=0.4),
        g.op("Clip", ["x", g.const(-0.25)]), g.op("Clip", ["x", "", g.const(0.5)]),
        g.op("Sigmoid", ["x"]), g.op("Tanh", ["x"]), g.op("Erf", ["x"]),
        g.op("Softmax", ["x"], axis=1), g.op("LogSoftmax", ["x"], axis=-1), g.op("Softmax", ["x"]),
    ]
    g.op("Concat", parts, axis=2)
    g.nodes[-1].output[0] = "activated"
    return g.model("ops_activation", [f32("x", ["N", 4, 6])], [f32("activated", ["N", 4, 90])], 18)


def ops_opset24() -> onnx.ModelProto:
    """The newest-opset activations: Gelu (opset 20, exact and tanh) and Swish (opset 24)."""
    g = GraphBuilder(6)
    parts = [g.op("Gelu", ["x"]), g.op("Gelu", ["x"], approximate="tanh"), g.op("Swish", ["x"]),
             g.op("Swish", ["x"], alpha=1.7)]
    g.op("Concat", parts, axis=1)
    g.nodes[-1].output[0] = "activated"
    return g.model("ops_opset24", [f32("x", ["N", 5])], [f32("activated", ["N", 20])], 24)


def ops_norm_pool() -> onnx.ModelProto:
    """A live BatchNormalization (after a Conv, foldable by Kiln's optimizer, and on the graph
    input, not foldable), pooling torch exports only in other forms (AveragePool with
    count_include_pad 0 and ceil_mode, GlobalMaxPool, dilated MaxPool), grouped Conv, Gemm with
    transA/alpha/beta, batched MatMul."""
    g = GraphBuilder(7)
    r = g.rng

    def bn(x, c):
        return g.op("BatchNormalization", [x, g.const(r.uniform(0.5, 1.5, c)), g.const(r.normal(0, 0.1, c)),
                                           g.const(r.normal(0, 0.3, c)), g.const(r.uniform(0.5, 1.5, c))],
                    epsilon=1e-3)

    conv = g.op("Conv", ["x", g.const(r.normal(0, 0.3, (4, 3, 3, 3))), g.const(r.normal(0, 0.1, 4))], pads=[1, 1, 1, 1])
    a = g.op("Relu", [bn(conv, 4)])
    b = bn("x", 3)
    grouped = g.op("Conv", [a, g.const(r.normal(0, 0.3, (4, 2, 1, 3)))], group=2, pads=[0, 1, 0, 1], strides=[2, 1])
    avg = g.op("AveragePool", [a], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0,
               ceil_mode=1)
    avg2 = g.op("AveragePool", [b], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1)
    gmax = g.op("GlobalMaxPool", [a])
    dil = g.op("MaxPool", [b], kernel_shape=[2, 2], dilations=[2, 2])
    flat = g.op("Flatten", [gmax])                                    # [N, 4]
    gemm = g.op("Gemm", [g.const(r.normal(0, 0.5, (4, 5))), flat], transA=1, transB=1, alpha=0.5, beta=2.0)
    gemm_t = g.op("Gemm", [flat, g.const(r.normal(0, 0.5, (6, 4))), g.const(r.normal(0, 0.1, 6))], transB=1,
                  alpha=0.5, beta=2.0)
    mm = g.op("MatMul", [b, g.const(r.normal(0, 0.5, (7, 2)))])      # [N, 3, 7, 2]
    # The Gemm with A = weights puts the batch on dim 1: transpose it back.
    gemm_b = g.op("Transpose", [gemm], perm=[1, 0])
    parts = [a, b, grouped, avg, avg2, gmax, dil, gemm_b, gemm_t, mm]
    g.op("Concat", [g.flat(p) for p in parts], axis=1)
    g.nodes[-1].output[0] = "features"
    return g.model("ops_norm_pool", [f32("x", ["N", 3, 7, 7])], [f32("features", ["N", "W"])], 13)


def ops_classic() -> onnx.ModelProto:
    """Ops of classic and pixel-shuffling vision models: LRN (AlexNet's settings, and size 3; ONNX
    Runtime, the reference here, refuses even sizes), SpaceToDepth, DepthToSpace in both modes, and a Dropout whose mask is read (cast to
    float and multiplied in), so the optimizer must keep it (opset 13: ONNX Runtime's mask is all
    true there, as the spec says)."""
    g = GraphBuilder(8)
    lrn = g.op("LRN", ["x"], size=5, alpha=1e-4, beta=0.75, bias=1.0)
    lrn3 = g.op("LRN", ["x"], size=3, alpha=0.05, beta=0.5, bias=2.0)
    s2d = g.op("SpaceToDepth", [lrn], blocksize=2)                      # [N, 16, 2, 3]
    dcr = g.op("DepthToSpace", [s2d], blocksize=2)                      # back to [N, 4, 4, 6]
    crd = g.op("DepthToSpace", [s2d], blocksize=2, mode="CRD")
    dropped, mask = g.op("Dropout", [lrn3], outputs=2)
    masked = g.op("Mul", [dropped, g.op("Cast", [mask], to=TensorProto.FLOAT)])
    g.op("Concat", [g.flat(p) for p in (lrn, s2d, dcr, crd, masked)], axis=1)
    g.nodes[-1].output[0] = "features"
    return g.model("ops_classic", [f32("x", ["N", 4, 4, 6])], [f32("features", ["N", 480])], 13)


def ops_recurrent() -> onnx.ModelProto:
    """Recurrent layers stacked as a CRNN recognizer stacks them: a bidirectional LSTM with bias
    and initial states, its two directions joined (Transpose + Reshape) and fed to a GRU in
    PyTorch's form (linear_before_reset = 1), and a reverse RNN beside them on the input. Inputs and
    outputs are batch first (N is dim 0 everywhere, as the model tests expect) around layout-0
    recurrences (ONNX Runtime, the reference, refuses layout 1); the sequence length T is a symbol."""
    g = GraphBuilder(9)
    w = lambda *shape: g.const(g.rng.standard_normal(shape) * 0.4)  # noqa: E731
    swap = lambda t: g.op("Transpose", [t], perm=[1, 0, 2])  # noqa: E731
    x = swap("x")
    y, _, c = g.op("LSTM", [x, w(2, 16, 6), w(2, 16, 4), w(2, 32), "", g.op("Mul", [swap("h0"), g.const(1.0)]),
                            swap("h0")], outputs=3, direction="bidirectional", hidden_size=4)
    joined = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), g.const([0, 0, -1], np.int64)])
    gru_y, _ = g.op("GRU", [joined, w(1, 9, 8), w(1, 9, 3), w(1, 18)], outputs=2, hidden_size=3, linear_before_reset=1)
    _, rnn_h = g.op("RNN", [x, w(1, 5, 6), w(1, 5, 5), w(1, 10)], outputs=2, hidden_size=5, direction="reverse")
    for name, t, perm in (("gru_y", gru_y, [2, 0, 1, 3]), ("lstm_c", c, [1, 0, 2]), ("rnn_h", rnn_h, [1, 0, 2])):
        g.op("Transpose", [t], perm=perm)
        g.nodes[-1].output[0] = name
    return g.model("ops_recurrent", [f32("x", ["N", "T", 6]), f32("h0", ["N", 2, 4])],
                   [f32("gru_y", ["N", "T", 1, 3]), f32("lstm_c", ["N", 2, 4]), f32("rnn_h", ["N", 1, 5])], 14)


def ops_detection() -> onnx.ModelProto:
    """A detector's post-processing ops kept batch-first (as the model tests need): TopK over each
    row, ScatterND writing the top values into rows 1, 4 and 5 of the transposed input, and
    NonMaxSuppression on fixed boxes scored by the batch mean (equal for every batch of tiled rows),
    its selection broadcast to every row."""
    g = GraphBuilder(10)
    vals, idx = g.op("TopK", ["x", g.const([3], np.int64)], outputs=2, axis=1)
    g.nodes[-1].output[1] = "topk_indices"
    scattered = g.op("ScatterND", [g.op("Transpose", ["x"], perm=[1, 0]), g.const([[1], [4], [5]], np.int64),
                                   g.op("Transpose", [vals], perm=[1, 0])])
    g.op("Transpose", [scattered], perm=[1, 0])
    g.nodes[-1].output[0] = "scattered"
    scores = g.op("Unsqueeze", [g.op("ReduceMean", ["x"], axes=[0], keepdims=1), g.const([0], np.int64)])
    boxes = g.const([[[0, 0, 2, 2], [0.2, 0.1, 2.1, 2], [3, 3, 4, 5], [3.1, 3, 4, 4.8], [0, 5, 1, 6], [6, 0, 5, 1]]])
    sel = g.op("NonMaxSuppression", [boxes, scores, g.const([4], np.int64), g.const([0.5]), g.const([-5.0])])
    flat = g.op("Reshape", [g.op("Cast", [sel], to=TensorProto.FLOAT), g.const([1, -1], np.int64)])
    zeros = g.op("Mul", [g.op("ReduceMean", ["x"], axes=[1], keepdims=1), g.const(0.0)])
    g.op("Add", [zeros, flat])
    g.nodes[-1].output[0] = "nms"
    return g.model("ops_detection", [f32("x", ["N", 6])],
                   [helper.make_tensor_value_info("topk_indices", TensorProto.INT64, ["N", 3]), f32("scattered", ["N", 6]),
                    f32("nms", ["N", "K"])], 13)


def ops_einsum_grid() -> onnx.ModelProto:
    """A spatial transformer in miniature: Einsum (a product with a weight over the width, then a
    sum over space) and GridSample warping the input by a grid computed from it (opset 16)."""
    g = GraphBuilder(11)
    mixed = g.op("Einsum", ["x", g.const(g.rng.standard_normal((4, 4)) * 0.5)], equation="nchw,wk->nchk")
    grid = g.op("Mul", [g.op("Tanh", [g.op("Transpose", [mixed], perm=[0, 2, 3, 1])]), g.const(1.2)])
    g.op("GridSample", ["x", grid], mode="bilinear", padding_mode="reflection", align_corners=0)
    g.nodes[-1].output[0] = "warped"
    g.op("Einsum", ["warped"], equation="nchw->nc")
    g.nodes[-1].output[0] = "pooled"
    return g.model("ops_einsum_grid", [f32("x", ["N", 2, 4, 4])], [f32("warped", ["N", 2, 4, 4]), f32("pooled", ["N", 2])], 16)


OP_GRAPHS = [ops_elementwise, ops_logic, ops_reduce, ops_shape, ops_activation, ops_opset24, ops_norm_pool,
             ops_classic, ops_recurrent, ops_detection, ops_einsum_grid]
# Self-test shapes other than the exporter's default (every symbol 1), where 1 would test little.
SELFTEST_SHAPES = {"ops_recurrent": {"x": [2, 5, 6], "h0": [2, 2, 4]}}


def export_op_graphs() -> None:
    for make in OP_GRAPHS:
        model = make()
        name = model.graph.name
        result = export_onnx(model, os.path.join(HERE, f"{name}.kiln"), seed=7, input_shapes=SELFTEST_SHAPES.get(name),
                             source_name=f"Fixtures/models/gen_models.py:{make.__name__}", created=CREATED)
        report(result)


def ops_upsample_opset9() -> None:
    """Upsample (opset 9: scales input) nearest and linear, written without the exporter's opset
    upgrade. docs/format.md requires graph opset >= 11, so the artifact declares 11 although
    ONNX deprecated Upsample in opset 10: the node keeps its opset-9 form (scales input), which Kiln
    runs whatever the declared opset."""
    rng = np.random.default_rng(9)
    scales_nearest = np.array([1, 1, 2, 1.5], np.float32)
    scales_linear = np.array([1, 1, 2, 2], np.float32)
    nodes = [helper.make_node("Upsample", ["x", "scales_nearest"], ["nearest"], name="upsample_nearest", mode="nearest"),
             helper.make_node("Upsample", ["x", "scales_linear"], ["linear"], name="upsample_linear", mode="linear")]
    graph = helper.make_graph(nodes, "ops_upsample_opset9", [f32("x", ["N", 2, 3, 4])],
                              [f32("nearest", ["N", 2, 6, 6]), f32("linear", ["N", 2, 6, 8])],
                              initializer=[numpy_helper.from_array(scales_nearest, "scales_nearest"),
                                           numpy_helper.from_array(scales_linear, "scales_linear")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    x = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    outputs = run_onnx_model(model, {"x": x})

    def vi(name, shape):
        return {"name": name, "dtype": "f32", "shape": shape}

    header = {
        "format": "kiln",
        "graph": {
            "opset": 11,  # the format's minimum; Kiln's Upsample does not depend on the opset
            "inputs": [vi("x", ["N", 2, 3, 4])],
            "outputs": [vi("nearest", ["N", 2, 6, 6]), vi("linear", ["N", 2, 6, 8])],
            "nodes": [{"name": n.name, "op": n.op_type, "inputs": list(n.input), "outputs": list(n.output),
                       "attributes": {"mode": {"s": helper.get_attribute_value(n.attribute[0]).decode()}}}
                      for n in nodes],
        },
        "tensors": [],
        "preprocessing": None,
        "labels": None,
        "metadata": {"producer": "kiln-export 0.1.0 (Fixtures/models/gen_models.py, written directly)",
                     "source_model": "Fixtures/models/gen_models.py:ops_upsample_opset9",
                     "frameworks": _frameworks(with_ort=True), "created": CREATED},
        "selftest": {"reference": "onnxruntime", "inputs": {"x": "selftest.input.x"},
                     "outputs": {"nearest": "selftest.output.nearest", "linear": "selftest.output.linear"},
                     "tolerance": {"abs": 1e-4, "rel": 1e-4}},
    }
    tensors = [("scales_nearest", scales_nearest), ("scales_linear", scales_linear), ("selftest.input.x", x),
               ("selftest.output.nearest", outputs["nearest"]), ("selftest.output.linear", outputs["linear"])]
    contents = encode_artifact(header, tensors)
    read_artifact(contents)  # the reader's validation
    path = os.path.join(HERE, "ops_upsample_opset9.kiln")
    write_file_atomic(path, contents)
    print(f"{os.path.basename(path)}: {len(contents)} bytes, 2 nodes (written directly, opset-9 Upsample)")


def report(result) -> None:
    ops = sorted({n["op"] for n in result.header["graph"]["nodes"]})
    print(f"{os.path.basename(result.path)}: {result.size} bytes, {result.nodes_after} nodes, "
          f"max err {result.max_abs_error:.2g}; ops: {' '.join(ops)}")


def main() -> None:
    if sys.argv[1:2] == ["--only"]:
        # One hand-built op graph (for example `--only ops_classic`), leaving every other file as is.
        for make in OP_GRAPHS:
            if make.__name__ in sys.argv[2:]:
                model = make()
                report(export_onnx(model, os.path.join(HERE, f"{model.graph.name}.kiln"), seed=7,
                                   input_shapes=SELFTEST_SHAPES.get(model.graph.name),
                                   source_name=f"Fixtures/models/gen_models.py:{make.__name__}", created=CREATED))
        return
    for path in glob.glob(os.path.join(HERE, "*.kiln")) + glob.glob(os.path.join(HERE, "onnx", "*.onnx")):
        os.remove(path)
    os.makedirs(os.path.join(HERE, "onnx"), exist_ok=True)
    torch.use_deterministic_algorithms(True)
    export_nets()
    export_op_graphs()
    ops_upsample_opset9()
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(HERE, "*.kiln")) +
                glob.glob(os.path.join(HERE, "onnx", "*.onnx")))
    print(f"total committed model fixtures: {total} bytes")


if __name__ == "__main__":
    main()
