#!/usr/bin/env bash
# Stops what infra/dev/up.sh started: SIGTERM (Kafka does a controlled shutdown), then SIGKILL
# if a process is still there after its grace period. Idempotent. Data and logs are kept in
# infra/dev/.run; to start from scratch: infra/dev/down.sh && rm -rf infra/dev/.run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/search-nodes.sh"

if [[ ! -d "$RUN_DIR" ]]; then
  log "nothing to stop (no ${RUN_DIR#"$REPO_ROOT"/})"
  exit 0
fi
exec 9>"$RUN_DIR/.lock"
flock -w 300 9 || die "another infra/dev up.sh or down.sh is still running"

T0=$(now)
# `down.sh kafka` (or `registry`) stops one component only, e.g. to test an outage;
# `up.sh` starts it again.
if [[ $# -gt 0 ]]; then
  case "$1" in
    kafka) stop_component kafka 60 ;;
    registry) stop_component registry 20 ;;
    s3proxy) stop_component s3proxy 10 ;;
    elasticsearch) stop_component elasticsearch 30 ;;
    opensearch-*|elasticsearch-*) search_node_spec "$1"; stop_component "$1" 30 ;;
    *) die "unknown component '$1' (kafka, registry, s3proxy, elasticsearch or ${SEARCH_NODES[*]})" ;;
  esac
  log "$1 down in $(since "$T0")s"
  exit 0
fi
# Both stops run in parallel; the registry does not depend on Kafka.
stop_component registry 20 &
reg_job=$!
stop_component s3proxy 10 &
s3_job=$!
stop_component elasticsearch 30 &
es_job=$!
for node in "${SEARCH_NODES[@]}"; do stop_component "$node" 30; done
stop_component kafka 60
wait "$reg_job"
wait "$s3_job"
wait "$es_job"
rm -f "$ENV_FILE" "$STATE_FILE"
log "down in $(since "$T0")s"
