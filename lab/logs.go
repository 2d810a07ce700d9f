package lab

import (
	"context"
	"errors"

	"github.com/proberctl/proberctl/kube"
)

// Logs is not wired to the lab kubelet yet.
func (a *actions) Logs(ctx context.Context, t kube.Target, previous bool) kube.Result {
	return kube.Result{Action: "logs", Target: withNamespace(t), Err: errors.New("logs: not implemented in the lab yet")}
}
