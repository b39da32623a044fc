#!/usr/bin/env bash
# The CI round trip, first half: export every committed Fixtures/models/onnx/<net>.onnx with the
# kiln-export CLI into Fixtures/models/generated/<net>.kiln (gitignored). The second half is the
# Swift test RoundTripTests, which loads each generated artifact and runs its self-test.
#
# Usage: Fixtures/models/roundtrip.sh [KILN_EXPORT]
#   KILN_EXPORT: the kiln-export command (default: .venv/bin/kiln-export from the repository root,
#   else kiln-export on PATH).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exporter="${1:-}"
if [ -z "$exporter" ]; then
    if [ -x "$root/.venv/bin/kiln-export" ]; then exporter="$root/.venv/bin/kiln-export"
    else exporter="kiln-export"; fi
fi
src="$root/Fixtures/models/onnx"
out="$root/Fixtures/models/generated"
rm -rf "$out"
mkdir -p "$out"
shopt -s nullglob
models=("$src"/*.onnx)
if [ ${#models[@]} -eq 0 ]; then
    echo "roundtrip.sh: no ONNX files in $src" >&2
    exit 1
fi
for model in "${models[@]}"; do
    name="$(basename "$model" .onnx)"
    # Fixed seed and source name: the same ONNX file always gives the same self-test input.
    "$exporter" "$model" -o "$out/$name.kiln" --seed 0 --source-name "Fixtures/models/onnx/$name.onnx"
done
echo "roundtrip.sh: exported ${#models[@]} model(s) into Fixtures/models/generated/"
