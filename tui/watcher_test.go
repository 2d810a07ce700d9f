package tui

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/proberctl/proberctl/kube"
)

// TestFlowOnTheRealWatcher runs the dashboard on kube's Watcher over
// client-go's fake clientset: the contract between the two (synced batch,
// object types, keys) is exercised end to end, not only with scripted
// batches.
func TestFlowOnTheRealWatcher(t *testing.T) {
	ctx := t.Context()
	p := pod("prober-foo-67b66bdbf7-4bxjb", time.Now().Add(-time.Minute), ready(time.Now()))
	other := pod("unrelated-0", time.Now())
	other.Labels = map[string]string{"app": "other"}
	client := fake.NewClientset(p, other)
	w := kube.NewWatcher(client, kube.WatchOptions{Namespace: "default", LabelSelector: "app=prober-foo", Window: 20 * time.Millisecond})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m := newModel(ctx, Options{Source: w, Actions: &fakeActions{}, Namespace: "default", Selector: "app=prober-foo"}, false, nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	waitText(t, tm, "prober-foo-67b66bdbf7-4bxjb", "connected", "ready 1 of 1 pods")

	// The kubelet restarts the container: the row, the header and the
	// event show it.
	p = p.DeepCopy()
	cs := &p.Status.ContainerStatuses[0]
	cs.RestartCount = 1
	cs.Ready = false
	cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2, FinishedAt: metav1.Now()}}
	setCond(p, corev1.PodReady, corev1.ConditionFalse, time.Now())
	if _, err := client.CoreV1().Pods("default").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := event("e1", p.Name, "Warning", "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", 1, time.Now()).Obj.(*corev1.Event)
	if _, err := client.CoreV1().Events("default").Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitText(t, tm, "restarts 1", "Liveness probe failed: HTTP probe failed with statuscode: 500")
	quit(t, tm)
	fm := tm.FinalModel(t).(*model)
	if _, ok := fm.state.pods["default/unrelated-0"]; ok {
		t.Error("a pod outside the selector reached the table")
	}
}
