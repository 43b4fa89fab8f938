# slipway: `make synth` runs the program offline; `make test` installs the
# pinned tools it needs and runs every test. .ci/run runs `make lint test`.
SHELL := bash
export PATH := $(CURDIR)/bin:$(PATH)

STACK ?= prod
SHA   ?= 0123456789abcdef0123456789abcdef01234567
OUT   ?= out

.PHONY: synth tools test lint bench integration

synth:
	go run ./cmd/deploy synth --stack $(STACK) --sha $(SHA) --out $(OUT)

tools:
	scripts/install-tools.sh

test: tools
	go test ./...
	@# The opt-in real-cloud suite skips here; show why.
	go test -count=1 -v -run OptIn ./tests/integration/

lint: tools
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt: not formatted:"; echo "$$fmt"; exit 1; fi
	go vet ./...
	bin/staticcheck ./...
	shellcheck scripts/*.sh .ci/run

bench: tools
	go test -run '^$$' -bench . -benchtime 5x -timeout 60m ./...

# The opt-in real-cloud suite: see tests/integration/integration_test.go.
integration: tools
	go test -tags integration -count=1 -v -timeout 90m ./tests/integration/
