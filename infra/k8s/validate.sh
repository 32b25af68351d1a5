#!/usr/bin/env bash
# Lints the Helm chart (infra/helm/llm-logger), renders it with `helm template` for its
# default values, values-dev.yaml and values-prod.yaml, renders strimzi/ with kustomize, and
# validates every resource with kubeconform against the schemas stored in infra/k8s/schemas/
# (Kubernetes, Strimzi, KEDA, ECK, Gateway API, Prometheus Operator): no cluster and no network.
#
#   bash infra/k8s/validate.sh            # npm run k8s:validate
#   bash infra/k8s/validate.sh --install  # first build the tools with `go install` (Go module proxy)
#   bash infra/k8s/validate.sh --install-only  # only build them (CI, before the tests)
#   bash infra/k8s/validate.sh --render strimzi                       # print a rendered kustomization
#   bash infra/k8s/validate.sh --render-chart prod [--set k=v ...]    # print the chart rendered with values-prod.yaml
#                                                                     # (default, dev or prod; more helm flags may follow)
#
# Tools: $KUSTOMIZE, $KUBECONFORM and $HELM if set, else <cache>/k8s-tools/bin, where
# <cache> is $INFRA_CACHE_DIR or .cache/ in the repository.
# Exit codes: 0 valid, 1 invalid, 3 a tool is missing (and --install not given).
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2    # v5.8.3 needs Go >= 1.27
KUBECONFORM_VERSION=v0.8.0
HELM_VERSION=v3.21.4        # helm.sh/helm/v3; v3.22.0 is served but not approved here
KUBERNETES_VERSION=1.35.4   # the version of infra/k8s/schemas/kubernetes-v*/

K8S_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$K8S_DIR/../.." && pwd)"
TOOLS_BIN="${INFRA_CACHE_DIR:-$REPO_DIR/.cache}/k8s-tools/bin"
SCHEMAS="$K8S_DIR/schemas"
CHART="$REPO_DIR/infra/helm/llm-logger"
RELEASE=llm-logger

install=0
install_only=0
render=
render_chart=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --install) install=1 ;;
    --install-only) install=1; install_only=1 ;;
    --render) render="${2:?--render needs a directory}"; shift ;;
    --render-chart) render_chart="${2:?--render-chart needs default, dev or prod}"; shift; shift; break ;;
    *) echo "validate: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

tool() { # name env-override module version
  local name=$1 override=$2 module=$3 version=$4 bin
  if [[ -n "$override" ]]; then echo "$override"; return; fi
  bin="$TOOLS_BIN/$name"
  # The version is part of the path, so a version bump rebuilds the tool.
  if [[ -x "$bin-$version" ]]; then echo "$bin-$version"; return; fi
  if [[ $install -eq 1 ]]; then
    command -v go >/dev/null || { echo "validate: go is needed to install $name" >&2; exit 3; }
    echo "validate: go install $module@$version" >&2
    mkdir -p "$TOOLS_BIN"
    GOBIN="$TOOLS_BIN" GOFLAGS=-buildvcs=false go install "$module@$version" >&2
    mv "$bin" "$bin-$version"
    echo "$bin-$version"
    return
  fi
  echo "validate: $name $version not found in $TOOLS_BIN (run with --install, or set ${name^^})" >&2
  exit 3
}

kustomize=$(tool kustomize "${KUSTOMIZE:-}" sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION")
if [[ -n "$render" ]]; then exec "$kustomize" build "$render"; fi
helm=$(tool helm "${HELM:-}" helm.sh/helm/v3/cmd/helm "$HELM_VERSION")

# The chart reads strimzi/, infra/kibana and infra/monitoring through links under files/:
# helm says so on stderr for each; only that note is dropped, every other message is kept.
chart() { # values-name [helm flags...]
  local values=$1 err rc=0; shift
  local -a flags=(--namespace "$RELEASE" --kube-version "$KUBERNETES_VERSION")
  [[ "$values" == default ]] || flags+=(-f "$CHART/values-$values.yaml")
  err="$(mktemp)"
  "$helm" template "$RELEASE" "$CHART" "${flags[@]}" "$@" 2>"$err" || rc=$?
  grep -v 'found symbolic link in path' "$err" >&2 || true
  rm -f "$err"
  return "$rc"
}
if [[ -n "$render_chart" ]]; then chart "$render_chart" "$@"; exit $?; fi
kubeconform=$(tool kubeconform "${KUBECONFORM:-}" github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")
[[ $install_only -eq 1 ]] && exit 0

validate() { # name (manifests on stdin)
  # -strict: duplicate keys are errors; the stored schemas refuse unknown fields.
  # No -ignore-missing-schemas: a kind without a stored schema is an error.
  "$kubeconform" -strict -summary -output text \
    -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$SCHEMAS/kubernetes-v$KUBERNETES_VERSION/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    - 2>&1 | sed "s|^|$1: |"
  return "${PIPESTATUS[0]}"
}

status=0
lint_rc=0
lint="$("$helm" lint "$CHART" --strict --kube-version "$KUBERNETES_VERSION" 2>&1)" || lint_rc=$?
printf '%s\n' "$lint" | grep -v 'found symbolic link in path' | sed 's|^|helm lint: |' || true
[[ $lint_rc -eq 0 ]] || status=1
for values in default dev prod; do
  name="infra/helm/llm-logger ($values)"
  if ! rendered="$(chart "$values")"; then
    echo "validate: $name: helm template failed" >&2
    status=1
    continue
  fi
  printf '%s\n' "$rendered" | validate "$name" || status=1
done
if rendered="$("$kustomize" build "$REPO_DIR/strimzi")"; then
  printf '%s\n' "$rendered" | validate strimzi || status=1
else
  echo "validate: strimzi: kustomize build failed" >&2
  status=1
fi
exit $status
