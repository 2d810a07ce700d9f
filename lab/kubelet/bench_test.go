//go:build linux

package kubelet

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/lab/store"
)

// BenchmarkHundredPods runs 100 pods, each with a readiness and a liveness
// probe every second, for 20 s on the real clock, and reports how late
// probes start against their worker's ticker schedule (p50, p99, max) and
// this process's resident memory (the kubelet, the in-memory API and the
// test harness; the children are not counted).
//
//	go test -run '^$' -bench HundredPods -benchtime 1x ./lab/kubelet
func BenchmarkHundredPods(b *testing.B) {
	const (
		pods   = 100
		window = 20 * time.Second
	)
	bin := buildProberctl(b)
	b.ResetTimer()
	for range b.N {
		st := store.New(store.Options{})
		k := New(st.Client(), Options{ServerArgv: []string{bin, "serve"}})
		type key struct {
			pod, container string
			typ            probeType
		}
		var (
			mu      sync.Mutex
			tickers = map[key]time.Time{}
			late    []time.Duration
			steady  []time.Duration // after the first 5 s, once every child runs
			probes  int
			begin   = time.Now()
		)
		k.trace = func(tr probeTrace) {
			kk := key{tr.Pod, tr.Container, tr.Type}
			mu.Lock()
			defer mu.Unlock()
			if tr.What == "ticker" {
				tickers[kk] = tr.At
				return
			}
			// The schedule: the ticker's start plus whole periods.
			start, period := tickers[kk], time.Second
			n := math.Floor(float64(tr.At.Sub(start)) / float64(period))
			d := tr.At.Sub(start.Add(time.Duration(n) * period))
			late = append(late, d)
			if tr.At.Sub(begin) > 5*time.Second {
				steady = append(steady, d)
			}
			if strings.HasPrefix(tr.What, "probed") {
				probes++
			}
		}
		self0, kids0 := cpu(syscall.RUSAGE_SELF), cpu(syscall.RUSAGE_CHILDREN)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx) }()
		for i := range pods {
			p := pod(fmt.Sprintf("bench-%03d", i), nil)
			rp, lp := httpProbe("/healthz", 80), httpProbe("/healthz", 80)
			rp.PeriodSeconds, lp.PeriodSeconds = 1, 1
			lp.InitialDelaySeconds = 1
			p.Spec.Containers[0].ReadinessProbe = rp
			p.Spec.Containers[0].LivenessProbe = lp
			if _, err := st.Client().CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(window) // a benchmark's measuring window, not a wait for a condition
		list, err := st.Client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, p := range list.Items {
			ok := false
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ok = true
				}
			}
			if ok {
				ready++
				continue
			}
			b.Logf("not ready at the end: %s %s", p.Name, statusSummary(&p))
			evs, _ := st.Client().CoreV1().Events("default").List(ctx, metav1.ListOptions{})
			for _, ev := range evs.Items {
				if ev.InvolvedObject.Name == p.Name {
					b.Logf("  %s %s %s (x%d)", ev.Type, ev.Reason, ev.Message, ev.Count)
				}
			}
		}
		rss, hwm := memKB("VmRSS"), memKB("VmHWM")
		cancel()
		<-done
		st.Close()
		// Children's CPU counts once they are reaped, after Run.
		self, kids := cpu(syscall.RUSAGE_SELF)-self0, cpu(syscall.RUSAGE_CHILDREN)-kids0

		mu.Lock()
		q := func(xs []time.Duration, f float64) float64 {
			if len(xs) == 0 {
				return 0
			}
			sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
			return float64(xs[int(f*float64(len(xs)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(q(late, 0.5), "p50-late-ms")
		b.ReportMetric(q(late, 0.99), "p99-late-ms")
		b.ReportMetric(q(late, 1), "max-late-ms")
		b.ReportMetric(q(steady, 0.99), "p99-late-after-5s-ms")
		b.ReportMetric(float64(probes), "probes")
		b.ReportMetric(float64(ready), "ready-pods")
		b.ReportMetric(float64(rss)/1024, "rss-MB")
		b.ReportMetric(float64(hwm)/1024, "peak-rss-MB")
		b.ReportMetric(self.Seconds(), "lab-cpu-s")
		b.ReportMetric(kids.Seconds(), "children-cpu-s")
		mu.Unlock()
	}
}

// cpu is the user plus system time of the process or of its reaped children.
func cpu(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memKB reads a field of /proc/self/status in kB (0 where there is none).
func memKB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
