# licledger — see README.md. Every target installs nothing globally: go fetches modules itself.
GO ?= go
PKGS := ./...
# An execution count, not a duration: a duration -fuzztime can fail with "context deadline
# exceeded" and no crasher in Go 1.26 (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 20000x

# The stock nats CLI, which a test runs to prove README's examples (issue 5 pins this version).
NATSCLI := github.com/nats-io/natscli/nats@v0.5.1

.PHONY: run test test-short soak bench lint fuzz build tools

run: ## Run the ledger: embedded NATS + JetStream and Pebble under ./data (Ctrl-C stops it cleanly)
	$(GO) build -o bin/ledgerd ./cmd/ledgerd
	exec bin/ledgerd

# The reliability suite's counts (kills survived, faults injected, bad inputs tried, events
# checked, lost) are collected here and printed at the end of `make test` and `make soak`.
REPORT := $(CURDIR)/bin/reliability-report.txt

test: lint tools ## The whole suite with the race detector (includes the reliability suite: SIGKILLs, NATS and disk faults, hostile input, overload)
	@mkdir -p bin && rm -f $(REPORT)
	PATH="$(CURDIR)/bin:$$PATH" LICLEDGER_REPORT=$(REPORT) $(GO) test -race -timeout 30m $(PKGS)
	@echo "== reliability report" && cat $(REPORT)

soak: tools ## The reliability suite at length (about 50 min): 200 SIGKILLs, a 10-minute memory soak, longer fuzzing
	@mkdir -p bin && rm -f $(REPORT)
	PATH="$(CURDIR)/bin:$$PATH" LICLEDGER_REPORT=$(REPORT) LICLEDGER_CRASH_KILLS=200 LICLEDGER_SOAK=10m \
	  $(GO) test -race -count=1 -timeout 120m -run 'TestCrash|TestSoak|TestNATSOutages|TestFullDisk|TestHostile|TestOverload' ./cmd/ledgerd/ ./handlers/natsapi/
	$(MAKE) fuzz FUZZTIME=200000x
	@echo "== reliability report" && cat $(REPORT)

tools: bin/nats tools/api/node_modules tools/dashboard/node_modules ## Test tools: the stock nats CLI into ./bin; the API documents' validators and client generator into tools/api, the dashboard's charting library into tools/dashboard (each pinned by its package-lock.json; skipped without npm)

bin/nats:
	GOBIN="$(CURDIR)/bin" $(GO) install $(NATSCLI)

tools/api/node_modules: tools/api/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tools/api --no-audit --no-fund --loglevel=error && touch $@; \
	  else echo "npm not found: the OpenAPI and AsyncAPI tests will skip"; fi

tools/dashboard/node_modules: tools/dashboard/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tools/dashboard --no-audit --no-fund --loglevel=error && touch $@; \
	  else echo "npm not found: the test that the embedded charting library is the pinned one will skip"; fi

test-short: ## Skip the slow end-to-end crash test
	$(GO) test -race -short $(PKGS)

bench: ## Store group-commit benchmark, audit tree hashing and full verify of a 1M-event log, read-model rebuild (in memory and stored) and restart speed on a generated log, durable throughput through NATS from a separate process (embedded server, a three-node cluster, then 1, 2 and 4 partitions on it) with batch.submit against single commands, the machine's floor for it, and the ledger's ratios to that floor measured interleaved in one run
	$(GO) test -run '^$$' -bench 'GroupCommit' -benchtime 3s ./eventstore/
	$(GO) test -run '^$$' -bench . -benchtime 3s ./handlers/
	$(GO) test -run '^$$' -bench 'Verify' -benchtime 3x -timeout 30m ./eventstore/
	$(GO) test -run '^$$' -bench 'Rebuild|Restore|AsOf|Trend' -benchtime 3x -timeout 60m ./projections/
	scripts/bench-nats.sh 10
	scripts/bench-cluster.sh 10
	scripts/bench-partitions.sh 10
	scripts/bench-floor.sh 10
	scripts/bench-ratio.sh 10 2

lint: ## gofmt, go vet, go mod tidy, the import-direction test, and no tracked file over 1 MiB (build outputs go to bin/)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@big=$$(git ls-files -z 2>/dev/null | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > 1048576 {print $$2}'); \
	  if [ -n "$$big" ]; then echo "tracked files over 1 MiB (binaries belong in bin/, which git ignores):"; echo "$$big"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff
	$(GO) test -count=1 ./internal/archtest/

fuzz: ## Each fuzz target for FUZZTIME executions (default 20000x): the envelope, event data, every command body, tokens, duplicate keys, and whole requests (any endpoint, headers, body) against a real ledger
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEnvelope$$' -fuzztime $(FUZZTIME) ./eventstore/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFlat$$' -fuzztime $(FUZZTIME) ./domain/
	$(GO) test -run '^$$' -fuzz '^FuzzCommandDecoding$$' -fuzztime $(FUZZTIME) ./handlers/
	$(GO) test -run '^$$' -fuzz '^FuzzWellFormedToken$$' -fuzztime $(FUZZTIME) ./handlers/
	$(GO) test -run '^$$' -fuzz '^FuzzDuplicateKey$$' -fuzztime $(FUZZTIME) ./handlers/
	$(GO) test -run '^$$' -fuzz '^FuzzLedgerRequest$$' -fuzztime $(FUZZTIME) ./handlers/
	$(GO) test -run '^$$' -fuzz '^FuzzFastDecode$$' -fuzztime $(FUZZTIME) ./handlers/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./licensefile/

build:
	$(GO) build -o bin/ ./cmd/...
