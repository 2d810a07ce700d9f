// Command kube-apiserver is the upstream Kubernetes API server, built from the
// published k8s.io/kubernetes module so proberctl's integration tests can run
// against a real apiserver without a cluster, Docker or a downloaded binary.
//
// It mirrors k8s.io/kubernetes cmd/kube-apiserver/apiserver.go.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream registers them
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream registers it
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
