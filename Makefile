# Every CI step is a target here; .ci/run only calls make.
CARGO ?= cargo

.PHONY: run build test test-unit test-cli lint bench bench-compare crash-long fuzz docker deps

run:
	$(CARGO) run --release -- --dir ./data

build:
	$(CARGO) build --release

# The README's test command: unit, engine, integration and CLI checks.
test:
	$(CARGO) build --release
	$(CARGO) test --release
	scripts/cli_check.sh

test-unit:
	$(CARGO) test --release

test-cli:
	scripts/cli_check.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

bench:
	$(CARGO) bench

deps:
	scripts/install_deps.sh
