# Kiln's two entry points, each installing what a fresh Debian/Ubuntu machine lacks first:
#   make classify   build release and classify Fixtures/images/chelsea.png with the bundled model
#   make test       everything CI runs
#   make serve      build kiln-serve and serve the bundled model on 127.0.0.1:8080
#   make docs       convert the Kiln and KilnServer DocC catalogs (no warnings allowed)
SHELL := /bin/bash

.PHONY: deps test build classify serve docs

IMAGE ?= Fixtures/images/chelsea.png

# System libraries: OpenBLAS (GEMM), OpenSSL's libcrypto (the artifact's SHA-256), libjpeg-turbo and
# libpng (KilnImage), pkg-config (to find
# OpenBLAS); python3 with venv for the exporter.
deps:
	@missing=""; \
	dpkg -s libopenblas-dev >/dev/null 2>&1 || missing="$$missing libopenblas-dev"; \
	dpkg -s libjpeg-dev >/dev/null 2>&1 || dpkg -s libjpeg62-turbo-dev >/dev/null 2>&1 || dpkg -s libjpeg-turbo8-dev >/dev/null 2>&1 || missing="$$missing libjpeg-dev"; \
	dpkg -s libpng-dev >/dev/null 2>&1 || missing="$$missing libpng-dev"; \
	dpkg -s libssl-dev >/dev/null 2>&1 || missing="$$missing libssl-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build -c release

# The main job: the bundled pretrained EfficientNet-Lite0 on the bundled sample image. Builds only
# the `kiln` product, so the server's dependencies are not compiled for it.
classify: deps
	swift build -c release --product kiln
	.build/release/kiln classify $(IMAGE)

# The inference service on the bundled model (docs/deployment.md); Ctrl-C or SIGTERM drains and exits.
HOST ?= 127.0.0.1
PORT ?= 8080
serve: deps
	swift build -c release --product kiln-serve
	.build/release/kiln-serve Fixtures/models/efficientnet_lite0.kiln --host $(HOST) --port $(PORT)

# The exporter's tests and the ONNX -> kiln-export round trip (in a venv at .venv: onnx, numpy,
# onnxruntime, pytest, no torch; the exporter is installed editable so the venv never runs a stale
# copy), then the Swift unit tests against the committed PyTorch/ONNX Runtime references (they load
# the round trip's Fixtures/models/generated/; a plain `swift test` skips RoundTripTests when it is
# missing, KILN_REQUIRE_ROUNDTRIP=1 makes that a failure here), then the versioned-dependency check.
# Swift Testing is disabled so the runner's closing line counts the XCTest cases that ran.
VENV := .venv

$(VENV)/bin/kiln-export: exporter/pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e './exporter[selftest]' pytest
	touch $@

# DocC for Kiln and KilnServer with the toolchain's docc; any warning fails (docs/build-docs.sh).
docs:
	docs/build-docs.sh

# The kiln-serve end-to-end tests use the unmodified Triton client and prometheus_client's parser.
$(VENV)/.serve-deps: $(VENV)/bin/kiln-export
	$(VENV)/bin/pip install -q 'tritonclient[http]' prometheus_client pyyaml
	touch $@

test: deps $(VENV)/bin/kiln-export $(VENV)/.serve-deps
	$(VENV)/bin/python -m pytest -q exporter/tests
	Fixtures/models/roundtrip.sh $(VENV)/bin/kiln-export
	swift build --build-tests
	set -o pipefail; KILN_REQUIRE_ROUNDTRIP=1 swift test --disable-swift-testing 2>&1 | tee .build/test.log
	KILN_BUILD_DIR=.build/debug $(VENV)/bin/python -m pytest -q -p no:cacheprovider Tests/serve
	Examples/Consumer/verify.sh
	@line=$$(grep -E "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" .build/test.log | tail -1); \
	n=$$(echo "$$line" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	s=$$(echo "$$line" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p'); s=$${s:-0}; \
	f=$$(echo "$$line" | sed -E 's/.* ([0-9]+) failures?.*/\1/'); \
	echo "tests: $$((n - s - f)) passed, $$s skipped, $$f failed"
