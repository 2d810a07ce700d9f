package kubelet

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// startupPod has startup, readiness and liveness probes every second; the
// startup probe waits 2 s, past the relist that reports the container.
func startupPod(name string, startupFailures int32) *corev1.Pod {
	p := pod(name, nil)
	c := &p.Spec.Containers[0]
	c.StartupProbe = httpProbe("/healthz", 80)
	c.StartupProbe.InitialDelaySeconds, c.StartupProbe.PeriodSeconds, c.StartupProbe.FailureThreshold = 2, 1, startupFailures
	c.ReadinessProbe = httpProbe("/healthz", 80)
	c.ReadinessProbe.PeriodSeconds = 1
	c.LivenessProbe = httpProbe("/healthz", 80)
	c.LivenessProbe.PeriodSeconds = 1
	return p
}

// worker.go: "Disable other probes until container has started"; a
// started container is ready at once if its readiness probe passes, since
// UpdatePodStatus triggers it.
func TestStartupProbeGatesTheOthers(t *testing.T) {
	e := start(t, true)
	e.create(startupPod("boot", 3))
	e.listening("boot")
	e.settle()
	got := e.get("boot")
	cs := containerStatus(got)
	if cs.Started == nil || *cs.Started || cs.Ready {
		t.Fatalf("before the startup probe: started=%v ready=%v, want false false", cs.Started, cs.Ready)
	}
	for _, typ := range []probeType{readiness, liveness} {
		for _, tr := range e.tracesOf(typ) {
			if strings.HasPrefix(tr.What, "probed") {
				t.Errorf("%s probe ran before startup succeeded", typ)
			}
		}
	}
	e.step(time.Second)
	got = e.get("boot")
	cs = containerStatus(got)
	if cs.Started == nil || !*cs.Started || !cs.Ready {
		t.Fatalf("after the startup probe passed: %s", statusSummary(got))
	}
	e.step(time.Second)
	probed := map[probeType]int{}
	for _, typ := range []probeType{startup, readiness, liveness} {
		for _, tr := range e.tracesOf(typ) {
			if strings.HasPrefix(tr.What, "probed") {
				probed[typ]++
			}
		}
	}
	// Startup probes once and stops for this container; the others go on.
	if probed[startup] != 1 || probed[readiness] < 2 || probed[liveness] < 1 {
		t.Errorf("probes run: %v", probed)
	}
}

func TestStartupProbeFailureRestarts(t *testing.T) {
	e := start(t, true)
	e.create(startupPod("noboot", 2))
	p := e.listening("noboot")
	e.settle()
	e.post(p, "/healthz/fail")
	e.step(2 * time.Second)
	e.waitEvent("noboot", reasonKilling, "Container c failed startup probe, will be restarted")
	e.waitEvent("noboot", reasonUnhealthy, "Startup probe failed: HTTP probe failed with statuscode: 500")
	e.waitRun("noboot", 1)
	got := e.listening("noboot")
	if containerStatus(got).RestartCount != 1 {
		t.Errorf("restartCount %d after the startup kill, want 1", containerStatus(got).RestartCount)
	}
	if cs := containerStatus(got); cs.Started != nil && *cs.Started {
		t.Errorf("restarted container counted as started before its startup probe: %s", statusSummary(got))
	}
}

// tcpSocket probes run (pkg/probe/tcp); exec and gRPC cannot in the lab and
// say so once, without failing the pod.
func TestOtherProbeHandlers(t *testing.T) {
	e := start(t, true)
	// PORT makes the server listen on the named port, as it must on a cluster.
	p := pod("handlers", map[string]string{"PORT": "8080"})
	c := &p.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, InitialDelaySeconds: 1, PeriodSeconds: 1}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1}
	e.create(p)
	e.listeningOn("handlers", 8080)
	e.step(time.Second)
	got := e.get("handlers")
	if !containerStatus(got).Ready {
		t.Errorf("tcpSocket readiness on the named port did not pass: %s", statusSummary(got))
	}
	ev := e.waitEvent("handlers", reasonProbeWarning, "Liveness probe warning: exec probes are not supported by the lab; counted as success")
	e.step(2 * time.Second)
	if ev = e.waitEvent("handlers", reasonProbeWarning, ev.Message); ev.Count != 1 {
		t.Errorf("unsupported-probe warning repeated %d times", ev.Count)
	}
	if containerStatus(e.get("handlers")).RestartCount != 0 {
		t.Error("an unsupported probe restarted the container")
	}
}
