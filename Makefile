# Gatehouse: a Kong-compatible API gateway.
#   make run    build and start the gateway on embedded SQLite (./gatehouse-data)
#   make test   gofmt, go vet and every test, with the servers tests need
#   make bench  benchmarks
#   make examples  build the Wasm plugins of examples/ into build/examples/

GO      ?= go
BIN     := bin/gatehouse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/gatehouse/gatehouse/runtime/app.Version=$(VERSION)

.PHONY: build run test bench fmt vet services-stop clean examples

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gatehouse

run: build
	./$(BIN) start

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
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./conformance/bench -gatehouse $(BIN)

# Each folder of examples/ is a Wasm plugin (package main over sdk/),
# built with the standard toolchain into build/examples/NAME.wasm.
examples:
	@mkdir -p build/examples
	@for d in examples/*/; do n=$$(basename $$d); \
		(cd $$d && GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o ../../build/examples/$$n.wasm .) || exit 1; \
		echo "build/examples/$$n.wasm"; done

services-stop:
	.ci/services stop

clean:
	rm -rf bin build
