#!/usr/bin/env bash
# Makes sure the services the tests need are running on this machine:
# - Mosquitto on 127.0.0.1:1883 with anonymous access (plus the `mosquitto` and `mosquitto_passwd`
#   binaries, with which the IoT tests start a password-protected broker of their own), installed
#   from Debian's packages when absent;
# - a Kafka-protocol broker (`tansu`, in-memory storage) on 127.0.0.1:19092 (KAFKAML_TEST_KAFKA);
#   `tansu` is installed with cargo when missing (cached in ~/.cargo/bin; about 16 minutes on 2 cores);
# - PostgreSQL on 127.0.0.1:5432 with a database `test`, installed from Debian's packages when absent.
# Prints the PostgreSQL URL the tests should use on its last line; everything else goes to stderr.
set -euo pipefail

# --- Mosquitto -------------------------------------------------------------------------------
mqtt_listening() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
mosquitto_bin() { command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; }; }

if [ -z "$(mosquitto_bin)" ] || ! command -v mosquitto_passwd >/dev/null 2>&1; then
  echo "installing Mosquitto from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq mosquitto >&2
fi
if ! mqtt_listening; then
  echo "Mosquitto is not listening on 127.0.0.1:1883; starting it" >&2
  conf="${TMPDIR:-/tmp}/kafkaml-test-mosquitto.conf"
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\n' > "$conf"
  chmod 644 "$conf"
  "$(mosquitto_bin)" -d -c "$conf" >&2
  for _ in $(seq 1 50); do mqtt_listening && break; sleep 0.1; done
  mqtt_listening || { echo "Mosquitto could not be started on 127.0.0.1:1883" >&2; exit 1; }
fi

# --- Kafka (tansu) ---------------------------------------------------------------------------
kafka="${KAFKAML_TEST_KAFKA:-127.0.0.1:19092}"
kafka_host="${kafka%:*}"
kafka_port="${kafka##*:}"
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if answers "$kafka_host" "$kafka_port"; then
  echo "Kafka broker answers at ${kafka}" >&2
else
  tansu="$(command -v tansu || true)"
  if [ -z "$tansu" ] && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then tansu="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"; fi
  if [ -z "$tansu" ]; then
    echo "installing tansu (cargo install tansu --locked --features dynostore)" >&2
    cargo install tansu --locked --features dynostore >&2
    tansu="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
  fi
  log="${TMPDIR:-/tmp}/kafkaml-tansu-${kafka_port}.log"
  echo "starting tansu on ${kafka} (log: ${log})" >&2
  url="tcp://${kafka_host}:${kafka_port}"
  setsid nohup "$tansu" --storage-engine memory://tansu/ --listener-url "$url" --advertised-listener-url "$url" \
    >"$log" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do
    if answers "$kafka_host" "$kafka_port"; then break; fi
    sleep 0.1
  done
  if ! answers "$kafka_host" "$kafka_port"; then
    echo "tansu did not start on ${kafka}; see ${log}" >&2
    exit 1
  fi
fi

# --- PostgreSQL ------------------------------------------------------------------------------

url="${KAFKAML_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pw_url="postgres://postgres:postgres@127.0.0.1:5432/test"

can_connect() { psql "$1" -Atc 'select 1' >/dev/null 2>&1; }

if command -v psql >/dev/null 2>&1 && can_connect "$url"; then echo "$url"; exit 0; fi
if command -v psql >/dev/null 2>&1 && can_connect "$pw_url"; then echo "$pw_url"; exit 0; fi

echo "PostgreSQL is not reachable at 127.0.0.1:5432; starting it" >&2
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
for version in $(ls /etc/postgresql); do
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
done
for _ in $(seq 1 30); do
  if su postgres -c "psql -Atc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 1
done
su postgres -c "psql -Atc \"select 1 from pg_database where datname='test'\"" | grep -q 1 \
  || su postgres -c "psql -c 'CREATE DATABASE test'" >&2
if can_connect "$url"; then echo "$url"; exit 0; fi
su postgres -c "psql -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
if can_connect "$pw_url"; then echo "$pw_url"; exit 0; fi
echo "PostgreSQL could not be reached at 127.0.0.1:5432" >&2
exit 1
