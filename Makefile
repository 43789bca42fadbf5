# MessageBridge developer tasks. `make test` is what CI runs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go

.PHONY: run test bench build fmt

run:
	$(GO) run ./cmd/messagebridge

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/messagebridge ./cmd/messagebridge

# Vet, then every package in one run (so both cores stay busy until the
# slowest package ends), verbose so that the store and queue suites, which
# run once per SQL dialect, name the dialects that ran (sqlite, mysql);
# then each fuzz target for 10 s.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -v ./... | grep -v -E '^=== (RUN|PAUSE|CONT|NAME)'
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
