#!/usr/bin/env bash
# Regenerates infra/k8s/schemas/ from its sources (README.md, sources.json):
#   bash infra/k8s/schemas/update.sh <dir holding strimzi-1.2.0/ keda-2.20.2/ eck-3.5.0/ CRD folders>
# The Kubernetes swagger comes from the k8s.io/kubernetes module zip on the Go module proxy (the
# first entry of `go env GOPROXY`). CRDs of sources with a "goModule" (Gateway API, Prometheus
# Operator: both Go modules that ship their CRDs) come from `go mod download` of that module.
set -euo pipefail
SCHEMAS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCHEMAS_DIR/../../.." && pwd)"
CRDS_DIR="$(cd "${1:?usage: update.sh <CRD folder>}" && pwd)"
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

# One folder of CRD folders: the given one's, plus each Go module's CRD folder.
ALL="$CACHE/crds"
rm -rf "$ALL" && mkdir -p "$ALL"
for d in "$CRDS_DIR"/*/; do ln -s "${d%/}" "$ALL/$(basename "$d")"; done
while IFS=$'\t' read -r dir module sub; do
  [[ -n "$module" ]] || continue
  moddir="$(cd "$CACHE" && go mod download -json "$module" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
  ln -sfn "$moddir/$sub" "$ALL/$dir"
done < <(node -e "for (const c of require('$SCHEMAS_DIR/sources.json').crds) console.log([c.dir, c.goModule ?? '', c.moduleDir ?? ''].join('\t'))")

cd "$REPO_DIR"
npx tsc -p tsconfig.build.json
node dist/infra/k8s/tools/generate-schemas.js --swagger "$CACHE/swagger.json" --crds "$ALL"
