package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSmokeRunsPodUntilReady(t *testing.T) {
	e := start(t, false)
	p := pod("smoke", nil)
	p.Spec.Containers[0].ReadinessProbe = httpProbe("/healthz", 80)
	p.Spec.Containers[0].ReadinessProbe.PeriodSeconds = 1
	e.create(p)
	got := e.waitPod("smoke", "ready", func(p *corev1.Pod) bool { return containerStatus(p).Ready })
	t.Logf("%s", statusSummary(got))
	addr, err := PodAddress(got, 80)
	if err != nil {
		t.Fatal(err)
	}
	res, err := testHTTP.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ev := range e.events("smoke") {
		t.Logf("%s %s %s %d", ev.Type, ev.Reason, ev.Message, ev.Count)
	}
}
