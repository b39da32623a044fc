#!/usr/bin/env bash
# Converts the DocC catalogs of Kiln and KilnServer into .build/docs/<Module>.doccarchive with the
# toolchain's `docc`, failing on any warning (`make docs`). Symbol graphs come from
# `swift package dump-symbol-graph`, so no plugin dependency is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package dump-symbol-graph --minimum-access-level public >/dev/null
graphs=$(find .build -maxdepth 2 -type d -name symbolgraph | head -n 1)
docc=$(command -v docc || echo "$(dirname "$(readlink -f "$(command -v swift)")")/docc")
mkdir -p .build/docs
status=0
for module in Kiln KilnServer; do
    dir=.build/docs-symbols/$module
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$graphs/$module.symbols.json" "$dir/"
    cp "$graphs/$module@"*.symbols.json "$dir/" 2>/dev/null || true
    if "$docc" convert "Sources/$module/$module.docc" --additional-symbol-graph-dir "$dir" \
        --fallback-display-name "$module" --fallback-bundle-identifier "org.kiln.$module" \
        --output-path ".build/docs/$module.doccarchive" --warnings-as-errors >".build/docs/$module.log" 2>&1; then
        echo "docs: .build/docs/$module.doccarchive"
    else
        cat ".build/docs/$module.log"
        status=1
    fi
done
exit $status
