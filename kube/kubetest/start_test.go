package kubetest

import (
	"os"
	"testing"
	"time"
)

// BenchmarkStart measures a warm start, etcd and kube-apiserver from launch
// to a passing /readyz (start-s/op), and the stop that follows (stop-s/op).
// BENCHMARKS.md records it.
func BenchmarkStart(b *testing.B) {
	bin := binaries(b)
	var starting, stopping time.Duration
	for b.Loop() {
		t0 := time.Now()
		env, err := start(bin)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := env.Stop(); err != nil {
			b.Fatal(err)
		}
		starting += t1.Sub(t0)
		stopping += time.Since(t1)
		if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
			b.Fatalf("%s left behind after Stop: %v", env.Dir, err)
		}
	}
	b.ReportMetric(starting.Seconds()/float64(b.N), "start-s/op")
	b.ReportMetric(stopping.Seconds()/float64(b.N), "stop-s/op")
}
