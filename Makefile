# Kiln's two entry points, each installing what a fresh Debian/Ubuntu machine lacks first:
#   make classify   build release and classify Fixtures/images/chelsea.png with the bundled model
#   make test       everything CI runs
#   make serve      build kiln-serve and serve the bundled model on 127.0.0.1:8080
#   make docs       convert the Kiln and KilnServer DocC catalogs (no warnings allowed)
#   make fuzz       build the libFuzzer targets (Fuzz/) with ASan and run each FUZZ_SECONDS
#   make asan       the Swift test suite under AddressSanitizer
#   make tsan       the concurrency tests under ThreadSanitizer
#   make allocs     AllocationTests optimized: a warm inference makes no heap allocation
SHELL := /bin/bash

.PHONY: deps test build classify serve docs fuzz asan tsan allocs

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

# SwiftPM does not recompile the kernel-table modules (portable and ISA variants) when only the body
# of a kernel in KilnKernels
# changes (the bodies are @_alwaysEmitIntoClient: each variant module compiles its own copy), so an
# incremental build would keep running the old kernels. Touch the variants whenever a kernel changed.
KERNEL_STAMP := .build/.kernels-stamp
$(KERNEL_STAMP): $(wildcard Sources/KilnKernels/*.swift)
	@mkdir -p .build
	@touch Sources/KilnKernelsPortable/Kernels.swift Sources/KilnKernelsBaseline/Kernels.swift Sources/KilnKernelsAVX2/Kernels.swift Sources/KilnKernelsAVX512/Kernels.swift
	@touch $@

build: deps $(KERNEL_STAMP)
	swift build -c release

# The main job: the bundled pretrained EfficientNet-Lite0 on the bundled sample image. Builds only
# the `kiln` product, so the server's dependencies are not compiled for it.
classify: deps $(KERNEL_STAMP)
	swift build -c release --product kiln
	.build/release/kiln classify $(IMAGE)

# The inference service on the bundled model (docs/deployment.md); Ctrl-C or SIGTERM drains and exits.
HOST ?= 127.0.0.1
PORT ?= 8080
serve: deps $(KERNEL_STAMP)
	swift build -c release --product kiln-serve
	.build/release/kiln-serve Fixtures/models/efficientnet_lite0.kiln --host $(HOST) --port $(PORT)

# The exporter's tests and the ONNX -> kiln-export round trip (in a venv at .venv: onnx, numpy,
# onnxruntime, pytest, no torch; the exporter is installed editable so the venv never runs a stale
# copy), then the Swift unit tests against the committed PyTorch/ONNX Runtime references (they load
# the round trip's Fixtures/models/generated/; a plain `swift test` skips RoundTripTests when it is
# missing, KILN_REQUIRE_ROUNDTRIP=1 makes that a failure here), then the versioned-dependency check.
# Before the tests, Tests/check_kernel_symbols.py: no two kernel modules (each built for its own CPU)
# define a code symbol of the same name, which the linker would merge into one copy for all.
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

test: deps $(KERNEL_STAMP) $(VENV)/bin/kiln-export $(VENV)/.serve-deps
	$(VENV)/bin/python -m pytest -q exporter/tests
	Fixtures/models/roundtrip.sh $(VENV)/bin/kiln-export
	swift build --build-tests
	python3 Tests/check_kernel_symbols.py .build/debug
	set -o pipefail; KILN_REQUIRE_ROUNDTRIP=1 swift test --disable-swift-testing 2>&1 | tee .build/test.log
	KILN_BUILD_DIR=.build/debug $(VENV)/bin/python -m pytest -q -p no:cacheprovider Tests/serve
	Examples/Consumer/verify.sh
	@line=$$(grep -E "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" .build/test.log | tail -1); \
	n=$$(echo "$$line" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	s=$$(echo "$$line" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p'); s=$${s:-0}; \
	f=$$(echo "$$line" | sed -E 's/.* ([0-9]+) failures?.*/\1/'); \
	echo "tests: $$((n - s - f)) passed, $$s skipped, $$f failed"

# libFuzzer + AddressSanitizer over every loader and parser (Fuzz/, docs/reliability.md). Each target
# runs FUZZ_SECONDS on a working corpus in .build/fuzz (seeded from Fuzz/corpus and the committed
# regressions) with a 2 GB RSS limit and every single allocation above 512 MB treated as a crash.
# A crash leaves its input in .build/fuzz/crashes and fails the target.
FUZZ_SECONDS ?= 60
FUZZ_RSS_MB ?= 2048
FUZZ_TARGETS ?= artifact npy image preprocessing infer-request
FUZZ_BIN = Fuzz/.build/x86_64-unknown-linux-gnu/release
fuzz: deps
	swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing 2>&1 \
		| grep -v "Cannot export local symbol '__asan_extra_spill_area'"; test $${PIPESTATUS[0]} -eq 0
	@mkdir -p .build/fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p .build/fuzz/corpus/$$t Fuzz/regressions/$$t; \
		echo "== fuzz-$$t ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_BIN)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=$(FUZZ_RSS_MB) -malloc_limit_mb=512 \
			-timeout=20 -print_final_stats=1 -dict=Fuzz/dict/$$t.dict -artifact_prefix=.build/fuzz/crashes/$$t- \
			.build/fuzz/corpus/$$t Fuzz/corpus/$$t Fuzz/regressions/$$t 2>.build/fuzz/$$t.log; \
		rc=$$?; grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^Done|ERROR|SUMMARY" .build/fuzz/$$t.log; \
		if [ $$rc -ne 0 ]; then tail -n 40 .build/fuzz/$$t.log; exit 1; fi; \
	done

# The whole Swift suite under AddressSanitizer, in its own build folder (.build-asan). Leak checking
# is off here: XCTest keeps every test case (and what its teardown blocks capture) until exit, which
# LeakSanitizer reports; the fuzz targets check leaks in Kiln's loaders and parsers instead.
asan: deps $(VENV)/bin/kiln-export
	Fixtures/models/roundtrip.sh $(VENV)/bin/kiln-export
	swift build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=0 KILN_REQUIRE_ROUNDTRIP=1 swift test --skip-build --sanitize=address --scratch-path .build-asan --disable-swift-testing

# The zero-allocation bar of a warm inference holds in optimized builds only (an unoptimized one
# allocates closure contexts and iterators the optimizer removes), so AllocationTests also run
# optimized, in their own build folder (.build-release-tests).
allocs: deps
	swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-release-tests
	python3 Tests/check_kernel_symbols.py .build-release-tests/release
	swift test -c release --skip-build --scratch-path .build-release-tests --disable-swift-testing --filter AllocationTests

# Many threads on one model under ThreadSanitizer (.build-tsan): ConcurrencyTests, the thread pool,
# the concurrent-predict fixture test, and AllocationTests (concurrent callers of predict(_:into:);
# the allocation count itself skips under a sanitizer). Both sanitizers are told to return NULL for an allocation
# the system refuses, as glibc does, so the out-of-memory test sees Kiln's error path.
TSAN_FILTER ?= ConcurrencyTests|ThreadingTests|ModelFixtureTests.testConcurrentPredictOnOneModel|AllocationTests
tsan: deps
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=allocator_may_return_null=1 swift test --skip-build --sanitize=thread --scratch-path .build-tsan --disable-swift-testing --filter '$(TSAN_FILTER)'
