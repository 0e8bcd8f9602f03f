# The whole workflow: `make demo` runs the main job locally, `make test` runs what CI runs,
# `make build deploy` puts it in an AWS account (docs/deploy.md).
# Python tools (moto, cargo-lambda, the SAM CLI, the test tools) are installed, pinned, into
# .venv/ on first use.

SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1
BOOTSTRAP := target/lambda/plantrak-sync/bootstrap
PYTEST := $(VENV)/bin/pytest tests/deploy

# The function's CPU architecture for `make build`, `make deploy` and `make invoke-local`;
# the template's default is arm64, which needs `rustup target add aarch64-unknown-linux-gnu`.
ARCH ?= arm64
# The stack `make logs` reads; `sam deploy --guided` asks for it (samconfig.toml keeps it).
STACK ?= plantrak-sync
# The payload `make invoke-local` sends.
EVENT ?= events/scheduled-event.json
# The tests' `sam build`: x86_64, into target/ so it never replaces a deployable .aws-sam/.
TEST_BOOTSTRAP := target/sam/build/SyncFunction/bootstrap
# SAM's validation needs a region, though it contacts none.
SAM_REGION := $${AWS_REGION:-$${AWS_DEFAULT_REGION:-us-east-1}}

.PHONY: all build cargo-build lambda-build deploy invoke-local logs test lint deny audit bench demo clean venv

all: cargo-build

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# The workspace (the function's binary and the simulator), debug build, with the tests.
cargo-build:
	cargo build --workspace --all-targets

# The Lambda binary (`bootstrap`), built by cargo-lambda for the x86_64 Lambda runtime.
lambda-build: $(VENV)/.installed
	cargo lambda build --release --bin plantrak-sync

# The deployable build, in .aws-sam/build (cargo-lambda, release, for ARCH).
build: $(VENV)/.installed
	sam build --parameter-overrides Architecture=$(ARCH)

# Creates or updates the stack; answer Architecture with the ARCH you built with.
deploy: $(VENV)/.installed
	sam deploy --guided

# One invocation on this machine. With Docker: `sam local invoke` with events/env.json (a
# dev secret and bucket in your account). Without: the bootstrap under cargo-lambda's runtime
# emulator, against the simulator and moto, with the other settings of events/env.json.
invoke-local: $(VENV)/.installed
	@if docker info > /dev/null 2>&1; then \
		sam build --parameter-overrides Architecture=$(ARCH) && \
		sam local invoke SyncFunction --event $(EVENT) --env-vars events/env.json \
			--parameter-overrides Architecture=$(ARCH); \
	else \
		echo "No Docker engine: invoking $(BOOTSTRAP) under cargo lambda watch (simulator + moto)"; \
		$(MAKE) --no-print-directory cargo-build lambda-build && \
		$(VENV)/bin/python tests/deploy/local_stack.py $(EVENT) --bootstrap $(BOOTSTRAP); \
	fi

# The deployed function's logs, followed.
logs: $(VENV)/.installed
	sam logs --stack-name $(STACK) --name SyncFunction --tail

lint: $(VENV)/.installed
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	AWS_DEFAULT_REGION=$(SAM_REGION) sam validate --lint --template template.yaml
	cfn-lint template.yaml

# `sam build` (the only release build of the bootstrap) runs first, in the deployment tests;
# the Rust tests then invoke that bootstrap under the runtime emulator; the other deployment
# tests check the template, the Glue tables and the Athena views.
test: $(VENV)/.installed lint deny cargo-build
	$(PYTEST) -m build -s
	PLANTRAK_TEST_BOOTSTRAP=$(CURDIR)/$(TEST_BOOTSTRAP) scripts/with-moto.sh cargo test --workspace
	$(PYTEST) -m "not build"

# Supply chain: cargo-deny, pinned, installed once into target/tools (about 6 minutes here).
DENY_VERSION := 0.20.2
DENY := target/tools/bin/cargo-deny

$(DENY):
	cargo install --locked cargo-deny --version $(DENY_VERSION) --root target/tools

# Licenses, bans and sources always; advisories only with a local RustSec database (it is
# fetched from GitHub, which may be out of reach); `make audit` fetches it.
deny: $(DENY)
	$(DENY) check bans licenses sources
	@if ls $${CARGO_HOME:-$$HOME/.cargo}/advisory-dbs/*/.git > /dev/null 2>&1; then \
		$(DENY) --offline check advisories; \
	else \
		echo "cargo-deny: advisories skipped: no local RustSec database (run 'make audit' where GitHub is reachable)"; \
	fi

audit: $(DENY)
	$(DENY) check advisories

# The benchmark behind docs/benchmarks.md: plantrak-sync against a Python handler, dlt and the
# plain transfer, on the simulator with moto's S3 and a local directory; it rewrites the
# results section of that page. Needs a quiet machine; a quick check:
# make bench BENCH_ARGS='--sizes 1000,10000'
BENCH_ARGS ?=

$(VENV)/.bench-installed: $(VENV)/.installed bench/requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

bench: $(VENV)/.bench-installed lambda-build
	cargo build --release -p plantrak-simulator
	cargo build --release --bin plantrak-sync
	scripts/with-moto.sh nice $(VENV)/bin/python bench/run.py $(BENCH_ARGS)

# Four simulated days into demo-output/lake, then the Athena views over them (in DuckDB).
demo: $(VENV)/.installed cargo-build
	scripts/demo.sh
	@echo
	@echo "== the Athena views over demo-output/lake"
	$(VENV)/bin/python tests/deploy/athena_local.py $${DEMO_OUTPUT:-demo-output}/lake

clean:
	cargo clean
	rm -rf $(VENV) demo-output .aws-sam
