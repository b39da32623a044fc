"""Writes the ~1 GB classifier of the capacity plan (docs/deployment.md): torchvision's ViT-L/16
(304 M parameters, 1.2 GB of fp32 weights) with seeded random weights, through kiln-export, with
the ImageNet preprocessing so `/predictions` accepts images. Write it outside the repository.

    python Benchmarks/serve/export_large.py /tmp/vit_l_16.kiln
"""
import sys

import torch
import torchvision
from kiln_export import export_module


def main(out):
    torch.manual_seed(0)
    model = torchvision.models.vit_l_16(weights=None).eval()
    x = torch.rand(1, 3, 224, 224)
    export_module(model, x, out, input_names=["input"], output_names=["logits"], preprocessing="imagenet",
                  source_name="torchvision vit_l_16 (random weights, seed 0)")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/vit_l_16.kiln")
