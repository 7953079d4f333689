# pfz build, test and release tasks. `make test` is the test command CI runs
# (.ci/run); see README.md.

GO       ?= go
PKG      := github.com/pfz-cli/pfz
BIN      ?= bin/pfz
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(PKG)/internal/app.Version=$(VERSION) -X $(PKG)/internal/app.Commit=$(COMMIT) -X $(PKG)/internal/app.Date=$(DATE)
# How long each fuzz target runs under `make fuzz`.
FUZZTIME ?= 10s
# Recipes use pipefail: a failing `go test` must fail `make test` although its
# output is piped through the summary.
SHELL    := /bin/bash

.PHONY: all build install quickstart test test-short test-update conformance parity-table vet fmt fmt-check lint fuzz bench clean snapshot

all: build test

## build: the pfz binary in bin/, statically linked, version stamped; each
## package is printed as it compiles ([n/total]), so a first build on a slow
## machine shows where it is
build:
	@set -o pipefail; total=$$($(GO) list -deps ./cmd/pfz | wc -l | tr -d ' '); \
	echo "==> building $(BIN): $$total packages, compiled once (minutes on a first build, seconds after)"; \
	CGO_ENABLED=0 $(GO) build -v -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pfz 2>&1 | \
	  awk -v total=$$total '{ printf "  [%d/%d] %s\n", NR, total, $$0; fflush() }'; \
	echo "==> built $(BIN)"

## quickstart: build bin/pfz, then run examples/hello-python on the local target
## (the first run creates the Python environment its session uses)
quickstart: build
	@echo "==> $(BIN) run create -f examples/hello-python/run.yml --stream"
	@$(BIN) run create -f examples/hello-python/run.yml --stream

## install: pfz into $GOBIN (or $GOPATH/bin)
install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/pfz

## test: vet, then every test with the race detector (fuzz seed corpora
## included), then a summary of the skipped tests and why (scripts/testsummary).
## The differential suite (e2e/parity) is among them: it runs when python3 is
## present (with CI=true a missing python3 fails it) and installs promptflow
## once into a cached venv.
## TEST_TIMEOUT bounds each test binary: the end-to-end suites build Python
## environments and take minutes on 2 cores, past go test's 10 m default
## when the machine is busy; CI's own bound is 90 minutes for everything.
## testsummary is built before the tests start: it notes which of pfz's home
## folders exist before any test runs (a `go run` in the pipe would compile
## while the first tests already run, and miss a folder they create).
TEST_TIMEOUT ?= 45m
test: vet
	@$(GO) build -o bin/testsummary ./scripts/testsummary
	@bin/testsummary -- $(GO) test -race -timeout $(TEST_TIMEOUT) -json ./...

## test-short: the tests without the race detector, for a quick loop
test-short:
	$(GO) test ./...

## conformance: the differential suite alone: promptflow 1.18.5 and pfz over
## testdata/parity, every divergence not listed in known-differences.yaml fails
conformance:
	$(GO) test -count=1 -timeout 60m -v -run 'TestParity$$|TestTable$$' ./e2e/parity/

## parity-table: regenerate docs/parity.md's feature table from testdata/parity
parity-table:
	$(GO) test -count=1 -run 'TestTable$$' ./e2e/parity/ -update

## test-update: rewrite golden files (help text and printed output)
test-update:
	$(GO) test ./internal/app/... -update

vet:
	$(GO) vet ./...

fmt:
	gofmt -w cmd internal

fmt-check:
	@out="$$(gofmt -l cmd internal)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# golangci-lint, pinned: `go run` builds this version (once, then from the
# build cache), so every machine lints with the same rules. .golangci.yml is
# checked against it.
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
# Code older than LINT_BASE had 124 findings when the linters were first run
# (errcheck on deferred Close calls, mostly); on 2026-12-07 `make lint-all`
# listed 44 (68 without golangci-lint's per-linter caps, 316 before that
# day's clean-up), most in packages then being reworked (executor, dataset,
# pyjson, prompty, pyenv, uvsetup). `make lint` holds
# every change since to the rules, `make lint-all` lists the old findings too.
LINT_BASE ?= a14734c6fe2c43b6950679bf4978da7fe2324a33

## lint: golangci-lint (pinned) with .golangci.yml on the code changed since LINT_BASE; CI runs it
lint:
	$(GOLANGCI_LINT) run --allow-parallel-runners --new-from-rev=$(LINT_BASE) ./...

## lint-all: golangci-lint on all the code, old findings included
lint-all:
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

## fuzz: run every FuzzXxx target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: every benchmark with allocation counts
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## snapshot: a local release build of every platform (needs goreleaser v2)
snapshot:
	@command -v goreleaser >/dev/null 2>&1 || { echo "make snapshot needs goreleaser v2, which is not on PATH." >&2; \
	  echo "install it with: go install github.com/goreleaser/goreleaser/v2@latest  (then make sure \$$(go env GOPATH)/bin is on PATH)" >&2; \
	  echo "or see https://goreleaser.com/install/" >&2; exit 2; }
	goreleaser release --snapshot --clean

clean:
	rm -rf bin dist
