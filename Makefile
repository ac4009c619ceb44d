# Regulars: two commands do everything on a fresh Debian 12 machine.
#   make run    install what is missing, build, open the app on a demo store
#   make test   install what is missing, run every check (what CI runs)
# Everything else here is a building block of those two, or a benchmark.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
XVFB := xvfb-run -a -s '-screen 0 1280x800x24'
APP_DEBUG := target/debug/regulars-app
DATA ?= $(HOME)/.local/share/app.regulars.till

.PHONY: run run-empty test setup ui app lint test-rust test-ui test-e2e bindings bench bench-e2e bench-owner bench-startup package test-package clean

run: setup ui
	cargo build -p regulars-app
	@echo "Opening Regulars on $(DATA)/regulars.db (demo shop on first run)"
	@if [ -n "$${DISPLAY:-}" ]; then $(APP_DEBUG) --db $(DATA)/regulars.db; \
	 else echo "no DISPLAY: running under Xvfb"; $(XVFB) $(APP_DEBUG) --db $(DATA)/regulars.db; fi

# The same, on a new empty store (no demo data).
run-empty: setup ui
	cargo build -p regulars-app
	$(APP_DEBUG) --empty --db $(DATA)/empty.db

setup:
	@bash scripts/setup.sh

ui: setup
	cd ui && npm run build

app: ui
	cargo build -p regulars-app -p regulars-cli -p regulars-server

lint: ui
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cd ui && npm run check

TEST_LOG := target/test-results.log

test-ui: setup
	cd ui && npm test

test-rust: app
	mkdir -p target
	REGULARS_REQUIRE_PG=1 cargo test --workspace --exclude regulars-e2e 2>&1 | tee -a $(TEST_LOG)

test-e2e: app
	mkdir -p target
	REGULARS_E2E=1 $(XVFB) cargo test -p regulars-e2e --tests -- --test-threads=1 2>&1 | tee -a $(TEST_LOG)

# Every check, then one closing line with the Rust test totals.
test:
	@mkdir -p target && rm -f $(TEST_LOG)
	$(MAKE) lint test-ui test-rust test-e2e
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "make test: all checks passed\n%d passed, %d failed\n", p, f }' $(TEST_LOG)

# Regenerate ui/src/bindings from the Rust model (commit the result).
bindings:
	UPDATE_BINDINGS=1 cargo test -p regulars-core --test bindings

# Benchmarks: release builds, figures printed; record them in docs/benchmarks.md.
BENCH_DB ?= target/bench/recognition-100k.db
bench: setup
	cargo build --release -p regulars-cli
	mkdir -p $(dir $(BENCH_DB))
	target/release/regulars --db $(BENCH_DB) bench recognition --customers 100000

bench-e2e: setup ui
	cargo build --release -p regulars-app -p regulars-cli
	@test -s $(BENCH_DB) || { echo "no $(BENCH_DB): run 'make bench' first (it builds the 100k-customer store)"; exit 1; }
	REGULARS_E2E=1 REGULARS_APP=$(CURDIR)/target/release/regulars-app REGULARS_BENCH_DB=$(CURDIR)/$(BENCH_DB) \
	  $(XVFB) cargo test --release -p regulars-e2e --test scan_latency -- --ignored --nocapture

# Cold start and idle memory of the release app on a copy of the Complete
# Journey store (tests/e2e/tests/startup.rs says what is measured and how).
CJ_DB ?= target/bench/cj.db
STARTUP_DB ?= target/bench/cj-startup.db
bench-startup: setup ui
	cargo build --release -p regulars-app -p regulars-cli
	@test -s $(STARTUP_DB) || { test -s $(CJ_DB) || { echo "no $(CJ_DB): import the Complete Journey first (regulars --db $(CJ_DB) import completejourney DATASET_DIR) or set CJ_DB"; exit 1; }; \
	  mkdir -p $(dir $(STARTUP_DB)) && cp $(CJ_DB) $(STARTUP_DB); }
	$${CARGO_TARGET_DIR:-target}/release/regulars --db $(STARTUP_DB) info
	REGULARS_E2E=1 REGULARS_APP=$$(realpath $${CARGO_TARGET_DIR:-target}/release/regulars-app) REGULARS_BENCH_DB=$(abspath $(STARTUP_DB)) \
	  $(XVFB) cargo test --release -p regulars-e2e --test startup -- --ignored --nocapture

# The owner's dashboard on a copy of the Complete Journey store (made by
# `regulars import completejourney`; see docs/benchmarks.md), release app.
bench-owner: setup ui
	cargo build --release -p regulars-app -p regulars-cli
	@test -s $(CJ_DB) || { echo "no $(CJ_DB): import the Complete Journey first (docs/benchmarks.md)"; exit 1; }
	mkdir -p target/bench && cp $(CJ_DB) target/bench/cj-owner.db
	REGULARS_E2E=1 REGULARS_APP=$$(realpath $${CARGO_TARGET_DIR:-target}/release/regulars-app) REGULARS_CJ_DB=$(CURDIR)/target/bench/cj-owner.db \
	  $(XVFB) cargo test --release -p regulars-e2e --test dashboard_paint -- --ignored --nocapture

# The Debian package (app, icon, desktop entry, and the `regulars` CLI) in
# target/release/bundle/deb/; scripts/package.sh says how.
package: setup ui
	bash scripts/package.sh

# Installs that package here, starts the installed app under Xvfb, removes it.
test-package: package
	bash scripts/package-test.sh

clean:
	cargo clean
	rm -rf ui/dist
