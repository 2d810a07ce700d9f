// Package demo holds the seed's experiment as Kubernetes manifests, embedded
// so the lab runs them from any directory and a cluster gets the very same
// files, one stage at a time (kubectl apply -f demo/foo-service.yaml -f
// demo/foo-1.0.1.yaml, then -f demo/foo-1.0.2.yaml): both stages are the
// one Deployment, so applying the directory would skip stage 1.
//
// The manifests are the seed blog post's, field for field and number for
// number, with only the image changed to ours.
package demo

import (
	"embed"
	"fmt"
)

// FS holds every manifest of the demo.
//
//go:embed *.yaml
var FS embed.FS

// The files, one per stage of the seed's experiment.
const (
	// Stage1 is the Deployment at 1.0.1: START_WAIT_SECS 15, CRASH_FACTOR 40.
	Stage1 = "foo-1.0.1.yaml"
	// Stage2 is the Deployment at 1.0.2: HEALTH_STATUS_FACTOR 40 and a
	// liveness probe every 3 s with failureThreshold 2.
	Stage2 = "foo-1.0.2.yaml"
	// Service is the NodePort Service on port 30080.
	Service = "foo-service.yaml"
)

// Image is the image the manifests run.
const Image = "ghcr.io/proberctl/proberctl:latest"

// File returns one embedded manifest by name.
func File(name string) ([]byte, error) {
	b, err := FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("demo manifest %q: %w", name, err)
	}
	return b, nil
}

// FirstStage returns what the seed applies first: the Service and the
// Deployment at 1.0.1, in that order.
func FirstStage() [][]byte { return must(Service, Stage1) }

// SecondStage returns the rolling update to 1.0.2.
func SecondStage() [][]byte { return must(Stage2) }

func must(names ...string) [][]byte {
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := File(n)
		if err != nil {
			panic(err) // the files are embedded at build time: a missing one is a build bug
		}
		out = append(out, b)
	}
	return out
}
