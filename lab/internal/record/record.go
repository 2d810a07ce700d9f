// Package record writes the lab's Kubernetes Events, for the kubelet and
// the controllers alike, as client-go's tools/record does: an event is
// named "<object>.<unix nanos in hex>" (event.go makeEvent), stamped when it
// is recorded, queued, and written by one goroutine so a slow API never
// holds up a sync; a full queue drops it, as the broadcaster does.
// Identical events are folded into one with a growing count and
// lastTimestamp, as the correlator's EventLogger does (events_cache.go);
// its spam filter and "combined from similar events" aggregation are not
// modelled.
//
// Unlike client-go's recorder, the time comes from a given clock, so tests
// that step a fake clock see it in events as in conditions and statuses.
package record

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// queueSize is the broadcaster's channel length (tools/record/event.go
// maxQueuedEvents).
const queueSize = 1000

// cacheSize is the correlator's LRU size (events_cache.go
// maxLruCacheEntries).
const cacheSize = 4096

// Options configures a Recorder.
type Options struct {
	// Clock stamps events; nil means the real clock.
	Clock clock.PassiveClock
	// Logger reports events that could not be written; nil discards.
	Logger *slog.Logger
	// Pending, if set, is raised for every queued event and lowered once
	// it is written (or dropped), so a caller that waits for its work to
	// settle sees every event, and every count, it caused.
	Pending *atomic.Int64
}

// Recorder records events. Record may be called from any goroutine; Run
// writes them.
type Recorder struct {
	client  kubernetes.Interface
	clock   clock.PassiveClock
	log     *slog.Logger
	pending *atomic.Int64

	ch chan *corev1.Event

	mu       sync.Mutex
	lastNano int64
	seen     map[string]*corev1.Event // getEventKey -> last written; Run's goroutine only
}

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
	return &Recorder{
		client: client, clock: opts.Clock, log: opts.Logger, pending: opts.Pending,
		ch:   make(chan *corev1.Event, queueSize),
		seen: map[string]*corev1.Event{},
	}
}

// Record queues ev. The caller sets what the event says: InvolvedObject,
// Type, Reason, Message, Source and the reporting fields (and Action if
// any); Record names it, puts it in its object's namespace ("default" for
// a cluster-scoped one) and stamps it now with a count of 1.
func (r *Recorder) Record(ev *corev1.Event) {
	t := r.clock.Now()
	ev = ev.DeepCopy()
	ev.Name = fmt.Sprintf("%s.%x", ev.InvolvedObject.Name, r.uniqueNano(t))
	ev.Namespace = ev.InvolvedObject.Namespace
	if ev.Namespace == "" {
		ev.Namespace = metav1.NamespaceDefault
	}
	ev.FirstTimestamp = metav1.NewTime(t)
	ev.LastTimestamp = ev.FirstTimestamp
	ev.Count = 1
	r.pending.Add(1)
	select {
	case r.ch <- ev:
	default:
		r.pending.Add(-1)
		r.log.Warn("event queue full; event dropped", "object", ev.InvolvedObject.Name, "reason", ev.Reason, "message", ev.Message)
	}
}

// uniqueNano is t in nanoseconds, bumped past the last one used: a fake
// clock stands still, and two events of one object must not share a name.
func (r *Recorder) uniqueNano(t time.Time) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
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
		case ev := <-r.ch:
			r.write(ev)
		case <-stop:
			for {
				select {
				case ev := <-r.ch:
					r.write(ev)
				default:
					return
				}
			}
		}
	}
}

// key is events_cache.go getEventKey: what makes two events the same.
func key(ev *corev1.Event) string {
	io := ev.InvolvedObject
	return strings.Join([]string{ev.Source.Component, ev.Source.Host, io.Kind, io.Namespace, io.Name, io.FieldPath,
		string(io.UID), io.APIVersion, ev.Type, ev.Reason, ev.Message}, "\x00")
}

func (r *Recorder) write(ev *corev1.Event) {
	defer r.pending.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := key(ev)
	events := r.client.CoreV1().Events(ev.Namespace)
	if prev := r.seen[k]; prev != nil {
		next := prev.DeepCopy()
		next.Count++
		next.LastTimestamp = ev.LastTimestamp
		updated, err := events.Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			r.remember(k, updated)
			return
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			r.log.Warn("update event", "object", ev.InvolvedObject.Name, "reason", ev.Reason, "err", err)
			return
		}
		// Gone (expired or deleted) or changed underneath: start a new
		// one, as the recorder does.
	}
	created, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		r.log.Warn("create event", "object", ev.InvolvedObject.Name, "reason", ev.Reason, "err", err)
		return
	}
	r.remember(k, created)
}

func (r *Recorder) remember(k string, ev *corev1.Event) {
	// Forgetting everything at the LRU's size bounds memory the same
	// way: the next repeat starts a new event.
	if len(r.seen) >= cacheSize {
		clear(r.seen)
	}
	r.seen[k] = ev
}
