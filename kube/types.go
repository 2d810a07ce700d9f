package kube

import (
	"context"
	"time"
)

// Kind names a resource the watcher follows.
type Kind int

const (
	KindPod Kind = iota
	KindEvent
	KindReplicaSet
	KindDeployment
	KindEndpointSlice
	KindService
)

func (k Kind) String() string {
	switch k {
	case KindPod:
		return "Pod"
	case KindEvent:
		return "Event"
	case KindReplicaSet:
		return "ReplicaSet"
	case KindDeployment:
		return "Deployment"
	case KindEndpointSlice:
		return "EndpointSlice"
	case KindService:
		return "Service"
	}
	return "Unknown"
}

// DeltaType says whether an object was added or changed, or went away.
type DeltaType int

const (
	Upsert DeltaType = iota
	Deleted
)

// Delta is one change seen by an informer. Obj is the typed object
// (*corev1.Pod, *corev1.Event, *appsv1.ReplicaSet, *appsv1.Deployment,
// *discoveryv1.EndpointSlice, *corev1.Service) with managed fields stripped.
// For Deleted it is the last known state.
type Delta struct {
	Kind Kind
	Type DeltaType
	Key  string // namespace/name
	Obj  any
}

// ConnState is the watcher's view of its connection to the API.
type ConnState int

const (
	Connecting   ConnState = iota // first list not done yet
	Connected                     // caches synced, watches running
	Disconnected                  // watches failing; informers retry with back-off
	Forbidden                     // RBAC refused a list or watch
)

func (s ConnState) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Forbidden:
		return "forbidden"
	}
	return "unknown"
}

// Conn is the connection state with the reason, for the header.
type Conn struct {
	State ConnState
	// Detail says why, in words a person can act on: the API server error,
	// or for Forbidden the verb and resource RBAC refused.
	Detail string
	Since  time.Time
}

// Batch is what the dashboard receives per window: the deltas seen since the
// last batch, in order, and the connection state when it changed.
type Batch struct {
	Deltas []Delta
	Conn   *Conn // nil when unchanged
	Synced bool  // true once every informer's cache has synced
}

// Source delivers batches. Next blocks until at least one delta or a
// connection change is available (or ctx ends), then keeps collecting for the
// batching window and returns everything it gathered as one Batch.
type Source interface {
	Next(ctx context.Context) (Batch, error)
}

// Target names the pod an action is fired at.
type Target struct {
	Namespace string
	Pod       string
}

func (t Target) String() string { return t.Namespace + "/" + t.Pod }

// Result is what an action returns: status, latency and body, or an error
// that says what happened.
type Result struct {
	Action  string // "crash", "resolve", "healthz", "info", "delete", "apply", "logs"
	Target  Target // zero for apply
	Code    int    // HTTP status, 0 when no response
	Latency time.Duration
	Body    string
	// Note explains an outcome that is not a failure, for example a crash
	// whose connection closed: "connection closed: the container exited".
	Note string
	Err  error
}

// OK reports whether the action did what was asked.
func (r Result) OK() bool { return r.Err == nil }

// Actions are what a person fires at pods. A cluster implements them through
// the API server (pods/proxy, delete, server-side apply); the lab implements
// them directly over loopback.
type Actions interface {
	Crash(ctx context.Context, t Target) Result
	Resolve(ctx context.Context, t Target, host string) Result
	Healthz(ctx context.Context, t Target) Result
	Info(ctx context.Context, t Target) Result
	// Delete deletes the pod; grace nil means the pod's own grace period.
	Delete(ctx context.Context, t Target, grace *int64) Result
	// Apply applies every object in a manifest file (YAML, several documents
	// allowed) or a directory of them.
	Apply(ctx context.Context, path string) Result
	// Logs returns the tail of the pod's container output (at most 200
	// lines): of its previous instance when previous is set, as
	// `kubectl logs --previous` does. The container is the pod's only one,
	// or the one the kubectl.kubernetes.io/default-container annotation
	// names, else the first; Note names it ("container prober-foo,
	// previous instance").
	Logs(ctx context.Context, t Target, previous bool) Result
}
