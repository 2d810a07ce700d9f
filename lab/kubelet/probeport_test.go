package kubelet

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestUnservedPortMessage(t *testing.T) {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		typ  probeType
		port int
		c    corev1.Container
		want string
	}{
		{"PORT unset", readiness, 8080, corev1.Container{Name: "web"},
			`Readiness probe warning: port 8080 is not the port the probe server listens on (PORT unset: 80, the image's default), so every probe is refused; set env PORT to "8080" in container web, or point the probe at port 80`},
		{"PORT set elsewhere", liveness, 80, corev1.Container{Name: "api", Env: env("PORT", "9000")},
			`Liveness probe warning: port 80 is not the port the probe server listens on (PORT=9000), so every probe is refused; set env PORT to "80" in container api, or point the probe at port 9000`},
		{"a later PORT that is not a port", startup, 8080, corev1.Container{Name: "c", Env: env("PORT", "9000", "PORT", "http")},
			`Startup probe warning: port 8080 is not the port the probe server listens on (PORT unset: 80, the image's default), so every probe is refused; set env PORT to "8080" in container c, or point the probe at port 80`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unservedPortMessage(tc.typ, tc.port, &tc.c); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// A probe on a port the server does not listen on gets, besides the
// kubelet's "connection refused", one Warning per container instance that
// says why and how to fix it; a probe on the served port gets none.
func TestProbeOnUnservedPortWarnsOncePerContainer(t *testing.T) {
	e := start(t, true)
	good := pod("rightport", nil)
	good.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: httpProbe("/readyz", 80).ProbeHandler, PeriodSeconds: 1}
	e.create(good)
	e.listening("rightport")
	p := pod("wrongport", nil)
	c := &p.Spec.Containers[0]
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: httpProbe("/readyz", 8080).ProbeHandler, PeriodSeconds: 1}
	// At most four failures happen before the restart is asked for below
	// (the first probe, the relist's second, two steps).
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9090)}}, PeriodSeconds: 1, FailureThreshold: 5}
	e.create(p)
	e.listening("wrongport")
	ip := e.get("wrongport").Annotations[IPAnnotation]

	readyWarn := `Readiness probe warning: port 8080 is not the port the probe server listens on (PORT unset: 80, the image's default), so every probe is refused; set env PORT to "8080" in container c, or point the probe at port 80`
	liveWarn := `Liveness probe warning: port 9090 is not the port the probe server listens on (PORT unset: 80, the image's default), so every probe is refused; set env PORT to "9090" in container c, or point the probe at port 80`
	refused := fmt.Sprintf(`Readiness probe failed: Get "http://%s:8080/readyz": dial tcp %s:8080: connect: connection refused`, ip, ip)

	e.step(2 * time.Second) // liveness failures below the threshold: the first instance still runs
	e.waitEvent("wrongport", reasonProbeWarning, readyWarn)
	e.waitEvent("wrongport", reasonProbeWarning, liveWarn)
	if n := e.waitEvent("wrongport", reasonUnhealthy, refused).Count; n < 2 {
		t.Fatalf("readiness refused %d times, want at least 2 before checking the warning is not repeated", n)
	}
	for _, w := range []string{readyWarn, liveWarn} {
		if n := e.waitEvent("wrongport", reasonProbeWarning, w).Count; n != 1 {
			t.Errorf("warning given %d times for one container instance, want once: %s", n, w)
		}
	}

	for i := 0; i < 10; i++ { // to the fifth liveness failure: killed and restarted at once
		if a, _, _ := e.current("wrongport"); a >= 1 {
			break
		}
		e.step(time.Second)
	}
	e.waitRun("wrongport", 1)
	e.listening("wrongport")
	e.step(time.Second)
	for _, w := range []string{readyWarn, liveWarn} {
		e.waitFor("the warning for the new instance", func() bool { return e.waitEvent("wrongport", reasonProbeWarning, w).Count == 2 })
	}

	for _, ev := range e.events("rightport") {
		if ev.Reason == reasonProbeWarning {
			t.Errorf("probe on the served port warned: %s", ev.Message)
		}
	}
}
