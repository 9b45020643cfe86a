#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, API tests on SQLite and PostgreSQL, the browser
# tests, doc tests. Starts (or installs) what the tests need first (PostgreSQL, Mosquitto, a tansu
# Kafka broker; Chromium, chromedriver and Python from Debian's packages). A missing service is a
# failure, never a skip: the tests fail when KAFKAML_TEST_KAFKA is set but no broker answers
# there, and always when CI=true; the browser tests fail without Chromium or its driver.
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKAML_TEST_POSTGRES_URL="$(scripts/services.sh | tail -n 1)"
export KAFKAML_TEST_POSTGRES_URL
echo "PostgreSQL for tests: ${KAFKAML_TEST_POSTGRES_URL}"
export KAFKAML_TEST_KAFKA="${KAFKAML_TEST_KAFKA:-127.0.0.1:19092}"
echo "Kafka broker for tests: ${KAFKAML_TEST_KAFKA}"

# The browser tests (tests/tests/browser.rs): headless Chromium driven by chromedriver, and
# python3 for the web UI's stand-in proxy (shared/webui/serve.py).
chromium="${KAFKAML_TEST_CHROMIUM:-/usr/bin/chromium}"
chromedriver="${KAFKAML_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
[ -x "$chromedriver" ] || missing+=(chromium-driver)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
echo "Chromium for the browser tests: ${chromium} ($("$chromium" --version 2>/dev/null || echo 'does not run'))"
echo "chromedriver for the browser tests: ${chromedriver} ($("$chromedriver" --version 2>/dev/null || echo 'does not run'))"

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
