#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, API tests on SQLite and PostgreSQL, doc tests.
# Starts (or installs) what the tests need first (PostgreSQL, a tansu Kafka broker). A missing
# service is a failure, never a skip: the tests fail when KAFKAML_TEST_KAFKA is set but no broker
# answers there, and always when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKAML_TEST_POSTGRES_URL="$(scripts/services.sh | tail -n 1)"
export KAFKAML_TEST_POSTGRES_URL
echo "PostgreSQL for tests: ${KAFKAML_TEST_POSTGRES_URL}"
export KAFKAML_TEST_KAFKA="${KAFKAML_TEST_KAFKA:-127.0.0.1:19092}"
echo "Kafka broker for tests: ${KAFKAML_TEST_KAFKA}"

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
