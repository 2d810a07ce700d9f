package tui

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
)

// BenchmarkIdle runs the whole program on 5,000 pods that do not change and
// reports the CPU the process spends per second while nothing happens but
// the clock tick (issue 4: no measurable CPU when idle). It measures a fixed
// idle window per iteration, so run it with -benchtime 1x.
func BenchmarkIdle(b *testing.B) {
	const idle = 10 * time.Second
	first := seedBatch()
	for _, p := range benchPods(5000) {
		first.Deltas = append(first.Deltas, podDelta(p))
	}
	for b.Loop() {
		m := newModel(b.Context(), Options{Source: newFakeSource(first), Actions: &fakeActions{}, Context: "bench", Namespace: "default"}, false, nil)
		tm := teatest.NewTestModel(b, m, teatest.WithInitialTermSize(160, 48))
		teatest.WaitFor(b, tm.Output(), func(out []byte) bool {
			return bytes.Contains(out, []byte("prober-foo-67b66bdbf7-00000"))
		}, teatest.WithDuration(30*time.Second))
		before := cpuTime()
		time.Sleep(idle) // the measurement window, not a wait for a condition
		used := cpuTime() - before
		b.ReportMetric(float64(used.Microseconds())/1000/idle.Seconds(), "cpu-ms/s")
		tm.Type("q")
		tm.WaitFinished(b, teatest.WithFinalTimeout(10*time.Second))
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
