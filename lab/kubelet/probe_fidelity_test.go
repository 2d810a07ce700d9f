package kubelet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// listening waits until the current run of the pod's first container
// answers and the status shows it running. With the fake clock it then
// steps one second for the kubelet's relist (relistPeriod) to report the
// run, after the server is up, so probes at fake times meet a server that
// listens.
func (e *env) listening(name string) *corev1.Pod {
	e.t.Helper()
	p := e.waitPod(name, "addresses", func(p *corev1.Pod) bool { _, err := PodAddress(p, 80); return err == nil })
	addr, _ := PodAddress(p, 80)
	e.waitFor("server on "+addr, func() bool {
		res, err := testHTTP.Get("http://" + addr + "/info")
		if err != nil {
			return false
		}
		res.Body.Close()
		return true
	})
	_, _, id := e.current(name)
	if e.fake != nil {
		e.settle()
		if containerStatus(e.get(name)).ContainerID != id {
			e.step(relistPeriod)
		}
	}
	return e.waitPod(name, "container running", func(p *corev1.Pod) bool {
		return running(p) && containerStatus(p).ContainerID == id
	})
}

// worker is the kubelet's worker of pod default/name, nil when it has none.
func (e *env) worker(name string) *podWorker {
	e.k.mu.Lock()
	defer e.k.mu.Unlock()
	for _, pw := range e.k.workers {
		if pw.key == "default/"+name {
			return pw
		}
	}
	return nil
}

// current returns the attempt number of the pod's first container's
// current run and whether it has exited, from the kubelet's own state.
func (e *env) current(name string) (attempt int, exited bool, id string) {
	w := e.worker(name)
	if w == nil {
		return -1, false, ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.containers) == 0 || w.containers[0].cur == nil {
		return -1, false, ""
	}
	in := w.containers[0].cur
	return in.attempt, in.exited, in.id
}

// waitRun waits until the pod's first container is on run attempt.
func (e *env) waitRun(name string, attempt int) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("run %d of %s", attempt, name), func() bool { a, _, _ := e.current(name); return a == attempt })
}

// waitExited waits until the current run of the pod's first container has
// exited, and the kubelet has handled it.
func (e *env) waitExited(name string) {
	e.t.Helper()
	e.waitFor("exit of "+name, func() bool { _, x, _ := e.current(name); return x })
	e.settle()
}

// post sends a runtime control request to the pod's server.
func (e *env) post(p *corev1.Pod, path string) {
	e.t.Helper()
	addr, err := PodAddress(p, 80)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := testHTTP.Post("http://"+addr+path, "text/plain", nil)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		e.t.Fatalf("POST %s: %s", path, res.Status)
	}
}

// expectedProbeTimes is when pkg/kubelet/prober/worker.go probes, from its
// definition: on the ticks of a ticker started at tickerStart (every period),
// skipping ticks before initialDelaySeconds have passed since the container
// started (whole seconds, truncated), up to end.
func expectedProbeTimes(tickerStart, started time.Time, p *corev1.Probe, end time.Time) []time.Duration {
	period := time.Duration(p.PeriodSeconds) * time.Second
	var out []time.Duration
	for t := tickerStart.Add(period); !t.After(end); t = t.Add(period) {
		if int32(t.Sub(started).Seconds()) < p.InitialDelaySeconds {
			continue
		}
		out = append(out, t.Sub(started))
	}
	return out
}

func TestProbeScheduleHonoursInitialDelayAndPeriod(t *testing.T) {
	tests := []struct {
		name                           string
		typ                            probeType
		delay, period, failureTreshold int32
	}{
		{"readiness delay 5 period 3", readiness, 5, 3, 1},
		{"readiness delay 0 period 4", readiness, 0, 4, 1},
		{"liveness delay 20 period 10 (seed)", liveness, 20, 10, 1},
		{"liveness delay 7 period 3", liveness, 7, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			p := pod("sched", nil)
			pr := httpProbe("/healthz", 80)
			pr.InitialDelaySeconds, pr.PeriodSeconds, pr.FailureThreshold = tt.delay, tt.period, tt.failureTreshold
			if tt.typ == readiness {
				p.Spec.Containers[0].ReadinessProbe = pr
			} else {
				p.Spec.Containers[0].LivenessProbe = pr
			}
			e.create(p)
			got := e.listening("sched")
			e.settle()
			startedAt := containerStatus(got).State.Running.StartedAt.Time
			// Only the server's real start-up may have produced probes so
			// far (at the fake start time, as a failure): that is why the
			// test waits for it before moving time.
			e.step(31 * time.Second)
			end := e.fake.Now()

			var tickerStart time.Time
			var probed []time.Duration
			for _, tr := range e.tracesOf(tt.typ) {
				switch {
				case tr.What == "ticker":
					tickerStart = tr.At
				case strings.HasPrefix(tr.What, "probed") && tr.Cause == "tick":
					probed = append(probed, tr.At.Sub(startedAt))
				}
			}
			want := expectedProbeTimes(tickerStart, startedAt, pr, end)
			if fmt.Sprint(probed) != fmt.Sprint(want) {
				t.Errorf("probes after container start at %v, want %v", probed, want)
			}
			if len(want) == 0 {
				t.Fatal("the test expects no probe at all: widen its window")
			}
		})
	}
}

func TestReadinessThresholds(t *testing.T) {
	e := start(t, true)
	p := pod("thresh", nil)
	pr := httpProbe("/healthz", 80)
	// Delay 2 keeps the probe triggered when the relist reports the
	// container (at 1 s) from running: the ticks at 2 s and on count.
	pr.InitialDelaySeconds, pr.PeriodSeconds = 2, 1
	pr.SuccessThreshold, pr.FailureThreshold = 2, 3
	p.Spec.Containers[0].ReadinessProbe = pr
	e.create(p)
	running := e.listening("thresh")
	e.settle()

	// readiness starts as failure; two successes in a row make it ready,
	// three failures in a row take it back (worker.go doProbe).
	steps := []struct {
		before string // runtime control sent before the step, "" for none
		ready  bool
	}{
		{"", false}, // success 1 of 2
		{"", true},  // success 2 of 2
		{"/healthz/fail", true},
		{"", true},
		{"", false}, // failure 3 of 3
		{"/healthz/recover", false},
		{"", true},
	}
	for i, s := range steps {
		if s.before != "" {
			e.post(running, s.before)
		}
		e.step(time.Second)
		got := e.get("thresh")
		cs := containerStatus(got)
		if cs.Ready != s.ready {
			t.Fatalf("after probe %d: ready=%v, want %v (%s)", i+1, cs.Ready, s.ready, statusSummary(got))
		}
		checkReadyConditions(t, got, s.ready)
		cols := kube.PodStatus(got, e.fake.Now())
		wantReady := "0/1"
		if s.ready {
			wantReady = "1/1"
		}
		// A failing readiness probe never changes STATUS, only READY.
		if cols.Ready != wantReady || cols.Status != "Running" {
			t.Errorf("after probe %d: READY %s STATUS %s, want %s Running", i+1, cols.Ready, cols.Status, wantReady)
		}
	}
	ev := e.waitEvent("thresh", reasonUnhealthy, "Readiness probe failed: HTTP probe failed with statuscode: 500")
	// Three failed probes on ticks, and one more: when readiness turns
	// false the pod is synced, and the prober manager's UpdatePodStatus
	// triggers a probe of every started, unready container at once
	// (pkg/kubelet/prober/prober_manager.go).
	if ev.Count != 4 || ev.Type != corev1.EventTypeWarning {
		t.Errorf("Unhealthy event: type %s count %d, want Warning 4", ev.Type, ev.Count)
	}
	// The correlator folds repeats into one event: firstTimestamp stays
	// at the first failure, lastTimestamp moves to the last.
	if !ev.LastTimestamp.After(ev.FirstTimestamp.Time) {
		t.Errorf("Unhealthy event first %v last %v, want last after first", ev.FirstTimestamp, ev.LastTimestamp)
	}
	if ev.InvolvedObject.FieldPath != "spec.containers{c}" || ev.Source.Component != "kubelet" {
		t.Errorf("Unhealthy event: fieldPath %q source %q", ev.InvolvedObject.FieldPath, ev.Source.Component)
	}
}

// checkReadyConditions checks ContainersReady and Ready as
// pkg/kubelet/status/generate.go writes them.
func checkReadyConditions(t *testing.T, p *corev1.Pod, ready bool) {
	t.Helper()
	for _, typ := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		var c *corev1.PodCondition
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == typ {
				c = &p.Status.Conditions[i]
			}
		}
		if c == nil {
			t.Fatalf("no %s condition", typ)
		}
		want := corev1.PodCondition{Type: typ, Status: corev1.ConditionTrue}
		if !ready {
			want.Status, want.Reason, want.Message = corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [c]"
		}
		if c.Status != want.Status || c.Reason != want.Reason || c.Message != want.Message {
			t.Errorf("%s condition = %s %q %q, want %s %q %q", typ, c.Status, c.Reason, c.Message, want.Status, want.Reason, want.Message)
		}
	}
}

func TestReadinessConnectionRefusedEvent(t *testing.T) {
	e := start(t, true)
	// The server waits before it listens, so the probe meets a closed
	// port, as the seed's events show right after a crash.
	p := pod("refused", map[string]string{"START_WAIT_SECS": "300"})
	p.Spec.Containers[0].ReadinessProbe = httpProbe("/healthz", 80)
	e.create(p)
	got := e.waitPod("refused", "addresses", func(p *corev1.Pod) bool { return p.Annotations[IPAnnotation] != "" })
	ip := got.Annotations[IPAnnotation]
	e.step(relistPeriod) // the status shows the container: readiness is probed
	want := fmt.Sprintf(`Readiness probe failed: Get "http://%s:80/healthz": dial tcp %s:80: connect: connection refused`, ip, ip)
	e.waitEvent("refused", reasonUnhealthy, want)
}
