#!/usr/bin/env python3
"""Fails when two kernel modules define a code symbol of the same name.

Kiln's kernel bodies are generic and emitted into each kernel module (KilnKernelsPortable,
KilnKernelsBaseline, KilnKernelsAVX2, KilnKernelsAVX512), each compiled for its own CPU. A
specialization emitted by two modules under one name is a weak symbol in both objects, and the
linker keeps a single copy for every caller: the AVX-512 table then runs Haswell code (seen: 2×
slower on an Intel Xeon), or a baseline table runs AVX-512 instructions and traps on an older CPU.
`ModuleVector<Base, Module>` (Sources/KilnKernels/Vector.swift) gives each module's
specializations names of their own; this check keeps it that way.

Usage: Tests/check_kernel_symbols.py [BUILD_DIR]   (default .build/debug; run after a build)
"""
import collections
import pathlib
import subprocess
import sys

MODULES = ["KilnKernelsPortable", "KilnKernelsBaseline", "KilnKernelsAVX2", "KilnKernelsAVX512"]


def code_symbols(objects):
    """Global and weak code symbols (nm types T, W) defined by the objects."""
    out = subprocess.run(["nm", "--defined-only", *map(str, objects)], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W"):
            names.add(parts[2])
    return names


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
    owners = collections.defaultdict(list)
    for module in MODULES:
        objects = sorted((build / f"{module}.build").glob("*.o"))
        if not objects:
            sys.exit(f"check_kernel_symbols: no object files for {module} under {build} (build first)")
        for name in code_symbols(objects):
            owners[name].append(module)
    shared = {name: mods for name, mods in owners.items() if len(mods) > 1}
    if shared:
        demangled = subprocess.run(["swift", "demangle", "--compact"], input="\n".join(sorted(shared)),
                                   capture_output=True, text=True).stdout.splitlines()
        print(f"check_kernel_symbols: {len(shared)} code symbols are defined by more than one kernel module;")
        print("the linker keeps one copy for all of them (wrap the vector type in ModuleVector):")
        for (name, mods), readable in zip(sorted(shared.items()), demangled or sorted(shared)):
            print(f"  {', '.join(mods)}: {readable[:200]}")
        sys.exit(1)
    print(f"check_kernel_symbols: {len(owners)} code symbols in {len(MODULES)} kernel modules, none shared")


if __name__ == "__main__":
    main()
