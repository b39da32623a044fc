"""Computes Pillow + torchvision references for KilnImage's tests (Tests/KilnImageTests).

Run from this directory: `python gen_references.py` (after gen_images.py). Regenerates refs/ and
manifest.json. References:
  decode    Image.open(p) [→ ImageOps.exif_transpose] → convert("RGB") (or an alpha composite),
            stored as uint8 [H, W, 3] .npy (small images) or as a SHA-256 of those bytes (large PNGs).
  pipeline  the same decode, then torchvision v1 transforms on the PIL image: Resize / CenterCrop
            (uint8 [H, W, 3] .npy, the PIL image after the last geometric step) and, for some cases,
            ToTensor + Normalize (float32 [1, 3, H, W] .npy).
Each pipeline case carries its preprocessing JSON (docs/format.md §4.4), which the tests parse.
"""
import hashlib
import json
import os
import shutil

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.dirname(HERE)
REFS = os.path.join(HERE, "refs")
MODES = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC,
         "nearest": T.InterpolationMode.NEAREST, "nearest-exact": T.InterpolationMode.NEAREST_EXACT}
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def rel(path):
    return os.path.relpath(path, FIXTURES)


def load(path, exif_transpose=False, alpha="drop", background=(255, 255, 255)):
    im = Image.open(path)
    if exif_transpose:
        im = ImageOps.exif_transpose(im)
    if alpha == "composite":
        rgba = im.convert("RGBA")
        out = Image.new("RGB", im.size, tuple(background))
        out.paste(rgba.convert("RGB"), (0, 0), rgba.getchannel("A"))
        return out
    return im.convert("RGB")


def save(name, array):
    np.save(os.path.join(REFS, name), np.ascontiguousarray(array))
    return "preprocessing/refs/" + name


def geometric(spec):
    ts = []
    for step in spec["steps"]:
        if step["op"] == "resize":
            size = step["size"]
            ts.append(T.Resize(size, interpolation=MODES[step.get("interpolation", "bilinear")],
                               max_size=step.get("max_size"), antialias=True))
        elif step["op"] == "center_crop":
            ts.append(T.CenterCrop(step["size"]))
    return T.Compose(ts)


def tensor_transform(spec):
    ts = [T.ToTensor()]
    if spec.get("color", "RGB") == "BGR":
        ts.append(T.Lambda(lambda t: t[[2, 1, 0]]))
    for step in spec["steps"]:
        if step["op"] == "normalize":
            ts.append(T.Normalize(step["mean"], step["std"]))
    return T.Compose(ts)


def imagenet(**extra):
    spec = {"input": "input", "color": "RGB",
            "steps": [{"op": "resize", "size": 256, "interpolation": "bilinear", "antialias": True},
                      {"op": "center_crop", "size": [224, 224]},
                      {"op": "to_tensor"},
                      {"op": "normalize", **IMAGENET}]}
    spec.update(extra)
    return spec


def resize_only(size, interpolation, **kw):
    step = {"op": "resize", "size": size, "interpolation": interpolation, "antialias": True}
    step.update(kw)
    return {"input": "input", "color": "RGB", "steps": [step, {"op": "to_tensor"}]}


def main():
    shutil.rmtree(REFS, ignore_errors=True)
    os.makedirs(REFS)
    img = lambda n: os.path.join(FIXTURES, "images", n)
    gen = lambda n: os.path.join(HERE, "images", n)
    manifest = {"versions": {"Pillow": PIL.__version__, "torchvision": torchvision.__version__,
                             "torch": torch.__version__, "numpy": np.__version__},
                "decode": [], "pipeline": []}

    # ---- decoding ------------------------------------------------------------------------------
    def decode_case(path, store=True, **opts):
        rgb = np.asarray(load(path, **opts))
        stem = os.path.splitext(os.path.basename(path))[0]
        suffix = "".join(f"_{k}" for k, v in sorted(opts.items()) if v and k != "background")
        case = {"name": stem + suffix, "image": rel(path), "shape": list(rgb.shape),
                "sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
                "exif_transpose": bool(opts.get("exif_transpose", False)),
                "alpha": opts.get("alpha", "drop"), "background": list(opts.get("background", (255, 255, 255)))}
        case["npy"] = save(f"decode_{stem}{suffix}.npy", rgb) if store else None
        manifest["decode"].append(case)

    for n in ["chelsea.png", "coffee.png", "astronaut.png"]:
        decode_case(img(n), store=False)  # lossless 8-bit RGB PNGs: the hash is enough
    decode_case(img("rocket.jpg"))          # JPEG: store the pixels to diagnose IDCT differences
    for n in sorted(os.listdir(os.path.join(HERE, "images"))):
        if n.endswith((".png", ".jpg")):
            decode_case(gen(n))
    for n in ["rgba_29x21.png", "gray_alpha_23x17.png", "palette_trns_33x27.png", "gray_trns_15x8.png",
              "rgba16_14x11.png", "interlaced_palette_9x6.png", "interlaced_rgba16_11x13.png", "gray_alpha16_12x9.png"]:
        decode_case(gen(n), alpha="composite", background=(255, 128, 0))
    for o in range(1, 9):
        decode_case(gen(f"exif{o}_13x7.jpg"), exif_transpose=True)
    decode_case(gen("exif6_png_11x5.png"), exif_transpose=True)

    # ---- pipelines -----------------------------------------------------------------------------
    def pipeline_case(name, path, spec, tensor=False):
        pil = load(path, exif_transpose=spec.get("exif_transpose", False), alpha=spec.get("alpha", "drop"),
                   background=spec.get("background", (255, 255, 255)))
        out = geometric(spec)(pil)
        resized = np.asarray(out)
        case = {"name": name, "image": rel(path), "preprocessing": spec,
                "resized_shape": list(resized.shape), "resized_npy": save(f"resized_{name}.npy", resized),
                "tensor_npy": None}
        if tensor:
            t = tensor_transform(spec)(out).unsqueeze(0).contiguous().numpy().astype(np.float32)
            case["tensor_npy"] = save(f"tensor_{name}.npy", t)
        manifest["pipeline"].append(case)

    big = {"chelsea": img("chelsea.png"), "coffee": img("coffee.png"),
           "astronaut": img("astronaut.png"), "rocket": img("rocket.jpg")}
    for key, path in big.items():
        pipeline_case(f"{key}_imagenet", path, imagenet(), tensor=key in ("chelsea",))
        for interp in ["bilinear", "bicubic", "nearest"]:
            pipeline_case(f"{key}_short64_{interp}", path, resize_only(64, interp))
            hw = [45, 77] if key in ("chelsea", "astronaut") else [97, 31]
            pipeline_case(f"{key}_hw{hw[0]}x{hw[1]}_{interp}", path, resize_only(hw, interp))
    pipeline_case("chelsea_short256_bilinear", big["chelsea"], resize_only(256, "bilinear"))
    pipeline_case("chelsea_short100_max120", big["chelsea"], resize_only(100, "bilinear", max_size=120))
    pipeline_case("chelsea_short67_bicubic", big["chelsea"], resize_only(67, "bicubic"))
    rb = imagenet()
    rb["steps"][0] = {"op": "resize", "size": 240, "interpolation": "bicubic", "antialias": True}
    pipeline_case("rocket_bicubic240_crop224", big["rocket"], rb)
    bgr = {"input": "pixel_values", "color": "BGR",
           "steps": [{"op": "resize", "size": 64, "interpolation": "bilinear"},
                     {"op": "center_crop", "size": [56, 56]}, {"op": "to_tensor"},
                     {"op": "normalize", "mean": [0.406, 0.456, 0.485], "std": [0.225, 0.224, 0.229]}]}
    pipeline_case("coffee_bgr_64_crop56", big["coffee"], bgr, tensor=True)
    pipeline_case("jpeg257_imagenet", gen("jpeg_420_257x129.jpg"), imagenet(), tensor=True)

    for interp in ["bilinear", "bicubic", "nearest"]:
        pipeline_case(f"rgb17x23_up100_{interp}", gen("rgb_17x23.png"), resize_only(100, interp))
        pipeline_case(f"rgb3x500_hw20x50_{interp}", gen("rgb_3x500.png"), resize_only([20, 50], interp))
        pipeline_case(f"rgb1x1_up5_{interp}", gen("rgb_1x1.png"), resize_only(5, interp))
        pipeline_case(f"rgb257x129_short64_{interp}", gen("rgb_257x129.png"), resize_only(64, interp))
        pipeline_case(f"rgb257x129_hw150x260_{interp}", gen("rgb_257x129.png"), resize_only([150, 260], interp))
    pipeline_case("rgb3x500_short7_bilinear", gen("rgb_3x500.png"), resize_only(7, "bilinear"))
    pipeline_case("rgb257x129_short100_max150_bicubic", gen("rgb_257x129.png"), resize_only(100, "bicubic", max_size=150))
    pipeline_case("rgb17x23_nearest_exact_40", gen("rgb_17x23.png"), resize_only(40, "nearest-exact"))
    crop = lambda size, first=None: {"input": "input", "color": "RGB",
                                     "steps": ([first] if first else []) + [{"op": "center_crop", "size": size}, {"op": "to_tensor"}]}
    pipeline_case("rgb257x129_crop140x300", gen("rgb_257x129.png"), crop([140, 300]))
    pipeline_case("rgb257x129_crop100x300", gen("rgb_257x129.png"), crop([100, 300]))
    pipeline_case("rgb257x129_crop128x256", gen("rgb_257x129.png"), crop([128, 256]))
    pipeline_case("rgb257x129_crop30x1", gen("rgb_257x129.png"), crop([30, 1]))
    pipeline_case("rgb1x1_crop4x3", gen("rgb_1x1.png"), crop([4, 3]))
    pipeline_case("rgb17x23_crop20", gen("rgb_17x23.png"), crop(20))
    ex = {"input": "input", "color": "RGB", "exif_transpose": True,
          "steps": [{"op": "resize", "size": [10, 9], "interpolation": "bicubic"}, {"op": "to_tensor"}]}
    pipeline_case("exif6_hw10x9", gen("exif6_13x7.jpg"), ex)
    comp = {"input": "input", "color": "RGB", "alpha": "composite", "background": [255, 128, 0],
            "steps": [{"op": "resize", "size": 12, "interpolation": "bilinear"}, {"op": "to_tensor"},
                      {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}]}
    pipeline_case("rgba_composite_12", gen("rgba_29x21.png"), comp, tensor=True)

    # Seeded sweep of (h, w) targets: up, down, mixed, one axis only, and both of Pillow's pass
    # orders (vertical first when the height shrinks by more than twice the width's shrink).
    sweep = np.random.default_rng(99)
    for i in range(36):
        src = ["rgb_17x23.png", "rgb_257x129.png", "jpeg_420_17x23.jpg"][i % 3]
        w0, h0 = Image.open(gen(src)).size
        h = int(sweep.integers(1, 2 * h0 + 2)) if i % 6 else h0
        w = int(sweep.integers(1, 2 * w0 + 2)) if i % 6 != 1 else w0
        h, w = min(h, 160), min(w, 160)
        interp = ["bilinear", "bicubic", "nearest"][(i // 3) % 3]
        pipeline_case(f"sweep{i:02d}_{os.path.splitext(src)[0]}_hw{h}x{w}_{interp}", gen(src), resize_only([h, w], interp))

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(REFS, n)) for n in os.listdir(REFS))
    print(f"{len(manifest['decode'])} decode cases, {len(manifest['pipeline'])} pipeline cases, refs {total} bytes")


if __name__ == "__main__":
    main()
