package kubelet

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/proberctl/proberctl/kube"
)

func TestLivenessFailureKillsAndRestarts(t *testing.T) {
	e := start(t, true)
	p := pod("live", nil)
	pr := httpProbe("/healthz", 80)
	// The seed's second stage: failureThreshold 2.
	pr.InitialDelaySeconds, pr.PeriodSeconds, pr.FailureThreshold = 1, 1, 2
	p.Spec.Containers[0].LivenessProbe = pr
	e.create(p)
	first := e.listening("live")
	firstID := containerStatus(first).ContainerID
	e.settle()

	e.post(first, "/healthz/fail")
	e.step(time.Second) // failure 1 of 2: nothing happens
	if got := e.get("live"); containerStatus(got).ContainerID != firstID || containerStatus(got).RestartCount != 0 {
		t.Fatalf("restarted after one failure of two: %s", statusSummary(got))
	}
	e.step(time.Second) // failure 2 of 2: killed (SIGTERM) and restarted at once
	e.waitRun("live", 1)

	got := e.listening("live")
	cs := containerStatus(got)
	if cs.ContainerID == firstID {
		t.Errorf("restart kept container ID %s", cs.ContainerID)
	}
	last := cs.LastTerminationState.Terminated
	if last == nil {
		t.Fatalf("no lastState.terminated: %s", statusSummary(got))
	}
	// The probe server drains and exits 0 on SIGTERM, which a runtime
	// reports as Completed (as the seed's original image did).
	if last.ExitCode != 0 || last.Reason != "Completed" || last.ContainerID != firstID {
		t.Errorf("lastState.terminated = %+v, want exit 0 Completed of %s", last, firstID)
	}
	e.waitEvent("live", reasonUnhealthy, "Liveness probe failed: HTTP probe failed with statuscode: 500")
	kill := e.waitEvent("live", reasonKilling, "Container c failed liveness probe, will be restarted")
	if kill.Type != corev1.EventTypeNormal {
		t.Errorf("Killing event type %s, want Normal", kill.Type)
	}
	// Started twice: the same event, counted (the correlator's aggregation).
	e.waitFor("Started count 2", func() bool { return e.waitEvent("live", reasonStarted, "Container started").Count == 2 })
	cols := kube.PodStatus(got, e.fake.Now())
	if cols.Status != "Running" || cols.RestartCount != 1 {
		t.Errorf("STATUS %s RESTARTS %s, want Running 1", cols.Status, cols.Restarts)
	}
}

func TestLivenessKillHonoursProbeGracePeriodThenSIGKILL(t *testing.T) {
	e := start(t, true)
	// The server drains for 100 s after SIGTERM: only SIGKILL ends it in
	// the probe's 5 s grace period.
	p := pod("grace", map[string]string{"DRAIN_DELAY_SECS": "100"})
	pr := httpProbe("/healthz", 80)
	pr.InitialDelaySeconds, pr.PeriodSeconds, pr.FailureThreshold = 1, 1, 1
	pr.TerminationGracePeriodSeconds = ptr(int64(5))
	p.Spec.Containers[0].LivenessProbe = pr
	p.Spec.TerminationGracePeriodSeconds = ptr(int64(60))
	e.create(p)
	first := e.listening("grace")
	e.settle()
	e.post(first, "/healthz/fail")
	e.fake.Step(time.Second) // the failing probe; the kill starts
	e.waitEvent("grace", reasonKilling, "Container c failed liveness probe, will be restarted")
	e.waitFor("the grace timer", func() bool { return e.fake.timers() == 1 })
	e.fake.Step(4 * time.Second)
	if e.fake.timers() != 1 {
		t.Fatal("grace timer fired before the probe's terminationGracePeriodSeconds")
	}
	e.fake.Step(time.Second) // 5 s: SIGKILL
	e.waitRun("grace", 1)
	got := e.listening("grace")
	last := containerStatus(got).LastTerminationState.Terminated
	if last == nil || last.ExitCode != 137 || last.Reason != "Error" {
		t.Errorf("lastState.terminated = %+v, want exit 137 (SIGKILL) Error", last)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCrashLoopBackOffSequence(t *testing.T) {
	e := start(t, true)
	// Crash at once on every start, as CRASH_FACTOR=100 does.
	p := pod("crashy", map[string]string{"CRASH_FACTOR": "100"})
	created := e.create(p)
	t0 := e.fake.Now()

	// Record every restart: the fake time of each new container start,
	// read from the status while the container waits in back-off.
	var restarts []time.Duration
	var messages []string
	seen := 0
	for len(restarts) < 4 {
		// Each run crashes in real time while fake time stands; wait
		// until the kubelet has put the latest one in back-off.
		var got *corev1.Pod
		e.waitFor("back-off", func() bool {
			a, x, _ := e.current("crashy")
			got = e.get("crashy")
			w := containerStatus(got).State.Waiting
			return x && w != nil && w.Reason == "CrashLoopBackOff" && int(containerStatus(got).RestartCount) == a
		})
		e.settle()
		got = e.get("crashy")
		cs := containerStatus(got)
		if w := cs.State.Waiting; int(cs.RestartCount) > seen {
			seen = int(cs.RestartCount)
			restarts = append(restarts, cs.LastTerminationState.Terminated.StartedAt.Time.Sub(t0))
			messages = append(messages, w.Message)
			cols := kube.PodStatus(got, e.fake.Now())
			if cols.Status != "CrashLoopBackOff" {
				t.Errorf("STATUS %q during back-off, want CrashLoopBackOff", cols.Status)
			}
			if got.Status.Phase != corev1.PodRunning {
				t.Errorf("phase %s during back-off, want Running", got.Status.Phase)
			}
			if last := cs.LastTerminationState.Terminated; last.Reason != "Error" || last.ExitCode != 1 {
				t.Errorf("lastState.terminated %s/%d, want Error/1 (CRASH_EXIT_CODE default)", last.Reason, last.ExitCode)
			}
		}
		e.step(time.Second)
	}
	// Restart n happens at the sum of the back-offs before it: at once,
	// then 10 s doubling (kuberuntime_manager.go doBackOff with
	// flowcontrol.Backoff, initial 10 s, max 300 s).
	wantDelays := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	var want []time.Duration
	var at time.Duration
	for _, d := range wantDelays {
		at += d
		want = append(want, at)
	}
	if fmt.Sprint(restarts) != fmt.Sprint(want) {
		t.Errorf("restart times %v, want %v (delays %v)", restarts, want, wantDelays)
	}
	desc := fmt.Sprintf("crashy_default(%s)", created.UID)
	for i, d := range []string{"10s", "20s", "40s", "1m20s"} {
		w := fmt.Sprintf("back-off %s restarting failed container=c pod=%s", d, desc)
		if i < len(messages) && messages[i] != w {
			t.Errorf("waiting message %d = %q, want %q", i, messages[i], w)
		}
	}
	bo := e.waitEvent("crashy", reasonBackOff, "Back-off restarting failed container c in pod "+desc)
	if bo.Type != corev1.EventTypeWarning || bo.Count < 4 {
		t.Errorf("BackOff event %s count %d, want Warning, at least 4", bo.Type, bo.Count)
	}
}

func TestBackOffResetsAfterTenMinutesRunning(t *testing.T) {
	e := start(t, true)
	e.create(pod("reset", nil))
	e.listening("reset")
	crash := func() {
		t.Helper()
		addr, _ := PodAddress(e.get("reset"), 80)
		before, _, _ := e.current("reset")
		_, _ = httpGet("http://" + addr + "/crash")
		// The run ends; the kubelet may restart it at once.
		e.waitFor("the crash", func() bool { a, x, _ := e.current("reset"); return x || a != before })
		e.settle()
	}
	crash() // restart 1: at once; the back-off is now 10 s
	e.waitRun("reset", 1)
	e.listening("reset")
	crash() // restart 2 waits 10 s
	if a, _, _ := e.current("reset"); a != 1 {
		t.Fatalf("second crash in a row restarted at once (run %d)", a)
	}
	e.step(10 * time.Second)
	e.waitRun("reset", 2)
	e.listening("reset")
	// Run for more than 2 x 300 s (flowcontrol.Backoff hasExpired), then
	// crash: the back-off starts over and the restart is immediate.
	e.step(601 * time.Second)
	crash()
	e.waitRun("reset", 3)
}

func TestStatusColumnsAsKubectlShowsThem(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		policy     corev1.RestartPolicy
		wantStatus string
		wantPhase  corev1.PodPhase
	}{
		{"crash exit 0, never restarted", map[string]string{"CRASH_FACTOR": "100", "CRASH_EXIT_CODE": "0"}, corev1.RestartPolicyNever, "Completed", corev1.PodSucceeded},
		{"crash exit 1, never restarted", map[string]string{"CRASH_FACTOR": "100"}, corev1.RestartPolicyNever, "Error", corev1.PodFailed},
		{"crash exit 3, on failure: back-off", map[string]string{"CRASH_FACTOR": "100", "CRASH_EXIT_CODE": "3"}, corev1.RestartPolicyOnFailure, "CrashLoopBackOff", corev1.PodRunning},
		{"serving", nil, corev1.RestartPolicyAlways, "Running", corev1.PodRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			p := pod("cols", tt.env)
			p.Spec.RestartPolicy = tt.policy
			e.create(p)
			if tt.wantStatus == "Running" {
				e.listening("cols")
			}
			got := e.waitPod("cols", "phase "+string(tt.wantPhase), func(p *corev1.Pod) bool {
				return p.Status.Phase == tt.wantPhase && kube.PodStatus(p, e.fake.Now()).Status == tt.wantStatus
			})
			e.settle()
			got = e.get("cols")
			cols := kube.PodStatus(got, e.fake.Now())
			if cols.Status != tt.wantStatus || got.Status.Phase != tt.wantPhase {
				t.Errorf("STATUS %s phase %s, want %s %s (%s)", cols.Status, got.Status.Phase, tt.wantStatus, tt.wantPhase, statusSummary(got))
			}
		})
	}
}

// The seed's `/crash` with the original image (exit 0) shows the pod as
// Completed for a moment before the restart: the kubelet writes the exited
// container's status before it starts the next one.
func TestCompletedShowsBeforeImmediateRestart(t *testing.T) {
	e := start(t, true)
	w, err := e.client.CoreV1().Pods("default").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e.create(pod("seed", map[string]string{"CRASH_EXIT_CODE": "0"}))
	p := e.listening("seed")
	addr, _ := PodAddress(p, 80)
	_, _ = httpGet("http://" + addr + "/crash")
	e.waitRun("seed", 1)
	// The relist, a second later, reports the new run.
	e.step(relistPeriod)
	var statuses []string
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != watch.Modified {
				continue
			}
			cols := kube.PodStatus(ev.Object.(*corev1.Pod), e.fake.Now())
			statuses = append(statuses, cols.Status+"/"+cols.Restarts)
			if cols.Status == "Running" && cols.RestartCount == 1 {
				for _, s := range statuses {
					if s == "Completed/0" {
						return
					}
				}
				t.Fatalf("never showed Completed before the restart: %v", statuses)
			}
		case <-deadline:
			t.Fatalf("no restart seen: %v", statuses)
		}
	}
}
