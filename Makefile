# Every CI step is a target here; .ci/run only calls make.
CARGO ?= cargo

.PHONY: run build test test-unit test-cli lint bench bench-compare crash crash-long \
	fuzz fuzz-smoke docker deps deps-interop interop interop-oracle diff-fuzz

# Runs the server on the embedded default: ./data, 127.0.0.1:6379.
run:
	$(CARGO) run --release -- --dir ./data

build:
	$(CARGO) build --release

# The README's test command: unit, engine, integration, crash and CLI checks.
# Installs redis-cli and redis-server first if they are missing. Run as root:
# tests/disk_full_server.rs mounts a tmpfs. A test that cannot run fails
# unless SLOWPOKE_ALLOW_SKIP=1 (CI never sets it).
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

# Slowpoke vs Redis 7 side by side (~10 min; BENCH_ARGS=--quick for a ~2 min smoke run).
# Installs redis-server, redis-tools and gnuplot-nox if missing; writes
# benches/compare/results/latest.{csv,png} and docs/PERFORMANCE.md.
bench-compare:
	CARGO=$(CARGO) scripts/bench_compare.sh $(BENCH_ARGS)

# cargo-fuzz targets, bounded (needs the nightly toolchain).
FUZZ_SECONDS ?= 60
fuzz:
	cargo +nightly fuzz --help >/dev/null 2>&1 || $(CARGO) install cargo-fuzz
	cargo +nightly fuzz run codec -O -- -max_total_time=$(FUZZ_SECONDS)
	cargo +nightly fuzz run command -O -- -max_total_time=$(FUZZ_SECONDS)

# The same checks on stable, seeded and bounded (also run by `cargo test`).
fuzz-smoke:
	$(CARGO) test --release --test fuzz_smoke -- --nocapture

# The Docker image (needs a Docker engine; CI machines have none).
docker:
	docker build -f docker/Dockerfile -t slowpoke .

# 10 kill -9 rounds (6 of torn-batch checks) run in `make test`; this runs 200 (and 20).
crash-long:
	CRASH_ROUNDS=200 $(CARGO) test --release --test crash_kill9 -- --nocapture
	BATCH_CRASH_ROUNDS=20 $(CARGO) test --release --test crash_kill9_batch -- --nocapture

deps:
	scripts/install_deps.sh

deps-interop:
	scripts/install_deps.sh --interop

# Client libraries, twemproxy scale-out, byte-for-byte diff against Redis
# (the hand-written cases, then the seeded fuzzer).
interop: build
	scripts/client_matrix.sh
	scripts/twemproxy_check.sh
	scripts/diff_redis.py
	$(MAKE) diff-fuzz

# The same checks against Redis itself: proves the checks are right (and
# that the fuzzer's sequences have deterministic replies).
interop-oracle:
	scripts/cli_check.sh redis
	scripts/client_matrix.sh redis
	scripts/twemproxy_check.sh redis
	scripts/diff_redis.py --a-cmd redis --b-cmd redis
	scripts/diff_fuzz.py $(DIFF_FUZZ_ARGS) --a-cmd redis --b-cmd redis

# Random command sequences, Slowpoke vs Redis, bounded: a fixed seed,
# 8,000 commands, a few seconds. A divergence prints the shrunk case.
# Longer: make diff-fuzz DIFF_FUZZ_ARGS="--seed 7 --rounds 2000 --len 100"
DIFF_FUZZ_ARGS ?= --seed 1 --rounds 100 --len 65
diff-fuzz: build
	scripts/diff_fuzz.py $(DIFF_FUZZ_ARGS)
