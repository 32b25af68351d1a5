#!/usr/bin/env bash
# Renders every kustomization of infra/k8s (base, overlays) and strimzi/ with
# kustomize, and validates every resource with kubeconform against the
# schemas stored in infra/k8s/schemas/ (Kubernetes, Strimzi, KEDA, ECK): no
# cluster and no network needed.
#
#   bash infra/k8s/validate.sh            # npm run k8s:validate
#   bash infra/k8s/validate.sh --install  # first build the tools with `go install` (Go module proxy)
#   bash infra/k8s/validate.sh --install-only  # only build them (CI, before the tests)
#   bash infra/k8s/validate.sh --render infra/k8s/overlays/prod  # print one rendered kustomization
#
# Tools: $KUSTOMIZE and $KUBECONFORM if set, else <cache>/k8s-tools/bin, where
# <cache> is $INFRA_CACHE_DIR or .cache/ in the repository.
# Exit codes: 0 valid, 1 invalid, 3 a tool is missing (and --install not given).
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2    # v5.8.3 needs Go >= 1.27
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VERSION=1.35.4   # the version of infra/k8s/schemas/kubernetes-v*/

K8S_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$K8S_DIR/../.." && pwd)"
TOOLS_BIN="${INFRA_CACHE_DIR:-$REPO_DIR/.cache}/k8s-tools/bin"
SCHEMAS="$K8S_DIR/schemas"

install=0
install_only=0
render=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --install) install=1 ;;
    --install-only) install=1; install_only=1 ;;
    --render) render="${2:?--render needs a directory}"; shift ;;
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
kubeconform=$(tool kubeconform "${KUBECONFORM:-}" github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")
[[ $install_only -eq 1 ]] && exit 0

status=0
for dir in "$K8S_DIR/base" "$REPO_DIR/strimzi" "$K8S_DIR"/overlays/*/; do
  dir="${dir%/}"
  name="${dir#"$REPO_DIR"/}"
  if ! rendered="$("$kustomize" build "$dir")"; then
    echo "validate: $name: kustomize build failed" >&2
    status=1
    continue
  fi
  # -strict: duplicate keys are errors; the stored schemas refuse unknown fields.
  # No -ignore-missing-schemas: a kind without a stored schema is an error.
  if printf '%s\n' "$rendered" | "$kubeconform" -strict -summary -output text \
    -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$SCHEMAS/kubernetes-v$KUBERNETES_VERSION/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    - 2>&1 | sed "s|^|$name: |"; then
    [[ ${PIPESTATUS[1]} -eq 0 ]] || status=1
  else
    status=1
  fi
done
exit $status
