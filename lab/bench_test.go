package lab

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/proberctl/proberctl/kube"
)

// BenchmarkStartToFirstPod is "from proberctl lab to the first pod row on
// screen": lab.New and Start on the demo's first stage (START_WAIT_SECS 0,
// a free node port), then a kube.Watcher as the dashboard makes it, until
// a batch holds a pod. It leaves out only the dashboard's own first render.
func BenchmarkStartToFirstPod(b *testing.B) {
	file, _ := stage1Wait(b, "0", "0")
	ctx := context.Background()
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		l, err := New(Options{Files: []string{file}, ServerArgv: serverArgv})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Start(ctx); err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		w := kube.NewWatcher(l.Client(), kube.WatchOptions{Namespace: Namespace})
		if err := w.Start(wctx); err != nil {
			b.Fatal(err)
		}
	wait:
		for {
			batch, err := w.Next(wctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range batch.Deltas {
				if d.Kind == kube.KindPod {
					break wait
				}
			}
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		cancel()
		l.Stop()
		b.StartTimer()
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-ms")
}
