package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/kube"
)

// logsDeployment is the demo's Deployment with one replica, no probes (a
// loaded machine's liveness restarts would blur which run is which) and
// the server's start wait and crash factor set.
func logsDeployment(t *testing.T, crashFactor string) *appsv1.Deployment {
	t.Helper()
	d := loadDemo(t, demo.Stage1).deploy
	one := int32(1)
	d.Spec.Replicas = &one
	c := &d.Spec.Template.Spec.Containers[0]
	c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
	setEnv(d, "START_WAIT_SECS", "0")
	setEnv(d, "CRASH_FACTOR", crashFactor)
	return d
}

// onlyPod waits for the Deployment's one pod to satisfy cond.
func onlyPod(t *testing.T, l *Lab, what string, cond func(cs corev1.ContainerStatus) bool) corev1.Pod {
	t.Helper()
	var got corev1.Pod
	waitFor(t, 60*time.Second, what, func() (bool, string) {
		ps := pods(t, l.Client())
		for _, p := range ps {
			if p.DeletionTimestamp != nil {
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == p.Spec.Containers[0].Name && cond(cs) {
					got = p
					return true, ""
				}
			}
		}
		var b strings.Builder
		for _, p := range ps {
			fmt.Fprintf(&b, "%s: %+v\n", p.Name, p.Status.ContainerStatuses)
		}
		return false, b.String()
	})
	return got
}

// A server that crashes on start (CRASH_FACTOR 100) says why, and the
// previous instance's log shows it, as `kubectl logs --previous` does.
func TestLogsShowWhyAPodRestarted(t *testing.T) {
	t.Parallel()
	l := startLab(t, write(t, "crashy.yaml", logsDeployment(t, "100")))
	p := onlyPod(t, l, "a run that ended", func(cs corev1.ContainerStatus) bool {
		return cs.LastTerminationState.Terminated != nil
	})
	r := l.Actions().Logs(context.Background(), targetOf(&p), true)
	if r.Err != nil {
		t.Fatalf("logs --previous: %v", r.Err)
	}
	if r.Action != "logs" || r.Code != 200 || r.Note != "container prober-foo, previous instance" {
		t.Errorf("result %+v, want action logs, code 200, note naming the container and the previous instance", r)
	}
	if r.Latency <= 0 {
		t.Errorf("Latency %v, want the time the request took (the output pane prints it)", r.Latency)
	}
	for _, want := range []string{"crashing on start", "CRASH_FACTOR=100 rolled"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("previous log lacks %q:\n%s", want, r.Body)
		}
	}
}

// Before a restart there is no previous instance, and the kubelet's words
// say so; after one, the previous log is the run that crashed and the
// current log the new run's.
func TestLogsAcrossACrash(t *testing.T) {
	t.Parallel()
	l := startLab(t, write(t, "steady.yaml", logsDeployment(t, "0")))
	ctx := context.Background()
	a := l.Actions()
	p := onlyPod(t, l, "the first run running", func(cs corev1.ContainerStatus) bool {
		return cs.State.Running != nil && cs.RestartCount == 0
	})
	tgt := targetOf(&p)
	var r kube.Result
	waitFor(t, 30*time.Second, "the server to log that it listens", func() (bool, string) {
		r = a.Logs(ctx, tgt, false)
		return r.Err == nil && strings.Contains(r.Body, "listening"), fmt.Sprintf("%+v", r)
	})
	if r.Note != "container prober-foo" {
		t.Errorf("note %q, want %q", r.Note, "container prober-foo")
	}
	r = a.Logs(ctx, tgt, true)
	want := fmt.Sprintf("previous terminated container %q in pod %q not found", "prober-foo", p.Name)
	if r.Err == nil || !strings.Contains(r.Err.Error(), want) {
		t.Errorf("logs --previous of a first run: %v, want %q", r.Err, want)
	}

	waitFor(t, 30*time.Second, "the crash action to reach "+p.Name, func() (bool, string) {
		r = a.Crash(ctx, tgt)
		return !errors.Is(r.Err, syscall.ECONNREFUSED), fmt.Sprintf("%+v", r)
	})
	if r.Err != nil {
		t.Fatalf("crash: %+v", r)
	}
	onlyPod(t, l, "the second run running", func(cs corev1.ContainerStatus) bool {
		return cs.State.Running != nil && cs.RestartCount == 1
	})
	r = a.Logs(ctx, tgt, true)
	if r.Err != nil || !strings.Contains(r.Body, "crashing on request") || !strings.Contains(r.Body, "listening") {
		t.Errorf("previous log is not the crashed run's (%v):\n%s", r.Err, r.Body)
	}
	waitFor(t, 30*time.Second, "the new run to log that it listens", func() (bool, string) {
		r = a.Logs(ctx, tgt, false)
		if strings.Contains(r.Body, "crashing on request") {
			t.Fatalf("current log after the restart holds the crashed run's output:\n%s", r.Body)
		}
		return r.Err == nil && strings.Contains(r.Body, "listening"), fmt.Sprintf("%+v", r)
	})

	r = a.Logs(ctx, kube.Target{Pod: "nope"}, false)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "not found") || r.Code != 404 {
		t.Errorf("logs of a missing pod: %+v", r)
	}
}

// With two containers the kubectl.kubernetes.io/default-container
// annotation picks the one shown, and the note says so.
func TestLogsOfTheDefaultContainer(t *testing.T) {
	t.Parallel()
	d := logsDeployment(t, "0")
	second := *d.Spec.Template.Spec.Containers[0].DeepCopy()
	second.Name = "crasher"
	second.Env = append([]corev1.EnvVar(nil), second.Env...)
	for i := range second.Env {
		if second.Env[i].Name == "CRASH_FACTOR" {
			second.Env[i].Value = "100"
		}
	}
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, second)
	d.Spec.Template.Annotations = map[string]string{kube.DefaultContainerAnnotation: "crasher"}
	l := startLab(t, write(t, "two.yaml", d))
	var p corev1.Pod
	waitFor(t, 60*time.Second, "the crasher container to have ended a run", func() (bool, string) {
		for _, pp := range pods(t, l.Client()) {
			for _, cs := range pp.Status.ContainerStatuses {
				if cs.Name == "crasher" && cs.LastTerminationState.Terminated != nil {
					p = pp
					return true, ""
				}
			}
		}
		return false, describe(pods(t, l.Client()))
	})
	r := l.Actions().Logs(context.Background(), targetOf(&p), true)
	if r.Err != nil || !strings.Contains(r.Body, "crashing on start") {
		t.Errorf("previous log of the default container (%v):\n%s", r.Err, r.Body)
	}
	want := "container crasher (named by " + kube.DefaultContainerAnnotation + ", of prober-foo, crasher), previous instance"
	if r.Note != want {
		t.Errorf("note %q, want %q", r.Note, want)
	}
}
