"""The peer: the service a team would write in Python around the same model — FastAPI + uvicorn,
ONNX Runtime, torchvision transforms on PIL images, the model loaded once per worker process.
Same endpoint and answer shape as kiln-serve's `POST /predictions/{model}`.

    PEER_ONNX=/tmp/efficientnet_lite0.onnx uvicorn --app-dir Benchmarks/serve peer_fastapi_ort:app \\
        --host 127.0.0.1 --port 8081 --workers 2 --log-level warning

Preprocessing is the artifact's own (Resize 256, CenterCrop 224, ToTensor, Normalize 127/255, 128/255);
labels are torchvision's ImageNet categories, as in the artifact.
"""
import io
import os
import time

import numpy as np
import onnxruntime as ort
import torchvision
from fastapi import FastAPI, HTTPException, Request
from PIL import Image
from torchvision import transforms as T

ONNX = os.environ.get("PEER_ONNX", "/tmp/efficientnet_lite0.onnx")
THREADS = int(os.environ.get("PEER_THREADS", "1"))

options = ort.SessionOptions()
options.intra_op_num_threads = THREADS
options.inter_op_num_threads = 1
session = ort.InferenceSession(ONNX, options, providers=["CPUExecutionProvider"])
transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([127 / 255] * 3, [128 / 255] * 3)])
labels = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
session.run(None, {"input": np.zeros((1, 3, 224, 224), np.float32)})  # warm-up

app = FastAPI()


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/predictions/{model}")
async def predictions(model: str, request: Request, top: int = 5):
    body = await request.body()
    t0 = time.perf_counter()
    try:
        image = Image.open(io.BytesIO(body)).convert("RGB")
    except Exception as e:  # noqa: BLE001 - any decoder failure is the client's
        raise HTTPException(400, f"image: {e}")
    x = transform(image).unsqueeze(0).numpy()
    t1 = time.perf_counter()
    logits = session.run(None, {"input": x})[0][0]
    t2 = time.perf_counter()
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p)[:top]
    return {"model": model,
            "predictions": [{"index": int(i), "label": labels[i], "probability": float(p[i])} for i in order],
            "timings_ms": {"preprocess": (t1 - t0) * 1e3, "inference": (t2 - t1) * 1e3}}
