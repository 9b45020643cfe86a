#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, API tests on SQLite and PostgreSQL, doc tests.
# Starts (or installs) what the tests need first. A missing service is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKAML_TEST_POSTGRES_URL="$(scripts/services.sh | tail -n 1)"
export KAFKAML_TEST_POSTGRES_URL
echo "PostgreSQL for tests: ${KAFKAML_TEST_POSTGRES_URL}"

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
