#!/usr/bin/env bash
# Run the seed's experiment on a kind cluster: build the image, load it into
# the cluster, apply a stage.
#
#   demo/kind.sh        stage 1: the Service and prober-foo 1.0.1 (CRASH_FACTOR 40)
#   demo/kind.sh 2      stage 2: the rolling update to 1.0.2 (HEALTH_STATUS_FACTOR 40)
#
# Needs docker, kind and kubectl. Creates the cluster "proberctl" (node port
# 30080 mapped to localhost:30080) unless it exists; KIND_CLUSTER picks another.
set -euo pipefail

stage="${1:-1}"
cluster="${KIND_CLUSTER:-proberctl}"
image="ghcr.io/proberctl/proberctl:latest"
root="$(cd "$(dirname "$0")/.." && pwd)"

for tool in docker kind kubectl; do
	command -v "$tool" >/dev/null || { echo "kind.sh: $tool is not installed" >&2; exit 1; }
done
case "$stage" in
1) manifest="$root/demo/foo-1.0.1.yaml" ;;
2) manifest="$root/demo/foo-1.0.2.yaml" ;;
*) echo "kind.sh: unknown stage '$stage'; want 1 or 2" >&2; exit 2 ;;
esac

if ! kind get clusters | grep -qx "$cluster"; then
	kind create cluster --name "$cluster" --config=- <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  extraPortMappings:
  - containerPort: 30080
    hostPort: 30080
YAML
fi
kubectl config use-context "kind-$cluster" >/dev/null

docker build -t "$image" \
	--build-arg VERSION="$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)" \
	--build-arg COMMIT="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--build-arg DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	"$root"
kind load docker-image "$image" --name "$cluster"

# The manifests are the seed's, so they carry no imagePullPolicy, and for a
# :latest tag Kubernetes then pulls Always, which would fetch the registry's
# image instead of the one just loaded. Apply them with IfNotPresent added on
# the fly; the files stay the seed's.
kubectl apply -f "$root/demo/foo-service.yaml"
kubectl patch --local -f "$manifest" --type=json -o yaml \
	-p '[{"op":"add","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]' |
	kubectl apply -f -

echo
echo "Applied stage $stage. Watch it heal:"
echo "  kubectl get pods -w                       (or: go run . tui)"
echo "  curl localhost:30080/ ; curl localhost:30080/healthz ; curl localhost:30080/crash"
