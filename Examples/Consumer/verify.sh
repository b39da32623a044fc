#!/usr/bin/env bash
# Proves Kiln works as a *versioned* SwiftPM dependency: clones the current commit of this
# repository into a temporary folder, tags it 0.1.0, and builds and runs Examples/Consumer against
# it with `.package(url: "file://…", from: "0.1.0")`: once with the library's portable kernels, once
# with the Consumer's own AVX2/AVX-512 modules installed.
# First, from Kiln's manifest: no target of a library product, nor any target such a target depends
# on, sets unsafe flags (the CPU-specific modules belong to Kiln's executables and tests only).
# Tests the committed HEAD, not uncommitted changes.
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
(cd "$repo" && swift package dump-package) | python3 "$repo/Examples/Consumer/check_library_flags.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone --quiet "$repo" "$tmp/Kiln"
git -C "$tmp/Kiln" tag 0.1.0
cp -R "$repo/Examples/Consumer" "$tmp/Consumer"
rm -rf "$tmp/Consumer/.build"
cd "$tmp/Consumer"
KILN_PACKAGE_URL="file://$tmp/Kiln" swift build -c release 2>&1 | tail -n 3
KILN_PACKAGE_URL="file://$tmp/Kiln" swift run -c release --skip-build Consumer
