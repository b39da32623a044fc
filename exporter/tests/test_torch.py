"""PyTorch modules through both torch.onnx exporters (skipped without torch)."""

import importlib.util

import numpy as np
import pytest

try:
    import torch
except ImportError:  # CI installs no torch; a broken install counts as none too
    pytest.skip("torch is not installed", allow_module_level=True)

from conftest import CREATED  # noqa: E402
from kiln_export import KilnExportError, export_module, read_artifact, run_with_onnxruntime  # noqa: E402

HAS_ONNXSCRIPT = importlib.util.find_spec("onnxscript") is not None


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(16)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    m = SmallCNN()
    with torch.no_grad():  # non-trivial running statistics
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2.0)
    return m.eval()


@pytest.mark.parametrize("dynamo", [False, pytest.param(True, marks=pytest.mark.skipif(
    not HAS_ONNXSCRIPT, reason="the dynamo exporter needs onnxscript"))])
def test_small_cnn_exports_through_torch_onnx(tmp_path, net, dynamo):
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "net.kiln"
    result = export_module(net, x, path, dynamo=dynamo, labels=[f"c{i}" for i in range(10)], created=CREATED)
    art = read_artifact(path)
    st = art.header["selftest"]
    assert st["reference"] == "torch" and "torch" in art.header["metadata"]["frameworks"]
    assert art.graph["inputs"][0]["shape"] == ["N", 3, 16, 16]
    assert art.graph["outputs"][0]["name"] == "logits" and art.graph["outputs"][0]["shape"][1] == 10
    with torch.no_grad():
        expected = net(x).numpy()
    np.testing.assert_array_equal(art.selftest_outputs()["logits"], expected)
    np.testing.assert_array_equal(art.selftest_inputs()["input"], x.numpy())
    assert result.max_abs_error < 1e-4
    # another batch size
    x5 = torch.randn(5, 3, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(run_with_onnxruntime(art, {"input": x5.numpy()})["logits"], net(x5).numpy(),
                                   rtol=1e-4, atol=1e-4)


def test_fp16_weights_from_torch(tmp_path, net):
    x = torch.randn(1, 3, 16, 16)
    full, half = tmp_path / "f32.kiln", tmp_path / "f16.kiln"
    export_module(net, x, full)
    export_module(net, x, half, fp16_weights=True)

    def weights(path):
        return sum(t["length"] for t in read_artifact(path).header["tensors"] if not t["name"].startswith("selftest."))

    assert weights(half) < 0.55 * weights(full)
    art = read_artifact(half)
    tol = art.header["selftest"]["tolerance"]
    got, ref = run_with_onnxruntime(art)["logits"], art.selftest_outputs()["logits"]
    assert np.all(np.abs(got - ref) <= tol["abs"] + tol["rel"] * np.abs(ref))


def test_label_mismatch_from_torch(tmp_path, net):
    with pytest.raises(KilnExportError, match="labels"):
        export_module(net, torch.randn(1, 3, 16, 16), tmp_path / "x.kiln", labels=["a", "b"])


def test_static_batch_from_torch(tmp_path, net):
    path = tmp_path / "static.kiln"
    export_module(net, torch.randn(1, 3, 16, 16), path, dynamic_batch=False)
    art = read_artifact(path)
    assert art.graph["inputs"][0]["shape"] == [1, 3, 16, 16]
    assert "Shape" not in [n["op"] for n in art.graph["nodes"]]



@pytest.mark.skipif(not HAS_ONNXSCRIPT, reason="the dynamo exporter needs onnxscript")
def test_dynamo_batch_one_example_stays_batch_generic(tmp_path):
    # Regression (zoo parity, vit_b_16 --dynamo): torch.export specializes a dynamic dim whose
    # example size is 1, so a ViT exported from a batch-1 example got Reshape [197, 1, 3, 768] in
    # its attention while the graph input still said N; the artifact then failed at batch 4.
    vision_transformer = pytest.importorskip("torchvision.models.vision_transformer")
    torch.manual_seed(0)
    net = vision_transformer.VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2,
                                               hidden_dim=8, mlp_dim=16, num_classes=3).eval()
    with torch.no_grad():
        net.heads.head.weight.normal_()  # zero-initialised: the logits would not depend on the input
    x1 = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    path = tmp_path / "vit.kiln"
    export_module(net, x1, path, dynamo=True, created=CREATED)
    art = read_artifact(path)
    assert art.graph["inputs"][0]["shape"][0] == "N"
    np.testing.assert_array_equal(art.selftest_inputs()["input"], x1.numpy())  # the caller's example
    x3 = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        np.testing.assert_allclose(run_with_onnxruntime(art, {"input": x3.numpy()})["logits"], net(x3).numpy(),
                                   rtol=1e-4, atol=1e-5)
