# shellcheck shell=bash
# Elasticsearch for the audit index: fetch, start, wait, stop. Sourced by up.sh, down.sh and
# status.sh (after lib.sh), not run. One node, 127.0.0.1 only, small heap.
#   INFRA_ELASTICSEARCH_PORT        HTTP port                    (default 9200; transport: first free from 9300)
#   INFRA_ELASTICSEARCH_HEAP_OPTS   default "-Xms384m -Xmx384m"
#   INFRA_ELASTICSEARCH=0           do not start it (the audit-index suites then skip)
#   INFRA_ELASTICSEARCH_JAVA_HOME   a JDK/JRE 11-21 (default: java on PATH, else /usr/lib/jvm/*)

ES_RUN="$RUN_DIR/elasticsearch"

load_es_port() {
  local rec=""
  [[ -f "$STATE_FILE" ]] && rec=$(sed -n 's/^ELASTICSEARCH_PORT=//p' "$STATE_FILE")
  ES_PORT="${INFRA_ELASTICSEARCH_PORT:-${rec:-9200}}"
  ES_URL="http://$HOST:$ES_PORT"
}

# Sets ES_LIBS (the cluster runner's classpath).
fetch_elasticsearch() {
  local pom="$INFRA_DEV_DIR/elasticsearch/pom.xml" dir
  dir="$(cache_dir_for elasticsearch "$pom" elasticsearch.version)"
  ES_LIBS="$dir/libs"
  [[ -f "$dir/.complete" ]] && return 0
  local t0; t0=$(now)
  log "fetching Elasticsearch jars from Maven Central into ${dir#"$REPO_ROOT"/} (first run only) ..."
  rm -rf "$dir"
  mkdir -p "$dir"
  mvn_fetch "$pom" "$dir/libs.tmp"
  mv "$dir/libs.tmp" "$ES_LIBS"
  touch "$dir/.complete"
  prune_cache elasticsearch "$dir"
  log "Elasticsearch jars fetched in $(since "$t0")s ($(ls "$ES_LIBS" | wc -l) jars)"
}

es_java() {
  local cand major
  local -a cands=()
  [[ -n "${INFRA_ELASTICSEARCH_JAVA_HOME:-}" ]] && cands+=("$INFRA_ELASTICSEARCH_JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && cands+=("$(command -v java)")
  while IFS= read -r cand; do cands+=("$cand"); done < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -V)
  for cand in "${cands[@]}"; do
    [[ -x "$cand" ]] || continue
    major="$(java_major "$cand")"
    if [[ -n "$major" && "$major" -ge 11 && "$major" -le 21 ]]; then printf '%s\n' "$cand"; return 0; fi
  done
  return 1
}

start_elasticsearch() {
  local java pid
  if pid=$(component_pid elasticsearch); then
    log "elasticsearch: already running (pid $pid) on $ES_URL"
    return 0
  fi
  # 7.10 needs Java 11 to 21: it installs a security manager, which Java 24 removed.
  java="$(es_java)" || die "Elasticsearch 7.10 needs a Java from 11 to 21 (set INFRA_ELASTICSEARCH_JAVA_HOME)"
  port_open "$ES_PORT" && die "port $HOST:$ES_PORT is taken by another process (set INFRA_ELASTICSEARCH_PORT)"
  mkdir -p "$ES_RUN/tmp"
  local -a heap
  read -ra heap <<< "${INFRA_ELASTICSEARCH_HEAP_OPTS:--Xms384m -Xmx384m}"
  log "elasticsearch: starting on $ES_URL, $("$java" -version 2>&1 | head -1)"
  ES_T0=$(now)
  (
    cd "$ES_RUN"
    exec 9>&-
    # The runner numbers nodes from 1 and adds that to the base port.
    exec setsid "$java" "${heap[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Djava.io.tmpdir="$ES_RUN/tmp" \
      -Des.networkaddress.cache.ttl=60 -Dlog4j2.formatMsgNoLookups=true \
      "$(marker elasticsearch)" \
      -cp "$ES_LIBS/*" org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner \
      -basePath "$ES_RUN/cluster" -numOfNode 1 -baseHttpPort $((ES_PORT - 1)) -clusterName llm-logger-dev
  ) > "$ES_RUN/elasticsearch.log" 2>&1 < /dev/null &
  echo $! > "$(pid_file elasticsearch)"
}

wait_elasticsearch() {
  [[ -n "${ES_T0:-}" ]] || return 0
  wait_ready elasticsearch "$ES_RUN/elasticsearch.log" 0.5 http_ok "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s"
  # A dev disk that is 90% full must not turn every index read-only.
  curl -fsS -o /dev/null --max-time 10 -X PUT -H 'content-type: application/json' "$ES_URL/_cluster/settings" \
    -d '{"persistent":{"cluster.routing.allocation.disk.threshold_enabled":false}}' \
    || log "elasticsearch: could not turn off the disk watermarks"
  log "elasticsearch: ready in $(since "$ES_T0")s (pid $(cat "$(pid_file elasticsearch)"))"
}

status_elasticsearch() {  # prints one status line; returns 1 when down
  local pid
  if pid=$(component_pid elasticsearch) && http_ok "$ES_URL/_cluster/health"; then
    line elasticsearch up "$ES_URL" "pid $pid, rss $(rss_mib "$pid") MiB"
  elif [[ -n "${pid:-}" ]]; then
    line elasticsearch down "$ES_URL" "pid $pid is running but /_cluster/health does not answer (starting?)"; return 1
  else
    line elasticsearch down "$ES_URL" ""; return 1
  fi
}
