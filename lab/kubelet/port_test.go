package kubelet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/proberctl/proberctl/demo"
)

// The probe server listens on its PORT env only, 80 by default (the
// Dockerfile's ENV PORT=80); containerPorts do not move it.
func TestListenPort(t *testing.T) {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name string
		c    *corev1.Container
		want int
	}{
		{"nil container", nil, 80},
		{"no env", &corev1.Container{}, 80},
		{"containerPort is informational", &corev1.Container{Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}, 80},
		{"PORT literal", &corev1.Container{Env: env("PORT", "8080")}, 8080},
		{"later PORT wins", &corev1.Container{Env: env("PORT", "8080", "PORT", "9090")}, 9090},
		{"PORT not a number", &corev1.Container{Env: env("PORT", "http")}, 80},
		{"PORT out of range", &corev1.Container{Env: env("PORT", "70000")}, 80},
		{"PORT from valueFrom", &corev1.Container{Env: []corev1.EnvVar{{Name: "PORT", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ListenPort(tt.c); got != tt.want {
				t.Errorf("ListenPort = %d, want %d", got, tt.want)
			}
		})
	}
}

// A port nothing listens on is refused by PodAddress, as on a pod IP, even
// with one container and even when a containerPort declares it.
func TestPodAddressRefusesUnservedPort(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Annotations: map[string]string{
			IPAnnotation: "127.0.1.2", PortsAnnotation: `{"c":4001,"c/80":4001}`}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
	}
	if got, err := PodAddress(p, 80); err != nil || got != "127.0.1.2:4001" {
		t.Errorf("PodAddress(80) = %q, %v; want 127.0.1.2:4001", got, err)
	}
	_, err := PodAddress(p, 8080)
	if err == nil {
		t.Fatal("PodAddress(8080) served a port nothing listens on")
	}
	for _, want := range []string{"dial tcp 127.0.1.2:8080: connect: connection refused", "no container listens on port 8080", "c/80"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("PodAddress(8080) error %q does not say %q", err, want)
		}
	}
}

// listeningOn is listening for a pod whose server listens on port.
func (e *env) listeningOn(name string, port int) *corev1.Pod {
	e.t.Helper()
	p := e.waitPod(name, "addresses", func(p *corev1.Pod) bool { _, err := PodAddress(p, port); return err == nil })
	addr, _ := PodAddress(p, port)
	e.waitFor("server on "+addr, func() bool { _, err := httpGet("http://" + addr + "/info"); return err == nil })
	_, _, id := e.current(name)
	e.settle()
	if containerStatus(e.get(name)).ContainerID != id {
		e.step(relistPeriod)
	}
	return e.waitPod(name, "container running", func(p *corev1.Pod) bool {
		return running(p) && containerStatus(p).ContainerID == id
	})
}

// The most common probe mistake: probes on a port the image does not
// listen on. A declared containerPort (here reached by name) does not help;
// the kubelet's probes are refused, the pod never becomes ready, and
// liveness restarts it.
func TestProbeOnUnservedPortIsRefused(t *testing.T) {
	e := start(t, true)
	p := pod("wrongport", nil)
	c := &p.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}, PeriodSeconds: 1}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9090)}}, PeriodSeconds: 1, FailureThreshold: 2}
	e.create(p)
	got := e.listening("wrongport") // the server itself is up, on 80
	ip := got.Annotations[IPAnnotation]
	e.step(2 * time.Second)
	e.waitEvent("wrongport", reasonUnhealthy,
		fmt.Sprintf(`Readiness probe failed: Get "http://%s:8080/healthz": dial tcp %s:8080: connect: connection refused`, ip, ip))
	e.waitEvent("wrongport", reasonUnhealthy, fmt.Sprintf(`Liveness probe failed: dial tcp %s:9090: connect: connection refused`, ip))
	e.waitEvent("wrongport", reasonKilling, "Container c failed liveness probe, will be restarted")
	if cs := containerStatus(e.get("wrongport")); cs.Ready {
		t.Errorf("pod ready although its readiness probe's port is not served: %s", statusSummary(e.get("wrongport")))
	}
	if _, err := PodAddress(got, 8080); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("PodAddress(8080) = %v, want connection refused", err)
	}
}

// Setting PORT moves the server, and with it the one port that is served.
func TestProbeFollowsPORTEnv(t *testing.T) {
	e := start(t, true)
	p := pod("port8080", map[string]string{"PORT": "8080"})
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}
	e.create(p)
	got := e.listeningOn("port8080", 8080)
	e.step(2 * time.Second)
	if got = e.get("port8080"); !containerStatus(got).Ready {
		t.Errorf("readiness on the PORT the server listens on did not pass: %s", statusSummary(got))
	}
	if _, err := PodAddress(got, 80); err == nil {
		t.Error("PodAddress(80) served a pod whose server listens on 8080")
	}
}

// The demo's manifests declare no containerPorts and no PORT, probe on 80
// and target 80 from the Service: all served.
func TestDemoManifestPortsServe(t *testing.T) {
	raw, err := demo.File(demo.Stage1)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(raw, &d); err != nil {
		t.Fatalf("decode %s: %v", demo.Stage1, err)
	}
	raw, err = demo.File(demo.Service)
	if err != nil {
		t.Fatal(err)
	}
	var svc corev1.Service
	if err := yaml.UnmarshalStrict(raw, &svc); err != nil {
		t.Fatalf("decode %s: %v", demo.Service, err)
	}
	spec := *d.Spec.Template.Spec.DeepCopy()
	// The start delay and crashes are the demo's story, not its ports; the
	// server's own clock is real, so they would only slow the test.
	var env []corev1.EnvVar
	for _, v := range spec.Containers[0].Env {
		if v.Name != "START_WAIT_SECS" && v.Name != "CRASH_FACTOR" {
			env = append(env, v)
		}
	}
	spec.Containers[0].Env = env
	e := start(t, true)
	e.create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "foo", Namespace: "default", Labels: d.Spec.Template.Labels}, Spec: spec})
	e.listening("foo")
	// readiness: initialDelaySeconds 5, then every 10 s (the default period).
	e.step(20 * time.Second)
	got := e.get("foo")
	if !containerStatus(got).Ready || containerStatus(got).RestartCount != 0 {
		t.Fatalf("demo pod not ready on its probes on 80: %s", statusSummary(got))
	}
	target := svc.Spec.Ports[0].TargetPort.IntValue()
	addr, err := PodAddress(got, target)
	if err != nil {
		t.Fatalf("Service targetPort %d: %v", target, err)
	}
	if code, err := httpGet("http://" + addr + "/healthz"); err != nil || code != 200 {
		t.Errorf("GET /healthz through targetPort %d = %d, %v; want 200", target, code, err)
	}
}

// A named probe port resolves through the container's ports
// (pkg/probe/util.go ResolveContainerPort) and passes when it names the port
// the server listens on.
func TestNamedProbePortOnListenPort(t *testing.T) {
	e := start(t, true)
	p := pod("named", map[string]string{"PORT": "8080"})
	c := &p.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, PeriodSeconds: 1}
	e.create(p)
	e.listeningOn("named", 8080)
	e.step(2 * time.Second)
	if got := e.get("named"); !containerStatus(got).Ready {
		t.Errorf("tcpSocket readiness on the named listening port did not pass: %s", statusSummary(got))
	}
}
