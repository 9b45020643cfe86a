#!/usr/bin/env bash
# The reliability suite (tests/src/bin/reliability): schemathesis over the served OpenAPI document,
# concurrency on SQLite and PostgreSQL, faults of PostgreSQL, the broker, the Kubernetes API and
# the executor, crashes (SIGKILL) during an upload and a deployment, and a load of 256 connections.
# It runs the real server binary with KAFKAML_AUTH=on. Figures are printed; a broken rule fails.
#
#   scripts/reliability.sh            full counts, release build (about 10 minutes after the build)
#   scripts/reliability.sh --ci       the small counts CI runs, debug build
#   scripts/reliability.sh faults     only some parts: schema, concurrency, faults, crash, load
#
# Starts (or installs) what it needs first: PostgreSQL, tansu and Mosquitto through
# scripts/services.sh, and schemathesis from PyPI into target/reliability-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKAML_TEST_POSTGRES_URL="$(scripts/services.sh | tail -n 1)"
export KAFKAML_TEST_POSTGRES_URL

# schemathesis, pinned, in a virtual environment of its own.
venv="${CARGO_TARGET_DIR:-target}/reliability-venv"
if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis into ${venv}" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
export SCHEMATHESIS="$PWD/$venv/bin/st"
case "$venv" in /*) export SCHEMATHESIS="$venv/bin/st" ;; esac

profile=release
for arg in "$@"; do [ "$arg" = "--ci" ] && profile=debug; done
if [ "$profile" = release ]; then
  cargo build --release -p kafkaml-api -p kafkaml-tests --bin kafkaml-backend --bin reliability
else
  cargo build -p kafkaml-api -p kafkaml-tests --bin kafkaml-backend --bin reliability
fi
exec "${CARGO_TARGET_DIR:-target}/${profile}/reliability" "$@"
