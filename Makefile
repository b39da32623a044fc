# Kiln's two entry points. `make test` runs everything CI runs; both install what a fresh
# Debian/Ubuntu machine lacks first.
SHELL := /bin/bash

.PHONY: deps test build

# System libraries: OpenBLAS (GEMM) and pkg-config (to find it).
deps:
	@missing=""; \
	dpkg -s libopenblas-dev >/dev/null 2>&1 || missing="$$missing libopenblas-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build -c release

# Unit tests against the committed PyTorch/ONNX Runtime references, then the versioned-dependency check.
# Swift Testing is disabled so the runner's closing line counts the XCTest cases that ran.
test: deps
	swift build --build-tests
	set -o pipefail; swift test --disable-swift-testing 2>&1 | tee .build/test.log
	Examples/Consumer/verify.sh
	@line=$$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test.log | tail -1); \
	n=$$(echo "$$line" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	f=$$(echo "$$line" | sed -E 's/.*with ([0-9]+) failures?.*/\1/'); \
	echo "tests: $$((n - f)) passed, $$f failed"
