# Gatehouse: a Kong-compatible API gateway.
#   make run    build and start the gateway on embedded SQLite (./gatehouse-data)
#   make test   gofmt, go vet and every test, with the servers tests need
#   make bench  benchmarks
#   make examples  build the Wasm plugins of examples/ into build/examples/
#   make filters   build every proxy-wasm test and example filter into build/filters/

GO      ?= go
BIN     := bin/gatehouse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/gatehouse/gatehouse/runtime/app.Version=$(VERSION)

.PHONY: build run test bench fmt vet services-stop clean examples filters vendor-swagger-ui

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gatehouse

run: build
	./$(BIN) start

# Re-downloads the Developer Portal's OpenAPI renderer (swagger-ui-dist, pinned
# with its npm sha512 integrity) into runtime/portal/assets/vendor/swagger-ui.
vendor-swagger-ui:
	runtime/portal/vendor-swagger-ui.sh

fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# .ci/services installs (from Debian's packages, when missing) and starts the
# real servers the tests use (PostgreSQL, Redis), on loopback, and prints
# their addresses (GATEHOUSE_TEST_PG_DSN, GATEHOUSE_TEST_REDIS_ADDR).
# The second pass runs under the race detector (allocation counts mean
# nothing there, and the soak runs a separately built binary, so those
# tests run in the first pass only).
test: fmt vet
	@env_file=$$(mktemp) && .ci/services start > $$env_file && . $$env_file && rm -f $$env_file && \
	$(GO) test -count=1 -timeout 15m ./... && \
	$(GO) test -race -count=1 -timeout 15m -skip 'Allocs|Soak' ./...

# Microbenchmarks (benchstat-friendly), then the side-by-side proxy
# comparison with nginx (needs `apt-get install nginx wrk`).
# The hook round trips, the proxy's own microbenchmarks and the scale
# figures (10,000 routes and consumers) first, into build/gobench.txt, whose
# figures with targets join the table conformance/bench prints at the end
# (a benchmark missing from it is "not measured" there).
BENCH_MICRO_PKGS := ./plugins-wasm/gatehouse ./plugins-wasm/httpwasm ./plugins-wasm/proxywasm ./plugins-lua/pdk ./runtime/policy ./runtime/cache ./runtime/proxy ./runtime/snapshot
BENCH_MICRO := ^(BenchmarkWasmAccess|BenchmarkHTTPWasmAccess|BenchmarkProxyWasmAccess|BenchmarkNativeAccess|BenchmarkHook|BenchmarkACLCached|BenchmarkACLUncached|BenchmarkCredential|BenchmarkServeNoPlugins|BenchmarkServeKeyAuthRateLimit|BenchmarkForwarder|BenchmarkRebuild10000)$$
# BENCH_FLAGS passes conformance/bench's flags (e.g. "-duration 4s -warmup 1s"
# for a shorter run; see conformance/bench/README.md).
BENCH_FLAGS ?=
bench: build
	@mkdir -p build
	$(GO) test -run '^$$' -bench '$(BENCH_MICRO)' -benchmem -count 5 $(BENCH_MICRO_PKGS) 2>&1 | tee build/gobench.txt
	GATEHOUSE_SCALE=1 $(GO) test -run '^$$' -bench '^(BenchmarkScale10000|BenchmarkProxyRatio)$$' -benchtime 1x -timeout 30m ./conformance/scale 2>&1 | tee -a build/gobench.txt
	$(GO) run ./conformance/bench -gatehouse $(BIN) -gobench build/gobench.txt $(BENCH_FLAGS)

# Each folder of examples/ is a Wasm plugin (package main over sdk/), or a
# proxy-wasm filter (pw-*, over sdk/proxywasm), built with the standard
# toolchain into build/examples/NAME.wasm.
examples:
	@mkdir -p build/examples
	@for d in examples/*/; do n=$$(basename $$d); \
		(cd $$d && GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o ../../build/examples/$$n.wasm .) || exit 1; \
		echo "build/examples/$$n.wasm"; done

# The proxy-wasm filters (package main over sdk/proxywasm, most on
# sdk/proxywasm/filter): the conformance tests' filters, the plugin
# scenarios', the bench's and the proxy-wasm examples of examples/, built
# with the standard toolchain into build/filters/NAME.wasm (with
# NAME.meta.json when the source has one). The tests build the same
# sources themselves; some filters are hostile on purpose (hostile,
# unknownimport), so build/filters is not a wasm_filters_path to serve.
FILTER_SRCS := $(wildcard conformance/proxywasm/testdata/*/ conformance/plugins/testdata/proxywasm/*/ \
	conformance/bench/testdata/pw-*/) $(dir $(shell grep -l 'gatehouse/sdk/proxywasm' examples/*/main.go))

filters:
	@mkdir -p build/filters
	@seen=" "; for d in $(FILTER_SRCS); do n=$$(basename $$d); \
		case "$$seen" in *" $$n "*) echo "two filters named $$n"; exit 1;; esac; seen="$$seen$$n "; \
		(cd $$d && GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(CURDIR)/build/filters/$$n.wasm .) || exit 1; \
		if [ -f $$d/$$n.meta.json ]; then cp $$d/$$n.meta.json build/filters/; fi; \
		echo "build/filters/$$n.wasm"; done

services-stop:
	.ci/services stop

clean:
	rm -rf bin build
