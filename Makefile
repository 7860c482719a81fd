# Every CI step is a target here; .ci/run only calls make.
CARGO ?= cargo

.PHONY: run build test test-unit test-cli lint bench bench-compare crash crash-long \
	fuzz docker deps deps-interop interop interop-oracle

# Runs the server on the embedded default: ./data, 127.0.0.1:6379.
run:
	$(CARGO) run --release -- --dir ./data

build:
	$(CARGO) build --release

# The README's test command: unit, engine, integration, crash and CLI checks.
# Installs redis-cli (Debian's redis-tools) first if it is missing.
test: deps
	$(CARGO) build --release
	$(CARGO) test --release
	scripts/cli_check.sh

test-unit:
	$(CARGO) test --release

test-cli: build
	scripts/cli_check.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

bench:
	$(CARGO) bench

# 10 kill -9 rounds run in `make test`; this runs 200.
crash-long:
	CRASH_ROUNDS=200 $(CARGO) test --release --test crash_kill9 -- --nocapture

deps:
	scripts/install_deps.sh

deps-interop:
	scripts/install_deps.sh --interop

# Client libraries, twemproxy scale-out, byte-for-byte diff against Redis.
interop: build
	scripts/client_matrix.sh
	scripts/twemproxy_check.sh
	scripts/diff_redis.py

# The same checks against Redis itself: proves the checks are right.
interop-oracle:
	scripts/cli_check.sh redis
	scripts/client_matrix.sh redis
	scripts/twemproxy_check.sh redis
	scripts/diff_redis.py --a-cmd redis --b-cmd redis
