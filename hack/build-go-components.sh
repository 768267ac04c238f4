#!/usr/bin/env bash
# Builds the real Kubernetes components (and the Go tools the tests need) from their Go modules,
# pinned by the wrapper modules under hack/go/, into a cache folder outside the repository.
# A warm cache skips everything; a cold one builds once (many minutes on 2 cores).
#
# Usage: hack/build-go-components.sh [component...]   (default: all)
# Prints the binary folder of each component on the last lines as NAME=DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${CSI_SIDECARS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/csi-sidecars-ts}"

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<'EOF'
error: the Go toolchain (go 1.26 or newer) is needed to build the local control plane.
Install it from your distribution or https://go.dev/dl/ and make sure `go` is on PATH.
EOF
  exit 127
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOMODCACHE="$cache_root/go/mod" GOCACHE="$cache_root/go/build"
mkdir -p "$GOMODCACHE" "$GOCACHE"

# name | wrapper dir | version key (changes => rebuild) | packages | ldflags [| opt]
# "opt" components are built only when named on the command line.
components=(
  "kubernetes|kubernetes|k8s-v1.36.3|k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler|-X k8s.io/component-base/version.gitVersion=v1.36.3 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/client-go/pkg/version.gitVersion=v1.36.3"
  "etcd|etcd|etcd-v3.6.16|go.etcd.io/etcd/server/v3|"
  "csi-test|csi-test|csi-test-v5.4.0|github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity|"
  "csi-plugin|csi-mock-plugin|csi-mock-plugin-k8s-v1.36.3|csi-sidecars-ts.local/hack/csi-mock-plugin/cmd/csi-mock-plugin|"
  # helm v3, for linting and rendering charts/csi-sidecars in the packaging specs.
  "helm|helm|helm-v3.22.0|helm.sh/helm/v3/cmd/helm|-X helm.sh/helm/v3/internal/version.version=v3.22.0 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36|"
  # The real Go sidecars, for the side-by-side benchmark only (npm run bench); not built by default.
  "go-provisioner|go-provisioner|external-provisioner-v6.3.0|github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner|-X main.version=v6.3.0|opt"
  "go-attacher|go-attacher|external-attacher-v4.12.0|github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher|-X main.version=v4.12.0|opt"
  "go-resizer|go-resizer|external-resizer-v2.2.0|github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer|-X main.version=v2.2.0|opt"
)

# Modules only downloaded (their files are read): name | wrapper dir
sources=(
  "csi-spec|csi-spec"
  "snapshot-crds|snapshotter"
)

fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

build_one() {
  local name="$1" dir="$2" key="$3" pkgs="$4" ldflags="$5"
  local out="$cache_root/bin/$key"
  # The wrapper's go.mod and go.sum are part of the key: editing them rebuilds.
  local sum
  sum=$(cat "$here/go/$dir/go.mod" "$here/go/$dir/go.sum" 2>/dev/null | sha256sum | cut -c1-12)
  out="$out-$sum"
  if [ -f "$out/.complete" ]; then
    echo "[go-build] $name: cached in $out" >&2
    echo "$name=$out"
    return 0
  fi
  mkdir -p "$out"
  echo "[go-build] $name: building $pkgs (cold builds take minutes; progress every 30s)" >&2
  local start=$SECONDS log="$out/build.log"
  (
    cd "$here/go/$dir"
    # shellcheck disable=SC2086
    go build -trimpath -ldflags "-s -w $ldflags" -o "$out/" $pkgs
  ) >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    local t=$((SECONDS - start))
    if [ $((t % 30)) -lt 2 ] && [ "$t" -ge 30 ]; then
      echo "[go-build] $name: still building, $(fmt_secs "$t") so far" >&2
    fi
  done
  if ! wait "$pid"; then
    echo "[go-build] $name: FAILED after $(fmt_secs $((SECONDS - start))); log: $log" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  touch "$out/.complete"
  echo "[go-build] $name: built in $(fmt_secs $((SECONDS - start)))" >&2
  echo "$name=$out"
}

fetch_source() {
  local name="$1" dir="$2" mod
  mod=$(awk '/^require /{print $2}' "$here/go/$dir/go.mod")
  local out
  out=$(cd "$here/go/$dir" && go mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  if [ -z "$out" ]; then
    echo "[go-build] $name: could not download $mod" >&2
    return 1
  fi
  echo "[go-build] $name: $mod in $out" >&2
  echo "$name=$out"
}

wanted=("$@")
total_start=$SECONDS
for c in "${components[@]}"; do
  IFS='|' read -r name dir key pkgs ldflags opt <<<"$c"
  if [ ${#wanted[@]} -eq 0 ] && [ "$opt" = opt ]; then continue; fi
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  build_one "$name" "$dir" "$key" "$pkgs" "$ldflags"
done
for c in "${sources[@]}"; do
  IFS='|' read -r name dir <<<"$c"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  fetch_source "$name" "$dir"
done
echo "[go-build] all requested components ready in $(fmt_secs $((SECONDS - total_start)))" >&2
