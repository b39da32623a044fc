"""Fixtures for the ops detectors' exported post-processing uses: TopK, NonMaxSuppression and
ScatterND (also in transformer caches and anchor-free heads).

Reference: ONNX Runtime; cross-checked with PyTorch's torch.topk (except on ties, whose order
PyTorch leaves open), with the greedy NMS written in NumPy below (torchvision is not a dependency
of these generators) and with NumPy index assignment for ScatterND.

Run from the repository root:  python Fixtures/kernels/gen_detection.py
"""
import numpy as np
import torch

from kilnfix import FixtureWriter

w = FixtureWriter("detection", seed=23)
T = torch.from_numpy
k1 = lambda k: np.array([k], np.int64)  # noqa: E731

# TopK -------------------------------------------------------------------------------------------
for name, shape, k, axis, largest in [("topk_last_axis", (3, 10), 4, -1, 1), ("topk_smallest_axis1", (2, 7, 3), 3, 1, 0),
                                      ("topk_all", (5,), 5, 0, 1), ("topk_zero", (2, 4), 0, 1, 1),
                                      ("topk_axis0", (9, 2, 2), 2, 0, 1), ("topk_large", (4, 3000), 100, 1, 1)]:
    x = w.randn(*shape)
    w.case(name, "TopK", [x, k1(k)], {"axis": axis, "largest": largest}, tolerance="exact", n_outputs=2, opset=11,
           torch_ref=lambda x=x, k=k, a=axis, l=largest: [t.numpy() for t in torch.topk(T(x), k, dim=a, largest=bool(l))])
# Ties: the lower index comes first (ORT); PyTorch's order on ties is not specified, so ORT alone.
x = np.array([[3, 1, 3, 2, 3, 1], [0, 0, 0, 0, 0, 0]], np.float32)
w.case("topk_ties", "TopK", [x, k1(4)], {}, tolerance="exact", n_outputs=2, opset=11)
w.case("topk_ties_smallest", "TopK", [x, k1(3)], {"largest": 0}, tolerance="exact", n_outputs=2, opset=11)
x = (w.rng.integers(-50, 50, (3, 8))).astype(np.int64)
w.case("topk_int64", "TopK", [x, k1(3)], {}, tolerance="exact", n_outputs=2, opset=11)
x = w.randn(3, 6)
w.case("topk_opset1_attribute", "TopK", [x], {"k": 2, "axis": 1}, tolerance="exact", n_outputs=2, opset=1)


# NonMaxSuppression ------------------------------------------------------------------------------
def nms_numpy(boxes, scores, max_out, iou_th, score_th=None, center=False):
    """Greedy NMS per (batch, class) in the ONNX formulation, ties by lower index."""
    out = []
    for b in range(boxes.shape[0]):
        bx = boxes[b].astype(np.float64)
        if center:
            bx = np.stack([bx[:, 1] - bx[:, 3] / 2, bx[:, 0] - bx[:, 2] / 2, bx[:, 1] + bx[:, 3] / 2, bx[:, 0] + bx[:, 2] / 2], 1)
        y1, x1 = np.minimum(bx[:, 0], bx[:, 2]), np.minimum(bx[:, 1], bx[:, 3])
        y2, x2 = np.maximum(bx[:, 0], bx[:, 2]), np.maximum(bx[:, 1], bx[:, 3])
        area = (y2 - y1) * (x2 - x1)
        for c in range(scores.shape[1]):
            s = scores[b, c]
            cand = [i for i in range(len(s)) if score_th is None or s[i] > score_th]
            cand.sort(key=lambda i: (-s[i], i))
            kept = []
            for i in cand:
                if len(kept) >= max_out:
                    break
                ok = True
                for j in kept:
                    if area[i] <= 0 or area[j] <= 0:
                        continue
                    inter = max(0, min(y2[i], y2[j]) - max(y1[i], y1[j])) * max(0, min(x2[i], x2[j]) - max(x1[i], x1[j]))
                    if inter / (area[i] + area[j] - inter) > iou_th:
                        ok = False
                        break
                if ok:
                    kept.append(i)
                    out.append([b, c, i])
    return np.array(out, np.int64).reshape(-1, 3)


def random_boxes(batches, n, center=False):
    xy = w.uniform(batches, n, 2, low=0, high=10)
    wh = w.uniform(batches, n, 2, low=0.5, high=4)
    if center:
        return np.concatenate([xy, wh], -1)
    flip = w.rng.random((batches, n, 1)) < 0.3  # some boxes with the corners swapped
    a, b = xy, xy + wh
    return np.where(flip, np.concatenate([b, a], -1), np.concatenate([a, b], -1)).astype(np.float32)


for name, batches, classes, n, max_out, iou, score_th, center in [
    ("nms_basic", 1, 1, 12, 5, 0.5, None, 0), ("nms_classes_batches", 2, 3, 20, 4, 0.4, 0.2, 0),
    ("nms_center_point", 1, 2, 15, 10, 0.3, None, 1), ("nms_iou_zero", 1, 1, 10, 10, 0.0, None, 0),
    ("nms_many", 1, 4, 200, 20, 0.45, 0.3, 0),
]:
    boxes = random_boxes(batches, n, center)
    scores = w.uniform(batches, classes, n, low=0, high=1)
    inputs = [boxes, scores, np.array([max_out], np.int64), np.array([iou], np.float32)]
    if score_th is not None:
        inputs.append(np.array([score_th], np.float32))
    (sel,) = w.case(name, "NonMaxSuppression", inputs, {"center_point_box": center}, tolerance="exact", opset=11)
    assert np.array_equal(sel, nms_numpy(boxes, scores, max_out, iou, score_th, center)), name
# Equal scores and a zero-area box; no max_output_boxes_per_class (selects nothing).
boxes = np.array([[[0, 0, 1, 1], [0, 0, 1, 1], [0.5, 0.5, 0.5, 2], [2, 2, 3, 3]]], np.float32)
scores = np.array([[[0.9, 0.9, 0.95, 0.9]]], np.float32)
w.case("nms_ties_zero_area", "NonMaxSuppression", [boxes, scores, np.array([10], np.int64), np.array([0.5], np.float32)],
       tolerance="exact", opset=11)
w.case("nms_default_max_zero", "NonMaxSuppression", [boxes, scores], tolerance="exact", opset=11)

# ScatterND --------------------------------------------------------------------------------------
def scatter_numpy(data, indices, updates, reduction="none"):
    out = data.copy()
    q = indices.shape[-1]
    for idx, upd in zip(indices.reshape(-1, q), updates.reshape((-1,) + data.shape[q:])):
        t = tuple(int(i) for i in idx)
        if reduction == "none":
            out[t] = upd
        elif reduction == "add":
            out[t] += upd
        elif reduction == "mul":
            out[t] *= upd
        elif reduction == "max":
            out[t] = np.maximum(out[t], upd)
        else:
            out[t] = np.minimum(out[t], upd)
    return out


data = w.randn(4, 5, 3)
for name, indices, reduction, opset in [
    ("scatternd_elements", np.array([[0, 1, 2], [3, 4, 0], [1, -1, 1]], np.int64), "none", 16),
    ("scatternd_rows", np.array([[2, 0], [0, 3]], np.int64), "none", 16),
    ("scatternd_slices_add", np.array([[[1]], [[3]]], np.int64), "add", 16),
    ("scatternd_mul_repeated", np.array([[1, 1], [1, 1], [2, 0]], np.int64), "mul", 16),
    ("scatternd_max", np.array([[0, 0], [3, 2]], np.int64), "max", 18),
    ("scatternd_min", np.array([[0, 0], [3, 2]], np.int64), "min", 18),
]:
    updates = w.randn(*(indices.shape[:-1] + data.shape[indices.shape[-1]:]))
    attrs = {} if reduction == "none" else {"reduction": reduction}
    (y,) = w.case(name, "ScatterND", [data, indices, updates], attrs, tolerance="elementwise", opset=opset)
    np.testing.assert_allclose(y, scatter_numpy(data, indices, updates, reduction), rtol=1e-6, atol=1e-6)
d = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
w.case("scatternd_int64_add", "ScatterND", [d, np.array([[1, 2], [0, 0]], np.int64), np.full((2, 4), 7, np.int64)],
       {"reduction": "add"}, tolerance="exact", opset=16)
w.write()
