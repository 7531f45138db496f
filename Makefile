# Bulwark: one command per intent. Every target installs what it needs when it is missing.
#
#   make run      build, start a private PostgreSQL under .data/ (unless DATABASE_URL is set),
#                 load the demo fleet into an empty database, serve http://127.0.0.1:3000/
#   make stop     stop the private PostgreSQL of `make run`
#   make test     every test: Rust tests against a throw-away PostgreSQL, then Playwright in
#                 Chromium against the release build
#   make e2e      only the Playwright part of `make test`
#   make build    release binary target/release/bulwark and the site under target/site
#   make check    rustfmt, clippy for the server and for the wasm build, sqlx offline data
#   make bench    benchmarks (BENCH=<group> for one group)
#   make fuzz     every parser's fuzz target for FUZZ_SECONDS (60) each (FUZZ=<target> for one)
#   make deps     install the toolchain pieces, Debian packages and npm packages

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.PHONY: help deps run stop test rust-test e2e build check bench fuzz prepare clean

export CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(PATH)
# compile-time checked queries read .sqlx/ instead of a live database
export SQLX_OFFLINE ?= true
export CARGO_TERM_COLOR ?= never
# cargo-leptos sets this while compiling (leptos reads it at compile time); setting it for every
# cargo command keeps plain cargo and cargo-leptos builds sharing one set of artifacts.
export LEPTOS_OUTPUT_NAME := bulwark

DATA_DIR := .data/pg
BIN := target/release/bulwark

help:
	@sed -n '2,14p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@.ci/deps

build: deps
	cargo leptos build --release --split
	@ls -l $(BIN) target/site/pkg/

run: build
	@if [ -z "$${DATABASE_URL:-}" ]; then eval "$$(.ci/pg start $(DATA_DIR))"; \
	  echo "Private PostgreSQL running ($(DATA_DIR)); stop it with 'make stop'."; fi; \
	$(BIN) migrate && $(BIN) demo --if-empty && \
	echo "Dashboard: http://$${BULWARK_ADDR:-127.0.0.1:3000}/  (Ctrl-C to stop)" && \
	exec $(BIN) serve

stop:
	@.ci/pg stop $(DATA_DIR) && echo "Private PostgreSQL stopped (data kept in $(DATA_DIR))."

test: deps
	@.ci/test all

rust-test: deps
	@.ci/test rust

e2e: deps
	@.ci/test e2e

check: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings
	@.ci/test sqlx-check

# Regenerates .sqlx/ (compile-time query data) against a throw-away database.
prepare: deps
	@.ci/test sqlx-prepare

bench: deps
	@.ci/bench $(BENCH)

fuzz: deps
	@.ci/fuzz $(FUZZ)

clean:
	cargo clean
