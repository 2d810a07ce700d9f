package lab

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube"
)

// Logs returns the tail of the pod's container output from the lab's
// kubelet, which keeps each run's stdout and stderr; the container is
// picked, and a pod not on the node refused, as the API server's
// pods/log does before it asks the kubelet
// (pkg/registry/core/pod/strategy.go LogLocation).
func (a *actions) Logs(ctx context.Context, t kube.Target, previous bool) (r kube.Result) {
	t = withNamespace(t)
	// r is the named result, so the deferred Latency is returned.
	r = kube.Result{Action: "logs", Target: t}
	start := time.Now()
	defer func() { r.Latency = time.Since(start) }()
	pod, err := a.l.Client().CoreV1().Pods(t.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		r.Code = 404
		r.Err = fmt.Errorf("logs %s: not found: %w", t, err)
		return r
	case err != nil:
		r.Err = fmt.Errorf("logs %s: %w", t, err)
		return r
	}
	container, what, ok := kube.PlanLogs(&r, pod, previous)
	if !ok {
		return r
	}
	out, err := a.l.kubelet.ContainerLogs(t.Namespace, t.Pod, container, previous, kube.LogTailLines)
	if err != nil {
		r.Code = 400 // the kubelet's refusals reach a client as BadRequest
		r.Err = fmt.Errorf("%s: %w", what, err)
		return r
	}
	r.Code = 200
	r.Body = kube.TailBody([]byte(out))
	return r
}
