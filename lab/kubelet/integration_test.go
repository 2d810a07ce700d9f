package kubelet

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/kube/kubetest"
)

// TestRealAPIServerAcceptsWhatTheKubeletWrites runs the node agent against a
// real kube-apiserver: binding, the port annotations, every status it writes
// (validation would refuse a malformed one), events, and the deletion
// protocol with a grace period.
func TestRealAPIServerAcceptsWhatTheKubeletWrites(t *testing.T) {
	cp := kubetest.Start(t)
	ns := cp.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	k := New(cp.Client, Options{ServerArgv: []string{buildProberctl(t), "serve"}})
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	p := pod("real", map[string]string{"START_WAIT_SECS": "0"})
	p.Namespace = ns
	rp := httpProbe("/healthz", 80)
	rp.PeriodSeconds = 1
	lp := httpProbe("/healthz", 80)
	lp.PeriodSeconds, lp.InitialDelaySeconds = 1, 1
	p.Spec.Containers[0].ReadinessProbe = rp
	p.Spec.Containers[0].LivenessProbe = lp
	pods := cp.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cur, err := pods.Get(ctx, "real", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = cur
		return kube.PodStatus(cur, time.Now()).Ready == "1/1", nil
	})
	if err != nil {
		t.Fatalf("pod never became ready on a real apiserver: %v; %s", err, statusSummary(got))
	}
	if got.Spec.NodeName != "lab" {
		t.Errorf("nodeName %q, want lab", got.Spec.NodeName)
	}
	if _, err := PodAddress(got, 80); err != nil {
		t.Errorf("PodAddress on the stored pod: %v", err)
	}
	cols := kube.PodStatus(got, time.Now())
	if cols.Status != "Running" || cols.IP != got.Status.PodIP {
		t.Errorf("STATUS %s IP %s", cols.Status, cols.IP)
	}
	var types []corev1.PodConditionType
	for _, c := range got.Status.Conditions {
		types = append(types, c.Type)
		if c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %s once ready", c.Type, c.Status)
		}
	}
	if len(types) != 5 {
		t.Errorf("conditions %v, want PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled", types)
	}

	evs, err := cp.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, ev := range evs.Items {
		reasons[ev.Reason] = true
	}
	for _, r := range []string{reasonScheduled, reasonPulled, reasonCreated, reasonStarted} {
		if !reasons[r] {
			t.Errorf("no %s event stored (have %v)", r, reasons)
		}
	}

	grace := int64(3)
	if err := pods.Delete(ctx, "real", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, "real", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("pod not removed after graceful deletion: %v", err)
	}
}
