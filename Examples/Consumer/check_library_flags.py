"""Reads `swift package dump-package` JSON on stdin and fails when a target of a library product, or
any target such a target depends on, sets unsafe flags (`unsafeFlags` in its settings).

Kiln's rule: depending on the `Kiln`, `KilnImage` or `KilnServer` library never brings compiler
flags into an application's build. The CPU-specific kernel modules (`-target-cpu`) belong to Kiln's
executables and tests only (Package.swift)."""
import json
import sys

manifest = json.load(sys.stdin)
targets = {t["name"]: t for t in manifest["targets"]}


def dependencies(name):
    for dep in targets[name]["dependencies"]:
        for kind in ("byName", "target"):
            if kind in dep and dep[kind][0] in targets:
                yield dep[kind][0]


problems = []
for product in manifest["products"]:
    if "library" not in product["type"]:
        continue
    seen, todo = set(), list(product["targets"])
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(dependencies(name))
        for setting in targets[name].get("settings", []):
            flags = setting["kind"].get("unsafeFlags")
            if flags is not None:
                problems.append(f"library product {product['name']}: target {name} sets unsafeFlags {flags['_0']}")
    if not any(p.startswith(f"library product {product['name']}:") for p in problems):
        print(f"library product {product['name']}: {len(seen)} targets of this package, none with unsafe flags")
if problems:
    sys.exit("\n".join(problems))
