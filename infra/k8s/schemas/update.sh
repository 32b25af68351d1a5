#!/usr/bin/env bash
# Regenerates infra/k8s/schemas/ from its sources (README.md):
#   bash infra/k8s/schemas/update.sh <dir holding strimzi-1.2.0/ keda-2.20.2/ eck-3.5.0/ CRD folders>
# The Kubernetes swagger comes from the k8s.io/kubernetes module zip on the Go
# module proxy (the first entry of `go env GOPROXY`).
set -euo pipefail
SCHEMAS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCHEMAS_DIR/../../.." && pwd)"
CRDS_DIR="${1:?usage: update.sh <CRD folder>}"
VERSION="$(node -p "require('$SCHEMAS_DIR/sources.json').kubernetes.version")"
CACHE="${INFRA_CACHE_DIR:-$REPO_DIR/.cache}/k8s-src"
ZIP="$CACHE/kubernetes-v$VERSION.zip"
mkdir -p "$CACHE"
if [[ ! -f "$ZIP" ]]; then
  proxy="$(go env GOPROXY | cut -d, -f1)"
  curl -fsSL -o "$ZIP.part" "$proxy/k8s.io/kubernetes/@v/v$VERSION.zip"
  mv "$ZIP.part" "$ZIP"
fi
unzip -o -q -j "$ZIP" "k8s.io/kubernetes@v$VERSION/api/openapi-spec/swagger.json" -d "$CACHE"
cd "$REPO_DIR"
npx tsc -p tsconfig.build.json
node dist/infra/k8s/tools/generate-schemas.js --swagger "$CACHE/swagger.json" --crds "$CRDS_DIR"
