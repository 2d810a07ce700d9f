package lab

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/demo"
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

// BenchmarkHundredPods runs a Deployment of 100 pods, each probed for
// readiness and liveness every second, through the whole lab (API store,
// controllers, Service proxy, kubelet), and reports the lab process's
// resident memory (children not counted) once all are ready and over the
// next 10 s, and how long they took to become ready.
func BenchmarkHundredPods(b *testing.B) {
	const n = 100
	d := loadDemo(b, demo.Stage1).deploy
	d.Spec.Replicas = ptrTo(int32(n))
	setEnv(d, "START_WAIT_SECS", "0")
	setEnv(d, "CRASH_FACTOR", "0")
	ctr := &d.Spec.Template.Spec.Containers[0]
	ctr.LivenessProbe.InitialDelaySeconds, ctr.LivenessProbe.PeriodSeconds = 1, 1
	ctr.ReadinessProbe.InitialDelaySeconds, ctr.ReadinessProbe.PeriodSeconds = 0, 1
	svc := loadDemo(b, demo.Service).service
	svc.Spec.Ports[0].NodePort = freeNodePort(b)
	file := write(b, "hundred.yaml", svc, d)
	for b.Loop() {
		start := time.Now()
		l, err := New(Options{Files: []string{file}, ServerArgv: serverArgv})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		c := l.Client()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			dd, err := c.AppsV1().Deployments(Namespace).Get(context.Background(), "prober-foo", metav1.GetOptions{})
			if err == nil && dd.Status.ReadyReplicas == n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("not all ready after 5 minutes: %+v", dd.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-to-all-ready")
		var peak int64
		for range 20 {
			peak = max(peak, rssBytes(b))
			time.Sleep(500 * time.Millisecond)
		}
		b.ReportMetric(float64(peak)/(1<<20), "MB-RSS-peak")
		b.ReportMetric(float64(rssBytes(b))/(1<<20), "MB-RSS-end")
		b.StopTimer()
		l.Stop()
		b.StartTimer()
	}
}

func ptrTo[T any](v T) *T { return &v }

// rssBytes is this process's resident set (VmRSS), Linux only.
func rssBytes(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status: resident memory is measured on Linux only")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
