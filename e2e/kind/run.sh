#!/usr/bin/env bash
# The portable integration specs on a kind cluster, with the real csi-driver-host-path deployment
# whose Go csi-provisioner, csi-attacher and csi-resizer containers are swapped for ours: the
# drop-in test (same RBAC, same flags, only the images change).
#
# Needs: docker, kind, kubectl, git, network access. Cannot run on the project's build machines
# (no container engine there); see README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="${KIND_CLUSTER_NAME:-csi-sidecars-ts}"
tag="${IMAGE_TAG:-dev}"
hostpath_version="${HOSTPATH_VERSION:-v1.18.0}"
keep="${KEEP_CLUSTER:-}"

for tool in docker kind kubectl git; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed on PATH" >&2; exit 127; }
done

work="$(mktemp -d)"
cleanup() {
  rm -rf "$work"
  if [ -z "$keep" ]; then kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

echo "== kind cluster $cluster"
kind create cluster --name "$cluster" --config "$here/kind-config.yaml" --wait 120s
export KUBECONFIG="$work/kubeconfig"
kind get kubeconfig --name "$cluster" >"$KUBECONFIG"

echo "== images"
for sidecar in provisioner attacher resizer; do
  docker build --target "csi-$sidecar" -t "csi-sidecars-ts/csi-$sidecar:$tag" "$root"
  kind load docker-image --name "$cluster" "csi-sidecars-ts/csi-$sidecar:$tag"
done

echo "== snapshot CRDs and csi-driver-host-path $hostpath_version (upstream deployment)"
git clone --depth 1 --branch "$hostpath_version" https://github.com/kubernetes-csi/csi-driver-host-path "$work/hostpath"
snapshotter_version="$(sed -n 's/.*external-snapshotter\/client\/v[0-9]* \(v[0-9.]*\).*/\1/p' "$work/hostpath/go.mod" | head -n1)"
for crd in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
  kubectl apply -f "https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/${snapshotter_version:-v8.2.0}/client/config/crd/snapshot.storage.k8s.io_${crd}.yaml"
done
"$work/hostpath/deploy/kubernetes-latest/deploy.sh"

echo "== swap the Go sidecars for ours (nothing else changes)"
kubectl set image statefulset/csi-hostpathplugin \
  "csi-provisioner=csi-sidecars-ts/csi-provisioner:$tag" \
  "csi-attacher=csi-sidecars-ts/csi-attacher:$tag" \
  "csi-resizer=csi-sidecars-ts/csi-resizer:$tag"
kubectl rollout status statefulset/csi-hostpathplugin --timeout=180s

echo "== portable specs"
cd "$root"
npm ci
npm run build
CSI_E2E_EXTERNAL_KUBECONFIG="$KUBECONFIG" CSI_E2E_DRIVER_NAME=hostpath.csi.k8s.io \
  node_modules/.bin/node --experimental-vm-modules node_modules/jest/bin/jest.js \
  --config jest.integration.config.js e2e/specs/portable
