// Package record writes the lab's Kubernetes Events, for the kubelet and
// the controllers alike, as client-go's tools/record does: an event is
// named "<object>.<unix nanos in hex>" (event.go makeEvent), stamped when it
// is recorded, queued, and written by one goroutine so a slow API never
// holds up a sync; a full queue drops it, as the broadcaster does.
//
// Before it is written, an event goes through client-go's own
// EventCorrelator with the defaults every kubelet and controller manager
// runs with (record.NewBroadcaster, events_cache.go NewEventCorrelator):
// identical repeats are folded into one event with a growing count and
// lastTimestamp (written as a strategic merge patch, as recordToSink
// does); the 10th different message of the same reason about an object
// within 10 minutes becomes one "(combined from similar events): ..."
// event; and a source may write 25 events about an object (per type)
// before it gets one more every 5 minutes, the rest counted but not
// written. Components sharing a Recorder share its correlator, which is as
// if each had its own (as each controller and the scheduler do): every
// key the correlator uses starts with the source component.
//
// Unlike client-go's recorder, the time comes from a given clock, so tests
// that step a fake clock see it in events as in conditions and statuses,
// and the correlator's windows and refill run on that clock too: an event
// is correlated at the instant it was recorded, whenever it is written.
package record

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kuberecord "k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// queueSize is the broadcaster's channel length (tools/record/event.go
// maxQueuedEvents).
const queueSize = 1000

// Options configures a Recorder.
type Options struct {
	// Clock stamps events and drives the correlator; nil means the real
	// clock.
	Clock clock.PassiveClock
	// Logger reports events that could not be written; nil discards.
	Logger *slog.Logger
	// Pending, if set, is raised for every queued event and lowered once
	// it is written, throttled or dropped, so a caller that waits for its
	// work to settle sees every event, and every count, it caused.
	Pending *atomic.Int64
}

// Recorder records events. Record may be called from any goroutine; Run
// writes them.
type Recorder struct {
	client  kubernetes.Interface
	clock   clock.PassiveClock
	log     *slog.Logger
	pending *atomic.Int64

	ch chan queued

	mu       sync.Mutex // orders names and the queue alike
	lastNano int64

	// Run's goroutine only: the correlator reads its time from at, set to
	// each event's instant before the event is correlated.
	at         *instant
	correlator *kuberecord.EventCorrelator
}

// queued is an event and the instant it was recorded, unique to it.
type queued struct {
	ev *corev1.Event
	at time.Time
}

// instant is a clock standing at the event being correlated. The
// aggregator names a combined event after its clock's nanoseconds, so
// the instant is the event's own unique one: the combined event takes the
// name the event it replaces would have had, and never another's.
type instant struct{ t time.Time }

func (c *instant) Now() time.Time                  { return c.t }
func (c *instant) Since(t time.Time) time.Duration { return c.t.Sub(t) }

// New returns a Recorder writing through client.
func New(client kubernetes.Interface, opts Options) *Recorder {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Pending == nil {
		opts.Pending = new(atomic.Int64)
	}
	at := &instant{}
	return &Recorder{
		client: client, clock: opts.Clock, log: opts.Logger, pending: opts.Pending,
		ch: make(chan queued, queueSize),
		at: at,
		// Zero options are client-go's defaults (events_cache.go
		// populateDefaults): the kubelet (cmd/kubelet/app/server.go
		// makeEventRecorder) and kube-controller-manager use them as is.
		correlator: kuberecord.NewEventCorrelatorWithOptions(kuberecord.CorrelatorOptions{Clock: at}),
	}
}

// Record queues ev. The caller sets what the event says: InvolvedObject,
// Type, Reason, Message, Source and the reporting fields (and Action if
// any); Record names it, puts it in its object's namespace ("default" for
// a cluster-scoped one) and stamps it now with a count of 1.
func (r *Recorder) Record(ev *corev1.Event) {
	t := r.clock.Now()
	ev = ev.DeepCopy()
	ev.Namespace = ev.InvolvedObject.Namespace
	if ev.Namespace == "" {
		ev.Namespace = metav1.NamespaceDefault
	}
	ev.FirstTimestamp = metav1.NewTime(t)
	ev.LastTimestamp = ev.FirstTimestamp
	ev.Count = 1
	// Naming and queueing under one lock keeps the queue in the order of
	// the instants, so the correlator's clock never runs backwards.
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.uniqueNano(t)
	ev.Name = fmt.Sprintf("%s.%x", ev.InvolvedObject.Name, n)
	r.pending.Add(1)
	select {
	case r.ch <- queued{ev: ev, at: t.Add(time.Duration(n - t.UnixNano()))}:
	default:
		r.pending.Add(-1)
		r.log.Warn("event queue full; event dropped", "object", ev.InvolvedObject.Name, "reason", ev.Reason, "message", ev.Message)
	}
}

// uniqueNano is t in nanoseconds, bumped past the last one used: a fake
// clock stands still, and two events of one object must not share a name.
// r.mu is held.
func (r *Recorder) uniqueNano(t time.Time) int64 {
	n := t.UnixNano()
	if n <= r.lastNano {
		n = r.lastNano + 1
	}
	r.lastNano = n
	return n
}

// Run writes queued events until stop is closed, then the ones still
// queued, and returns. Call it once.
func (r *Recorder) Run(stop <-chan struct{}) {
	for {
		select {
		case q := <-r.ch:
			r.write(q)
		case <-stop:
			for {
				select {
				case q := <-r.ch:
					r.write(q)
				default:
					return
				}
			}
		}
	}
}

// write correlates and writes one event as the broadcaster's recordToSink
// and recordEvent do (tools/record/event.go): a throttled event is only
// counted; a repeat patches the event it repeats, or creates it again if
// that is gone; what the server returns is the correlator's new state.
// Unlike recordEvent it does not retry: the lab's API is in process, and
// an error is not a network's.
func (r *Recorder) write(q queued) {
	defer r.pending.Add(-1)
	r.at.t = q.at
	res, err := r.correlator.EventCorrelate(q.ev)
	if err != nil {
		// Only a failed patch computation; recordToSink goes on too.
		r.log.Warn("correlate event", "object", q.ev.InvolvedObject.Name, "reason", q.ev.Reason, "err", err)
	}
	if res == nil || res.Skip {
		return
	}
	ev := res.Event
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := r.client.CoreV1().Events(ev.Namespace)
	var written *corev1.Event
	update := ev.Count > 1
	if update {
		written, err = events.Patch(ctx, ev.Name, types.StrategicMergePatchType, res.Patch, metav1.PatchOptions{})
	}
	if !update || apierrors.IsNotFound(err) {
		// Expired or deleted: start it again, count and all.
		ev.ResourceVersion = ""
		written, err = events.Create(ctx, ev, metav1.CreateOptions{})
	}
	if err != nil {
		r.log.Warn("write event", "object", ev.InvolvedObject.Name, "reason", ev.Reason, "message", ev.Message, "count", ev.Count, "err", err)
		return
	}
	r.correlator.UpdateState(written)
}
