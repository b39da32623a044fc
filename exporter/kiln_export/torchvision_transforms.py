"""Turn the torchvision transform a model was evaluated with into the artifact's preprocessing.

The classic deployment bug is a preprocessing that differs from training: a different resize, a
square instead of a shorter-side resize, BGR instead of RGB, other mean/std. Passing the very
`transforms.Compose` object the research code evaluated with removes the retyping:

    from torchvision import transforms as T
    eval_tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])
    export_module(model, x, "model.kiln", preprocessing=eval_tf)

Supported (torchvision transforms v1 on PIL images, which is what Kiln reproduces exactly):
`Resize` (int or (h, w) size, bilinear / bicubic / nearest / nearest-exact, max_size),
`CenterCrop`, `ToTensor`, `Normalize` (in that order, as docs/format.md §4.4 requires), inside a
`Compose` or alone. Anything else — random transforms, `Lambda`, `ConvertImageDtype`, tensor-only
interpolation modes — is an error that names it, never a silent approximation.
"""
from __future__ import annotations

from .errors import KilnExportError

_INTERPOLATIONS = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest", "nearest-exact": "nearest-exact"}


def _size(value, what):
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)) and len(value) in (1, 2) and all(isinstance(v, int) for v in value):
        return value[0] if len(value) == 1 else [int(value[0]), int(value[1])]
    raise KilnExportError(f"{what}: size {value!r} is not an int or (height, width)")


def preprocessing_from_torchvision(transform, input_name: str = "input") -> dict:
    """The §4.4 preprocessing object equivalent to a torchvision transform.

    Raises KilnExportError naming the first transform that has no exact equivalent.
    """
    try:
        from torchvision import transforms as T
    except ImportError as e:  # pragma: no cover - only reached without torchvision
        raise KilnExportError("converting a torchvision transform needs torchvision installed") from e

    parts = list(transform.transforms) if isinstance(transform, T.Compose) else [transform]
    steps = []
    for i, t in enumerate(parts):
        where = f"transform {i} ({type(t).__name__})"
        if isinstance(t, T.Resize):
            mode = getattr(t.interpolation, "value", t.interpolation)
            if mode not in _INTERPOLATIONS:
                raise KilnExportError(f"{where}: interpolation {mode!r} has no PIL equivalent Kiln implements")
            step = {"op": "resize", "size": _size(t.size, where), "interpolation": _INTERPOLATIONS[mode],
                    "antialias": bool(t.antialias) if t.antialias is not None else True}
            if t.max_size is not None:
                step["max_size"] = int(t.max_size)
            steps.append(step)
        elif isinstance(t, T.CenterCrop):
            size = _size(t.size, where)
            steps.append({"op": "center_crop", "size": [size, size] if isinstance(size, int) else size})
        elif isinstance(t, T.ToTensor):
            steps.append({"op": "to_tensor"})
        elif isinstance(t, T.Normalize):
            mean = [float(v) for v in (t.mean if isinstance(t.mean, (list, tuple)) else [t.mean])]
            std = [float(v) for v in (t.std if isinstance(t.std, (list, tuple)) else [t.std])]
            steps.append({"op": "normalize", "mean": mean, "std": std})
        else:
            raise KilnExportError(f"{where} has no exact equivalent in Kiln's preprocessing "
                                  "(supported: Resize, CenterCrop, ToTensor, Normalize)")
    if sum(1 for s in steps if s["op"] == "to_tensor") != 1:
        raise KilnExportError("the transform must contain exactly one ToTensor")
    order = [s["op"] for s in steps]
    first_tensor = order.index("to_tensor")
    if any(op in ("resize", "center_crop") for op in order[first_tensor:]) or \
            any(op == "normalize" for op in order[:first_tensor]):
        raise KilnExportError(f"unsupported transform order {order}: resize/center_crop, then to_tensor, then normalize")
    return {"input": input_name, "color": "RGB", "steps": steps}
