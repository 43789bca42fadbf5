# MessageBridge developer tasks. `make test` is what CI runs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go

# Packages whose suites run once per SQL dialect; their verbose output names
# the dialects that ran (sqlite, mysql).
CONFORMANCE := ./store/... ./queue/...

.PHONY: run test bench build fmt

run:
	$(GO) run ./cmd/messagebridge

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/messagebridge ./cmd/messagebridge

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -v $(CONFORMANCE) | grep -v -E '^=== (RUN|PAUSE|CONT)'
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -E '/(store|queue)(/|$$)')
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 10s ./commands/
	$(GO) test -run '^$$' -fuzz '^FuzzDetect$$' -fuzztime 10s ./commands/importer/

# Micro-benchmarks, then the end-to-end queue benchmark on the configured
# database (MB_DATABASE_URL pointing at an empty scratch database, or a
# throwaway SQLite file when unset).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./cmd/messagebridge bench queue -items 100000 -workers 32

fmt:
	gofmt -w $$(git ls-files '*.go')
