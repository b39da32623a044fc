#!/usr/bin/env bash
# Proves Kiln works as a *versioned* SwiftPM dependency: clones the current commit of this
# repository into a temporary folder, tags it 0.1.0, and builds and runs Examples/Consumer against
# it with `.package(url: "file://…", from: "0.1.0")`. SwiftPM refuses that form when any target of
# the Kiln product uses unsafeFlags, so this fails if one ever does.
# Tests the committed HEAD, not uncommitted changes.
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone --quiet "$repo" "$tmp/Kiln"
git -C "$tmp/Kiln" tag 0.1.0
cp -R "$repo/Examples/Consumer" "$tmp/Consumer"
rm -rf "$tmp/Consumer/.build"
cd "$tmp/Consumer"
KILN_PACKAGE_URL="file://$tmp/Kiln" swift build -c release 2>&1 | tail -n 3
KILN_PACKAGE_URL="file://$tmp/Kiln" swift run -c release --skip-build Consumer
