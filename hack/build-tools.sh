#!/usr/bin/env bash
# Builds the pinned development tools into bin/ from the Go module proxy.
#
#   hack/build-tools.sh controller-gen kube-apiserver etcd kubectl ...
#
# A tool is rebuilt only when it is missing or its pin changed: each binary
# has a stamp in bin/.stamps that hashes the pinning module (go.mod, go.sum),
# the build flags and the Go version.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
stamps="$bin/.stamps"
mkdir -p "$stamps"

kube_version=v1.36.3
version_pkg=k8s.io/component-base/version
kube_ldflags="-s -w -X $version_pkg.gitVersion=$kube_version -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=36 -X $version_pkg.gitTreeState=clean"

helm_version=v4.3.1
helm_ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
helm3_version=v3.22.0
# As helm's own release build does: the Kubernetes version `helm template` assumes follows
# its client-go (v0.37 -> 1.37); without these it assumes 1.20.
helm3_k8s="-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
helm3_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm3_version -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean $helm3_k8s"

# tool -> "module dir|package|ldflags|rough cold build time on 2 cores"
spec() {
  case "$1" in
    controller-gen) echo "hack/tools/controller-gen|sigs.k8s.io/controller-tools/cmd/controller-gen|-s -w|1 minute" ;;
    kube-apiserver) echo "hack/tools/kube|k8s.io/kubernetes/cmd/kube-apiserver|$kube_ldflags|9 minutes" ;;
    kube-controller-manager) echo "hack/tools/kube|k8s.io/kubernetes/cmd/kube-controller-manager|$kube_ldflags|4 minutes" ;;
    kubectl) echo "hack/tools/kube|k8s.io/kubernetes/cmd/kubectl|$kube_ldflags|3 minutes" ;;
    etcd) echo "hack/tools/etcd|.|-s -w|2 minutes" ;;
    helm) echo "hack/tools/helm|helm.sh/helm/v4/cmd/helm|$helm_ldflags|6 minutes" ;;
    helm3) echo "hack/tools/helm3|helm.sh/helm/v3/cmd/helm|$helm3_ldflags|6 minutes" ;;
    *) echo "unknown tool $1; known: controller-gen kube-apiserver kube-controller-manager kubectl etcd helm helm3" >&2; return 1 ;;
  esac
}

# want prints the stamp a tool's current pin should have.
want() {
  local dir pkg ldflags eta
  IFS='|' read -r dir pkg ldflags eta < <(spec "$1")
  { cat "$root/$dir/go.mod" "$root/$dir/go.sum"; echo "$pkg $ldflags"; go env GOVERSION; } | sha256sum | cut -d' ' -f1
}

current() {
  [[ -x "$bin/$1" && -f "$stamps/$1" && "$(cat "$stamps/$1")" == "$(want "$1")" ]]
}

# Say up front what a first run builds and roughly how long it takes.
missing=()
minutes=0
for tool in "$@"; do
  spec "$tool" >/dev/null
  if ! current "$tool"; then
    missing+=("$tool")
    eta=$(spec "$tool" | cut -d'|' -f4)
    minutes=$((minutes + ${eta%% *}))
  fi
done
if ((${#missing[@]} > 1)); then
  echo ">> building ${missing[*]} from source into bin/ (pinned Go modules): roughly $minutes minutes on 2 cores, once; later runs reuse them"
fi

for tool in "${missing[@]}"; do
  IFS='|' read -r dir pkg ldflags eta < <(spec "$tool")
  echo ">> building $tool from source (pinned in $dir); a cold build takes about $eta on 2 cores, later runs reuse it"
  start=$SECONDS
  (cd "$root/$dir" && go build -ldflags "$ldflags" -o "$bin/$tool.tmp" "$pkg")
  mv "$bin/$tool.tmp" "$bin/$tool"
  want "$tool" > "$stamps/$tool"
  echo ">> built bin/$tool in $((SECONDS - start))s"
done
