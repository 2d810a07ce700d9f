package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"
)

// recorder writes the controllers' events as client-go's record package
// does (tools/record/event.go makeEvent: name "<object>.<unix nanos in
// hex>", source and reporting controller the component, first and last
// timestamp now, count 1), with two differences: the time is the
// controller's clock, so tests that step a fake clock see it in events as
// in conditions (record's recorder always uses the real clock), and only
// identical events are folded into one with a growing count (the
// correlator's EventLogger, tools/record/events_cache.go); its spam filter
// and "combined from similar events" aggregation are not modelled.
//
// Events are queued and written by one goroutine, so a slow API never
// holds up a sync; a full queue drops the event, as the broadcaster does.
type recorder struct {
	client    kubernetes.Interface
	clock     clock.PassiveClock
	log       *slog.Logger
	component string

	ch chan *corev1.Event

	mu       sync.Mutex
	seen     map[string]*corev1.Event // identity -> last written
	lastNano int64
}

func newRecorder(client kubernetes.Interface, clk clock.PassiveClock, log *slog.Logger, component string) *recorder {
	return &recorder{
		client: client, clock: clk, log: log, component: component,
		ch:   make(chan *corev1.Event, 1000),
		seen: map[string]*corev1.Event{},
	}
}

// Eventf records an event about obj, as record.EventRecorder.Eventf.
func (r *recorder) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	ref, err := reference.GetReference(scheme.Scheme, obj)
	if err != nil {
		r.log.Warn("no reference for event; dropped", "reason", reason, "err", err)
		return
	}
	t := r.clock.Now()
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.Name, r.uniqueNano(t)), Namespace: ns},
		InvolvedObject:      *ref,
		Reason:              reason,
		Message:             fmt.Sprintf(messageFmt, args...),
		Type:                eventtype,
		Source:              corev1.EventSource{Component: r.component},
		FirstTimestamp:      metav1.NewTime(t),
		LastTimestamp:       metav1.NewTime(t),
		Count:               1,
		ReportingController: r.component,
	}
	select {
	case r.ch <- ev:
	default:
		r.log.Warn("event queue full; dropped", "object", ref.Name, "reason", reason)
	}
}

// uniqueNano keeps event names distinct when the clock stands still (a
// fake clock) or two events come within its resolution.
func (r *recorder) uniqueNano(t time.Time) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := t.UnixNano()
	if n <= r.lastNano {
		n = r.lastNano + 1
	}
	r.lastNano = n
	return n
}

// run writes queued events until ctx ends.
func (r *recorder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-r.ch:
			r.write(ctx, ev)
		}
	}
}

func (r *recorder) write(ctx context.Context, ev *corev1.Event) {
	// The EventLogger's identity: source, involved object, type, reason
	// and message (events_cache.go getEventKey).
	io := ev.InvolvedObject
	key := fmt.Sprintf("%s/%s/%s/%s/%s/%s/%s/%s", ev.Source.Component, io.Kind, io.Namespace, io.Name, io.UID, ev.Type, ev.Reason, ev.Message)
	events := r.client.CoreV1().Events(ev.Namespace)
	r.mu.Lock()
	prev := r.seen[key]
	r.mu.Unlock()
	if prev != nil {
		next := prev.DeepCopy()
		next.Count++
		next.LastTimestamp = ev.LastTimestamp
		updated, err := events.Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			r.remember(key, updated)
			return
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			r.log.Warn("update event", "object", io.Name, "reason", ev.Reason, "err", err)
			return
		}
		// Gone or changed underneath: start a new one.
	}
	created, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("create event", "object", io.Name, "reason", ev.Reason, "err", err)
		}
		return
	}
	r.remember(key, created)
}

func (r *recorder) remember(key string, ev *corev1.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The correlator's cache is an LRU of 4096; forgetting everything at
	// that size bounds memory the same way: the next repeat starts anew.
	if len(r.seen) >= 4096 {
		clear(r.seen)
	}
	r.seen[key] = ev
}
