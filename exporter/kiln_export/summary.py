"""The one-screen summary an :class:`~kiln_export.api.ExportResult` prints as (its ``repr``).

The header holds every node and every label (tens of kilobytes for an ImageNet classifier); a
notebook cell should instead show what a person checks after an export: where the file went and
how big it is, what the graph became, what it takes and gives, and how well the self-test matched.
"""

from __future__ import annotations

# Inputs or outputs beyond this many are counted, not listed (detectors have a handful).
MAX_VALUES = 6
# Labels shown: the first few and the last one.
LABELS_SHOWN = 3


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _shape(dims) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _values(header: dict, role: str) -> list[str]:
    infos = header.get("graph", {}).get(role, [])
    selftest = header.get("selftest") or {}
    stored = {t["name"]: t["shape"] for t in header.get("tensors", [])}
    lines = []
    for vi in infos[:MAX_VALUES]:
        line = f"{vi['name']} {vi['dtype']} {_shape(vi['shape'])}"
        example = stored.get(selftest.get(role, {}).get(vi["name"]))
        if role == "inputs" and example is not None and example != vi["shape"]:
            line += f" (self-test {_shape(example)})"
        lines.append(line)
    if len(infos) > MAX_VALUES:
        lines.append(f"... and {len(infos) - MAX_VALUES} more")
    return lines


def _labels(labels) -> str | None:
    if not labels:
        return None
    shown = [repr(x) for x in labels[:LABELS_SHOWN]]
    if len(labels) > LABELS_SHOWN + 1:
        shown.append("...")
    if len(labels) > LABELS_SHOWN:
        shown.append(repr(labels[-1]))
    return f"{len(labels)} ({', '.join(shown)})"


def _preprocessing(pre) -> str | None:
    if not pre:
        return None
    steps = []
    for step in pre.get("steps") or []:
        size = step.get("size")
        steps.append(step.get("op", "?") + (f" {size}" if size is not None else ""))
    return f"{pre.get('input')}: " + " -> ".join(steps)


def summarize(result) -> str:
    """``result`` (an ExportResult) as a few lines of text."""
    header = result.header or {}
    graph = header.get("graph", {})
    rows = [("graph", f"{result.nodes_after} nodes (from {result.nodes_before}), opset {graph.get('opset')}, "
                      f"{result.tensor_count} graph tensors")]
    rows += [("input" if k == 0 else "", v) for k, v in enumerate(_values(header, "inputs"))]
    rows += [("output" if k == 0 else "", v) for k, v in enumerate(_values(header, "outputs"))]
    if result.tolerance is not None:
        reference = (header.get("selftest") or {}).get("reference", "?")
        rows.append(("self-test", f"max abs error {result.max_abs_error:.3g} vs {reference}, tolerance "
                                  f"abs {result.tolerance['abs']:.3g} + rel {result.tolerance['rel']:.3g}"))
    else:
        rows.append(("self-test", "none"))
    for key, text in (("labels", _labels(header.get("labels"))),
                      ("preprocess", _preprocessing(header.get("preprocessing")))):
        if text is not None:
            rows.append((key, text))
    rows += [("note" if k == 0 else "", n) for k, n in enumerate(result.notes)]
    width = max(len(k) for k, _ in rows) + 1
    lines = [f"ExportResult: {result.path}, {_size(result.size)} ({result.size:,} bytes)"]
    lines += [f"  {(k + ':') if k else '':<{width}} {v}" for k, v in rows]
    return "\n".join(lines)
