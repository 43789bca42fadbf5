# MessageBridge developer tasks. `make test` is what CI runs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go

# Packages whose suites run once per SQL dialect; their verbose output names
# the dialects that ran (sqlite, mysql).
CONFORMANCE := ./store/...

.PHONY: run test bench build fmt

run:
	$(GO) run ./cmd/messagebridge

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/messagebridge ./cmd/messagebridge

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -v $(CONFORMANCE) | grep -v -E '^=== (RUN|PAUSE|CONT)'
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -E '/store(/|$$)')

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
