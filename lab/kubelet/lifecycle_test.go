package kubelet

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// closed reports whether nothing listens on addr any more.
func closed(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestGracefulDeletionStopsContainersThenRemovesPod(t *testing.T) {
	e := start(t, false)
	e.create(pod("del", nil))
	p := e.listening("del")
	addr, _ := PodAddress(p, 80)
	grace := int64(5)
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "del", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	// killContainer's message when no reason is given
	// (kuberuntime_container.go): "Stopping container %s".
	e.waitEvent("del", reasonKilling, "Stopping container c")
	e.waitFor("pod removed", func() bool {
		_, err := e.client.CoreV1().Pods("default").Get(context.Background(), "del", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if !closed(addr) {
		t.Errorf("container still serves on %s after the pod was deleted", addr)
	}
}

func TestPodRemovedOutrightStopsContainers(t *testing.T) {
	e := start(t, false)
	e.create(pod("gone", nil))
	p := e.listening("gone")
	addr, _ := PodAddress(p, 80)
	zero := int64(0)
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "gone", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("container stopped", func() bool { return closed(addr) })
}

func TestRunStopsEveryContainerWhenItEnds(t *testing.T) {
	e := start(t, false)
	var addrs []string
	for i := range 3 {
		name := fmt.Sprintf("p%d", i)
		// One drains for 100 s after SIGTERM: Run must SIGKILL it after
		// its shutdown limit.
		env := map[string]string{}
		if i == 0 {
			env["DRAIN_DELAY_SECS"] = "100"
		}
		e.create(pod(name, env))
		p := e.listening(name)
		a, _ := PodAddress(p, 80)
		addrs = append(addrs, a)
	}
	e.stopKubelet()
	for _, a := range addrs {
		if !closed(a) {
			t.Errorf("%s still served after Run returned", a)
		}
	}
}

// A lab that ends while a container is being killed for a failed liveness
// probe does not wait out the pod's grace period.
func TestRunEndsDuringALivenessKill(t *testing.T) {
	e := start(t, true)
	p := pod("stuck", map[string]string{"DRAIN_DELAY_SECS": "100"})
	pr := httpProbe("/healthz", 80)
	pr.InitialDelaySeconds, pr.PeriodSeconds, pr.FailureThreshold = 1, 1, 1
	p.Spec.Containers[0].LivenessProbe = pr
	p.Spec.TerminationGracePeriodSeconds = ptr(int64(3600))
	e.create(p)
	got := e.listening("stuck")
	addr, _ := PodAddress(got, 80)
	e.settle()
	e.post(got, "/healthz/fail")
	e.fake.Step(time.Second)
	e.waitEvent("stuck", reasonKilling, "Container c failed liveness probe, will be restarted")
	e.stopKubelet() // fails the test if Run takes 30 s
	if !closed(addr) {
		t.Errorf("%s still served after Run returned", addr)
	}
}

// A pod deleted from the API leaves nothing in the kubelet once its worker
// ends: no worker and no finished entry, whichever of the two (the worker's
// end or the informer's delete) comes first. A lab in chaos mode runs
// thousands of pods over an afternoon.
func TestDeletedPodLeavesNoState(t *testing.T) {
	e := start(t, false)
	for i := range 5 {
		name := fmt.Sprintf("gone-%d", i)
		e.create(pod(name, nil))
		e.listening(name)
		grace := int64(i % 2) // 0: removed outright; 1: graceful
		if err := e.client.CoreV1().Pods("default").Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitFor("every worker ended and no pod's UID kept", func() bool {
		e.k.mu.Lock()
		defer e.k.mu.Unlock()
		return len(e.k.workers) == 0 && len(e.k.finished) == 0
	})
}
