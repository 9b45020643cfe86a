#!/usr/bin/env bash
# Fails when a crate depends on what its layer must not (design §2): the domain pulls in no
# database, web, Kubernetes, Kafka or MQTT crate; only `kafkaml-api` depends on actix-web.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
forbid() {
  local crate="$1" dep="$2"
  if out=$(cargo tree -p "$crate" -e normal -i "$dep" 2>/dev/null) && [ -n "$out" ]; then
    echo "layering violation: $crate depends on $dep" >&2
    echo "$out" >&2
    fail=1
  fi
}
for dep in diesel actix-web kube rdkafka rumqttc reqwest; do forbid kafkaml-domain "$dep"; done
for crate in kafkaml-persistence kafkaml-executor; do forbid "$crate" actix-web; done
forbid kafkaml-persistence reqwest
forbid kafkaml-executor diesel
for dep in actix-web diesel; do forbid kafkaml-iot "$dep"; done
for dep in actix-web diesel; do forbid kafkaml-messaging "$dep"; done
[ "$fail" -eq 0 ] && echo "layering: ok"
exit "$fail"
