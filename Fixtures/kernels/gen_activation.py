"""Activation fixtures (Relu, ...). Reference: torch.nn.functional, cross-checked with ONNX Runtime."""
import torch
import torch.nn.functional as F

from kilnfix import FixtureWriter

w = FixtureWriter("activation", seed=2)
for name, shape in [("relu_1", (1,)), ("relu_odd", (3, 7, 5)), ("relu_4d", (2, 3, 9, 11))]:
    x = w.randn(*shape)
    w.case(name, "Relu", [x], tolerance="exact", torch_ref=lambda x=x: F.relu(torch.from_numpy(x)).numpy())
w.write()
