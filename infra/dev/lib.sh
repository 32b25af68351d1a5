# shellcheck shell=bash disable=SC2034,SC2012
# (SC2034: variables set here are used by the scripts that source this file.)
# Shared settings and helpers for infra/dev/{up,down,status,kafka}.sh. Sourced, not run.
#
# Everything listens on 127.0.0.1 only. Environment overrides:
#   INFRA_KAFKA_PORT               broker listener              (default 9092)
#   INFRA_KAFKA_CONTROLLER_PORT    KRaft controller listener    (default 9093)
#   INFRA_REGISTRY_PORT            schema registry HTTP API     (default 8081)
#   INFRA_REGISTRY_MANAGEMENT_PORT registry health/metrics      (default registry port + 10)
#   INFRA_S3_PORT                  S3Proxy S3 API               (default 9000)
#   INFRA_KAFKA_JAVA_HOME          JDK/JRE for Kafka            (default: java on PATH, >= 17)
#   INFRA_REGISTRY_JAVA_HOME       JDK/JRE for the registry     (default: first JDK found that is new enough)
#   INFRA_KAFKA_HEAP_OPTS          default "-Xms256m -Xmx512m"
#   INFRA_REGISTRY_HEAP_OPTS       default "-Xms128m -Xmx512m"
#   INFRA_START_TIMEOUT            seconds to wait for each component (default 120)
#   INFRA_CACHE_DIR                downloaded artifacts        (default <repo>/.cache/infra)
#   INFRA_RUN_DIR                  data, logs, pid files       (default infra/dev/.run)

INFRA_DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_DEV_DIR/../.." && pwd)"
CACHE_DIR="${INFRA_CACHE_DIR:-$REPO_ROOT/.cache/infra}"
RUN_DIR="${INFRA_RUN_DIR:-$INFRA_DEV_DIR/.run}"
STATE_FILE="$RUN_DIR/state.env"   # ports in use, written by up.sh
ENV_FILE="$RUN_DIR/env"           # LLM_LOGGER_* for the tests, written by up.sh

HOST=127.0.0.1
REGISTRY_API_PATH=/apis/ccompat/v7

# Ports: an explicit INFRA_* variable wins; otherwise what the running stack was started with
# (so `status.sh` after `INFRA_KAFKA_PORT=19092 up.sh` checks 19092; down.sh forgets them);
# otherwise the defaults.
load_ports() {
  local rec_kafka="" rec_ctrl="" rec_reg="" rec_mgmt=""
  if [[ -f "$STATE_FILE" ]]; then
    rec_kafka=$(sed -n 's/^KAFKA_PORT=//p' "$STATE_FILE")
    rec_ctrl=$(sed -n 's/^KAFKA_CONTROLLER_PORT=//p' "$STATE_FILE")
    rec_reg=$(sed -n 's/^REGISTRY_PORT=//p' "$STATE_FILE")
    rec_mgmt=$(sed -n 's/^REGISTRY_MANAGEMENT_PORT=//p' "$STATE_FILE")
  fi
  KAFKA_PORT="${INFRA_KAFKA_PORT:-${rec_kafka:-9092}}"
  KAFKA_CONTROLLER_PORT="${INFRA_KAFKA_CONTROLLER_PORT:-${rec_ctrl:-9093}}"
  REGISTRY_PORT="${INFRA_REGISTRY_PORT:-${rec_reg:-8081}}"
  if [[ -n "${INFRA_REGISTRY_PORT:-}" ]]; then rec_mgmt=""; fi   # derive it from the new port
  REGISTRY_MANAGEMENT_PORT="${INFRA_REGISTRY_MANAGEMENT_PORT:-${rec_mgmt:-$((REGISTRY_PORT + 10))}}"
  local rec_s3=""
  [[ -f "$STATE_FILE" ]] && rec_s3=$(sed -n 's/^S3_PORT=//p' "$STATE_FILE")
  S3_PORT="${INFRA_S3_PORT:-${rec_s3:-9000}}"
  S3_URL="http://$HOST:$S3_PORT"
  KAFKA_BROKERS="$HOST:$KAFKA_PORT"
  REGISTRY_URL="http://$HOST:$REGISTRY_PORT$REGISTRY_API_PATH"
}

log()  { printf '[infra] %s\n' "$*" >&2; }
die()  { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------
# Java

# Major version of a java binary (8, 11, 17, 21, 25, ...), empty if it does not run.
java_major() {
  "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

# find_java MIN_MAJOR [PREFERRED_HOME]: prints the path of a java binary >= MIN_MAJOR.
# Order: PREFERRED_HOME, JAVA_HOME, java on PATH, then /usr/lib/jvm/* (newest first).
find_java() {
  local min="$1" preferred="${2:-}" cand major
  local -a cands=()
  [[ -n "$preferred" ]] && cands+=("$preferred/bin/java")
  [[ -n "${JAVA_HOME:-}" ]] && cands+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && cands+=("$(command -v java)")
  if [[ -d /usr/lib/jvm ]]; then
    while IFS= read -r cand; do cands+=("$cand"); done < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV)
  fi
  for cand in "${cands[@]}"; do
    [[ -x "$cand" ]] || continue
    major="$(java_major "$cand")"
    if [[ -n "$major" && "$major" -ge "$min" ]]; then
      printf '%s\n' "$cand"
      return 0
    fi
  done
  return 1
}

# JVM options for a class-data-sharing archive of the server's classes (faster start from the
# second run on). Java >= 19 maintains it itself; on Java 17 the first run writes it when the
# server exits (down.sh) and later runs use it. A stale or foreign archive is ignored by the JVM.
# INFRA_CDS=0 turns this off.
cds_opts() {  # JAVA_BIN ARCHIVE_BASENAME_WITHOUT_EXTENSION
  local major archive
  [[ "${INFRA_CDS:-1}" == 1 ]] || return 0
  major="$(java_major "$1")"
  archive="$2-java$major.jsa"
  if (( major >= 19 )); then
    echo "-XX:+AutoCreateSharedArchive -XX:SharedArchiveFile=$archive"
  elif [[ -f "$archive" ]]; then
    echo "-XX:SharedArchiveFile=$archive"
  else
    echo "-XX:ArchiveClassesAtExit=$archive"
  fi
}

# ---------------------------------------------------------------------------------------------
# Artifacts (fetched once into $CACHE_DIR, in a folder named after the version and a hash of
# the pom, so that editing a pom fetches again on the next up)

# cache_dir_for NAME POM VERSION_PROPERTY: $CACHE_DIR/NAME-<version>-<hash of the pom>
cache_dir_for() {
  local version
  version="$(sed -n "s:.*<$3>\(.*\)</$3>.*:\1:p" "$2" | head -1)"
  printf '%s/%s-%s-%s' "$CACHE_DIR" "$1" "${version:-unknown}" "$(sha256sum "$2" | cut -c1-12)"
}

# After a successful fetch: remove what older versions of a pom left (the Maven repository
# keeps the downloads, so going back is a local copy).
prune_cache() {  # NAME KEEP_DIR
  local d
  for d in "$CACHE_DIR/$1"-*; do
    [[ -d "$d" && "$d" != "$2" ]] && rm -rf "$d"
  done
  return 0
}

# mvn with the local repository inside the cache, so a fresh machine needs no ~/.m2.
mvn_fetch() {
  local pom="$1" out="$2"
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed for the first run, to fetch artifacts from Maven Central"
  mkdir -p "$CACHE_DIR"
  mvn -B -f "$pom" -Dmaven.repo.local="$CACHE_DIR/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out" \
    > "$CACHE_DIR/fetch.log" 2>&1 \
    || { tail -n 40 "$CACHE_DIR/fetch.log" >&2; die "fetching with Maven failed (full log: $CACHE_DIR/fetch.log)"; }
}

# Sets KAFKA_LIBS (a folder of jars: the classpath of the Apache Kafka distribution).
fetch_kafka() {
  local pom="$INFRA_DEV_DIR/kafka/pom.xml" dir
  dir="$(cache_dir_for kafka "$pom" kafka.version)"
  KAFKA_LIBS="$dir/libs"
  [[ -f "$dir/.complete" ]] && return 0
  local t0; t0=$(now)
  log "fetching Kafka jars from Maven Central into ${dir#"$REPO_ROOT"/} (first run only) ..."
  rm -rf "$dir"
  mkdir -p "$dir"
  mvn_fetch "$pom" "$dir/libs.tmp"
  mv "$dir/libs.tmp" "$KAFKA_LIBS"
  touch "$dir/.complete"
  prune_cache kafka "$dir"
  log "Kafka jars fetched in $(since "$t0")s ($(ls "$KAFKA_LIBS" | wc -l) jars)"
}

# Sets REGISTRY_HOME (an unpacked Apicurio Registry distribution) and REGISTRY_JAVA_MIN.
fetch_registry() {
  local pom="$INFRA_DEV_DIR/registry/pom.xml" dir
  dir="$(cache_dir_for registry "$pom" apicurio.version)"
  REGISTRY_HOME="$dir/dist"
  if [[ ! -f "$dir/.complete" ]]; then
    local t0; t0=$(now)
    log "fetching Apicurio Registry from Maven Central into ${dir#"$REPO_ROOT"/} (first run only) ..."
    rm -rf "$dir"
    mkdir -p "$dir/dist.tmp"
    mvn_fetch "$pom" "$dir/download"
    tar -xzf "$dir"/download/apicurio-registry-app-*-all.tar.gz -C "$dir/dist.tmp"
    rm -rf "$dir/download"   # the archive stays in the Maven cache
    mv "$dir/dist.tmp" "$REGISTRY_HOME"
    # Which Java the distribution needs: class file major version - 44.
    local jar major
    jar="$(registry_app_jar)"
    major="$(class_major "$jar")" || die "cannot read the class version of $jar"
    echo $((major - 44)) > "$dir/java-min"
    touch "$dir/.complete"
    prune_cache registry "$dir"
    log "Apicurio Registry fetched in $(since "$t0")s (needs Java >= $(cat "$dir/java-min"))"
  fi
  REGISTRY_JAVA_MIN="$(cat "$dir/java-min")"
}

# The jar to run: Quarkus fast-jar (3.1+) or legacy runner jar (3.0.x).
registry_launcher() {
  if [[ -f "$REGISTRY_HOME/quarkus-run.jar" ]]; then
    echo "$REGISTRY_HOME/quarkus-run.jar"
  else
    ls "$REGISTRY_HOME"/*-runner.jar
  fi
}
registry_app_jar() {
  if [[ -d "$REGISTRY_HOME/app" ]]; then ls "$REGISTRY_HOME"/app/*.jar | head -1; else registry_launcher; fi
}

# Class file major version of the first io/apicurio class in a jar.
class_major() {
  python3 - "$1" <<'PY' 2>/dev/null || { command -v unzip >/dev/null && class_major_unzip "$1"; }
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.startswith("io/apicurio/") and n.endswith(".class"))
print(int.from_bytes(z.read(name)[6:8], "big"))
PY
}
class_major_unzip() {
  local name
  name="$(unzip -Z1 "$1" | grep -m1 '^io/apicurio/.*\.class$')"
  unzip -p "$1" "$name" | od -An -j6 -N2 -tu1 | awk '{ print $1 * 256 + $2 }'
}

# ---------------------------------------------------------------------------------------------
# Processes. Each JVM carries -Dllm_logger.infra=<component>@<run dir>: a pid file is only
# trusted if that process still has this marker (so a stale pid reused by something else is
# never signalled), and a lost pid file can be recovered from /proc.

marker() { printf -- '-Dllm_logger.infra=%s@%s' "$1" "$RUN_DIR"; }
pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

has_marker() {  # PID COMPONENT
  [[ -r "/proc/$1/cmdline" ]] && tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$(marker "$2")"
}

# Prints the pid of a running component, or returns 1.
component_pid() {
  local comp="$1" pid="" pf p
  pf="$(pid_file "$comp")"
  [[ -f "$pf" ]] && pid="$(cat "$pf" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && has_marker "$pid" "$comp"; then echo "$pid"; return 0; fi
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    if has_marker "$p" "$comp"; then echo "$p" > "$pf"; echo "$p"; return 0; fi
  done
  rm -f "$pf"
  return 1
}

rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || true; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

# Waits until CHECK... succeeds for a component just started (its pid in its pid
# file); dies showing the end of LOG if the process exits, or after TIMEOUT.
wait_ready() {  # COMPONENT LOG INTERVAL CHECK...
  local name="$1" logf="$2" interval="$3" pid deadline
  shift 3
  pid="$(cat "$(pid_file "$name")")"
  deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || {
      tail -n 30 "$logf" >&2 || true
      die "$name: exited during startup (log: ${logf#"$REPO_ROOT"/})"
    }
    (( $(date +%s) < deadline )) || die "$name: not ready after ${TIMEOUT}s (log: ${logf#"$REPO_ROOT"/})"
    sleep "$interval"
  done
}

# stop_component NAME GRACE_SECONDS: SIGTERM, wait, then SIGKILL.
stop_component() {
  local comp="$1" grace="$2" pid i
  if ! pid="$(component_pid "$comp")"; then
    log "$comp: not running"
    return 0
  fi
  log "$comp: stopping (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$comp: did not stop within ${grace}s, killing"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$(pid_file "$comp")"
  log "$comp: stopped"
}

# Runs one of Kafka's command-line tools from the cached jars (short-lived JVM, quiet logging).
kafka_tool() {
  local class="$1"; shift
  local java
  java="$(find_java 17 "${INFRA_KAFKA_JAVA_HOME:-}")" || die "no Java >= 17 found for the Kafka tools"
  mkdir -p "$RUN_DIR/kafka/tmp"
  "$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.level=warn -Djava.io.tmpdir="$RUN_DIR/kafka/tmp" \
    -cp "$KAFKA_LIBS/*" "$class" "$@"
}
