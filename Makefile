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
test: deps
	swift build --build-tests
	swift test
	Examples/Consumer/verify.sh
