# The whole workflow: `make demo` runs the main job locally, `make test` runs what CI runs.
# Python tools (moto, cargo-lambda) are installed, pinned, into .venv/ on first use.

SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
BOOTSTRAP := target/lambda/plantrak-sync/bootstrap

.PHONY: all build lambda-build test lint unit demo clean

all: build

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build:
	cargo build --workspace --all-targets

# The Lambda binary (`bootstrap`), built by cargo-lambda for the x86_64 Lambda runtime.
lambda-build: $(VENV)/.installed
	cargo lambda build --release --bin plantrak-sync

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: $(VENV)/.installed lint build lambda-build
	PLANTRAK_TEST_BOOTSTRAP=$(CURDIR)/$(BOOTSTRAP) scripts/with-moto.sh cargo test --workspace

demo: build
	scripts/demo.sh

clean:
	cargo clean
	rm -rf $(VENV) demo-output
