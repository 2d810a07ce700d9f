package tui

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// benchPods makes n pods of one Deployment, a third of them restarting.
func benchPods(n int) []*corev1.Pod {
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		c := t0.Add(-time.Duration(i) * time.Second)
		opts := []podOpt{ready(c.Add(20 * time.Second))}
		if i%3 == 0 {
			opts = append(opts, restarts(int32(i%7), t0.Add(-time.Duration(i%300)*time.Second)))
		}
		pods[i] = pod(fmt.Sprintf("prober-foo-67b66bdbf7-%05d", i), c, opts...)
	}
	return pods
}

// BenchmarkBatch is the budget: 5,000 pods in the namespace, a
// batch of 200 pod updates applied and the screen rendered, under 5 ms.
// Each batch flips readiness and bumps restarts, so the timeline, the
// change markers and the header counters all move.
func BenchmarkBatch(b *testing.B) {
	for _, sortBy := range []sortKey{sortName, sortRestarts} {
		for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
			b.Run(fmt.Sprintf("sort=%s/%dx%d", sortBy, size.w, size.h), func(b *testing.B) {
				benchBatch(b, sortBy, size.w, size.h)
			})
		}
	}
}

func benchBatch(b *testing.B, sortBy sortKey, w, h int) {
	const n, perBatch = 5000, 200
	pods := benchPods(n)
	first := kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Connected}, Deltas: []kube.Delta{deployment(n)}}
	for _, p := range pods {
		first.Deltas = append(first.Deltas, podDelta(p))
	}
	m, _ := newTestModel(b, w, h, first)
	m.pods.sort = sortBy
	m.pods.rebuild(m.state, true, 0)
	m.View()

	// Pre-build the batches outside the timer: each updates 200 pods
	// spread over the list, alternating not-ready and ready-with-restart.
	const variants = 16
	batches := make([]kube.Batch, variants)
	for v := range batches {
		for j := 0; j < perBatch; j++ {
			i := (v*perBatch + j*(n/perBatch)) % n
			p := pods[i].DeepCopy()
			if v%2 == 0 {
				p.Status.ContainerStatuses[0].Ready = false
				setCond(p, corev1.PodReady, corev1.ConditionFalse, t0)
			} else {
				p.Status.ContainerStatuses[0].RestartCount += int32(v)
			}
			batches[v].Deltas = append(batches[v].Deltas, podDelta(p))
		}
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Update(batchMsg(batches[i%variants]))
		_ = m.View()
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMB")
	// Issue 4's memory target is on the process: report its resident set
	// too (the benchmark process holds the model, the 5,000 pods and the
	// pre-built batches, so this is an upper bound for the dashboard).
	if mb, ok := residentMB(); ok {
		b.ReportMetric(mb, "rssMB")
	}
	if len(m.pods.rows) != n {
		b.Fatalf("%d rows, want %d", len(m.pods.rows), n)
	}
}

// BenchmarkFirstScreen is the first batch after the caches sync: 5,000
// pods applied and the first screen drawn.
func BenchmarkFirstScreen(b *testing.B) {
	pods := benchPods(5000)
	first := kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Connected}, Deltas: []kube.Delta{deployment(5000)}}
	for _, p := range pods {
		first.Deltas = append(first.Deltas, podDelta(p))
	}
	b.ReportAllocs()
	for b.Loop() {
		m, _ := newTestModel(b, 160, 48)
		m.Update(batchMsg(first))
		_ = m.View()
	}
}

// residentMB reads the process's VmRSS from /proc (Linux only).
func residentMB() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, false
			}
			return float64(kb) / 1024, true
		}
	}
	return 0, false
}

// BenchmarkLogResult is a 200-line log landing in an output pane already
// full of them (maxResults): each entry is wrapped once, when it arrives,
// so a new result costs the new log's lines, not every kept one's.
func BenchmarkLogResult(b *testing.B) {
	m, _ := newTestModel(b, 120, 40, seedBatch())
	var body strings.Builder
	for i := range 200 {
		fmt.Fprintf(&body, "time=2026-11-24T12:00:%02dZ level=INFO msg=\"request served\" path=/healthz status=200 n=%d\n", i%60, i)
	}
	res := resultMsg{res: kube.Result{Action: "logs", Target: kube.Target{Namespace: "default", Pod: "p"}, Code: 200, Body: body.String()}}
	for range maxResults {
		m.Update(res)
	}
	press(b, m, "4")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Update(res)
		m.View()
	}
}
