#!/usr/bin/env bash
# Prints whether each component of the dev stack is up, with its address, pid and memory.
# Exits 1 if anything is down.
#   --smoke   also exercise it: Kafka produce/consume round trip on a throw-away topic, and the
#             Confluent schema-registry calls the project uses (register, get by id,
#             per-subject compatibility, compatibility check), then delete what it made.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/elasticsearch.sh"
source "$(dirname "${BASH_SOURCE[0]}")/search-nodes.sh"
load_ports
load_es_port

SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

failed=0
line() { printf '%-18s %-5s %-45s %s\n' "$@"; }

# Kafka: our process is alive and the broker port accepts connections.
if pid=$(component_pid kafka) && port_open "$KAFKA_PORT"; then
  line kafka up "$KAFKA_BROKERS (controller :$KAFKA_CONTROLLER_PORT)" "pid $pid, rss $(rss_mib "$pid") MiB"
elif [[ -n "${pid:-}" ]]; then
  line kafka down "$KAFKA_BROKERS" "pid $pid is running but the port is closed (starting?)"; failed=1
else
  line kafka down "$KAFKA_BROKERS" ""; failed=1
fi
pid=""

# Registry: our process is alive and the Confluent-compatible API answers 200.
if pid=$(component_pid registry) && http_ok "$REGISTRY_URL/subjects"; then
  line registry up "$REGISTRY_URL" "pid $pid, rss $(rss_mib "$pid") MiB"
elif [[ -n "${pid:-}" ]]; then
  line registry down "$REGISTRY_URL" "pid $pid is running but $REGISTRY_API_PATH/subjects does not answer 200"; failed=1
else
  line registry down "$REGISTRY_URL" ""; failed=1
fi

# S3Proxy: our process is alive and the S3 API answers (403 without credentials).
if pid=$(component_pid s3proxy) && [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$S3_URL/" 2>/dev/null)" =~ ^[2-4] ]]; then
  line s3proxy up "$S3_URL" "pid $pid, rss $(rss_mib "$pid") MiB"
else
  line s3proxy down "$S3_URL" "${pid:+pid $pid is running but the S3 API does not answer}"; failed=1
fi
pid=""
# Elasticsearch: unless up.sh was told to leave it out.
if [[ "${INFRA_ELASTICSEARCH:-1}" == 1 ]]; then status_elasticsearch || failed=1; fi
# Extra search nodes: those INFRA_SEARCH names.
while IFS= read -r node; do status_search_node "$node" || failed=1; done < <(search_nodes_wanted)

if (( failed )); then
  [[ "$SMOKE" == 1 ]] && log "smoke test skipped: not everything is up"
  exit 1
fi
(( SMOKE )) || exit 0

# --- smoke test ----------------------------------------------------------------------------------
fetch_kafka
ok()   { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; failed=1; }
echo "smoke:"

# Kafka: create a topic, produce one record, consume it back, delete the topic.
topic="infra-dev-smoke-$(date +%s)-$$"
payload="hello from infra/dev/status.sh $$"
if kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BROKERS" \
     --create --topic "$topic" --partitions 1 --replication-factor 1 > /dev/null; then
  ok "kafka: created topic $topic"
  if printf '%s\n' "$payload" | kafka_tool org.apache.kafka.tools.ConsoleProducer \
       --bootstrap-server "$KAFKA_BROKERS" --topic "$topic" > /dev/null; then
    ok "kafka: produced 1 record"
    got="$(kafka_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KAFKA_BROKERS" \
             --topic "$topic" --from-beginning --max-messages 1 --timeout-ms 30000 2>/dev/null || true)"
    if [[ "$got" == "$payload" ]]; then ok "kafka: consumed it back"; else fail "kafka: consumed '$got', expected '$payload'"; fi
  else
    fail "kafka: produce failed"
  fi
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BROKERS" \
    --delete --topic "$topic" > /dev/null || fail "kafka: could not delete $topic"
else
  fail "kafka: could not create topic $topic"
fi

# Schema registry, Confluent API.
CT='Content-Type: application/vnd.schemaregistry.v1+json'
subject="infra-dev-smoke-$$-value"
api() { curl -sS --max-time 10 -H "$CT" "$@"; }
v1='{"type":"record","name":"Smoke","namespace":"dev.llmlogger.infra","fields":[{"name":"a","type":"string"}]}'
v2_ok='{"type":"record","name":"Smoke","namespace":"dev.llmlogger.infra","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}'
v2_bad='{"type":"record","name":"Smoke","namespace":"dev.llmlogger.infra","fields":[{"name":"a","type":"string"},{"name":"b","type":"int"}]}'
body() { printf '{"schema": "%s"}' "${1//\"/\\\"}"; }

resp="$(api -X POST --data "$(body "$v1")" "$REGISTRY_URL/subjects/$subject/versions")"
id="$(grep -o '"id":[0-9]*' <<<"$resp" | cut -d: -f2 || true)"
if [[ -n "$id" ]]; then ok "registry: POST /subjects/$subject/versions -> id $id"; else fail "registry: register returned $resp"; fi
resp="$(api "$REGISTRY_URL/schemas/ids/${id:-0}")"
if grep -q '"schema"' <<<"$resp" && grep -q 'Smoke' <<<"$resp"; then ok "registry: GET /schemas/ids/$id"; else fail "registry: get by id returned $resp"; fi
resp="$(api -X PUT --data '{"compatibility":"BACKWARD"}' "$REGISTRY_URL/config/$subject")"
if grep -q '"compatibility":"BACKWARD"' <<<"$resp"; then ok "registry: PUT /config/$subject BACKWARD"; else fail "registry: set compatibility returned $resp"; fi
resp="$(api -X POST --data "$(body "$v2_ok")" "$REGISTRY_URL/compatibility/subjects/$subject/versions/latest")"
if grep -q '"is_compatible":true' <<<"$resp"; then ok "registry: compatible change accepted"; else fail "registry: compatible check returned $resp"; fi
resp="$(api -X POST --data "$(body "$v2_bad")" "$REGISTRY_URL/compatibility/subjects/$subject/versions/latest")"
if grep -q '"is_compatible":false' <<<"$resp"; then ok "registry: incompatible change refused"; else fail "registry: incompatible check returned $resp"; fi
api -X DELETE "$REGISTRY_URL/subjects/$subject" > /dev/null || true
api -X DELETE "$REGISTRY_URL/subjects/$subject?permanent=true" > /dev/null || fail "registry: could not delete $subject"

exit "$failed"
