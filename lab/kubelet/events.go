package kubelet

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
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Event reasons, from pkg/kubelet/events/event.go (and the scheduler's
// "Scheduled", pkg/scheduler/schedule_one.go).
const (
	reasonScheduled    = "Scheduled"
	reasonPulled       = "Pulled"
	reasonCreated      = "Created"
	reasonStarted      = "Started"
	reasonKilling      = "Killing"
	reasonBackOff      = "BackOff"
	reasonUnhealthy    = "Unhealthy"    // events.ContainerUnhealthy
	reasonProbeWarning = "ProbeWarning" // events.ContainerProbeWarning
	reasonFailed       = "Failed"
)

// event is one call to the recorder.
type event struct {
	pod       *corev1.Pod
	container string // "" for a pod-level event
	component string // source.component: "kubelet" or "default-scheduler"
	typ       string
	reason    string
	message   string
}

// recorder writes events through the client from one goroutine, so a slow
// API never blocks a pod's sync, as client-go's broadcaster does. Identical
// events (same object, reason, message, type, source) are folded into one
// with a growing count and lastTimestamp, as the correlator's EventLogger
// does (staging/src/k8s.io/client-go/tools/record/events_cache.go).
type recorder struct {
	client kubernetes.Interface
	clock  clock.Clock
	node   string
	log    *slog.Logger
	// pending is the kubelet's count of work not yet done: a queued
	// event counts until it is written, so a test that waits for the
	// kubelet to settle sees every event, and every count, it caused.
	pending *atomic.Int64

	ch   chan event
	done chan struct{}

	lastNano int64 // used by run's goroutine only

	mu   sync.Mutex
	seen map[string]*corev1.Event // aggregation key -> last written
}

func newRecorder(client kubernetes.Interface, clk clock.Clock, node string, log *slog.Logger, pending *atomic.Int64) *recorder {
	return &recorder{
		client: client, clock: clk, node: node, log: log, pending: pending,
		ch:   make(chan event, 1000),
		done: make(chan struct{}),
		seen: map[string]*corev1.Event{},
	}
}

// emit queues an event. Like the broadcaster, it drops the event rather than
// block when the queue is full.
func (r *recorder) emit(e event) {
	e.pod = e.pod.DeepCopy()
	r.pending.Add(1)
	select {
	case r.ch <- e:
	default:
		r.pending.Add(-1)
		r.log.Warn("event queue full, dropping event", "pod", e.pod.Name, "reason", e.reason, "message", e.message)
	}
}

// run writes queued events until stop is closed and the queue is drained.
func (r *recorder) run(stop <-chan struct{}) {
	defer close(r.done)
	for {
		select {
		case e := <-r.ch:
			r.write(e)
			r.pending.Add(-1)
		case <-stop:
			for {
				select {
				case e := <-r.ch:
					r.write(e)
					r.pending.Add(-1)
				default:
					return
				}
			}
		}
	}
}

func fieldPath(pod *corev1.Pod, container string) string {
	if container == "" {
		return ""
	}
	// kubecontainer.GenerateContainerRef, pkg/kubelet/container/ref.go:
	// an init container is found under spec.initContainers.
	for _, c := range pod.Spec.InitContainers {
		if c.Name == container {
			return fmt.Sprintf("spec.initContainers{%s}", container)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", container)
}

func (r *recorder) write(e event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ref := corev1.ObjectReference{
		Kind:            "Pod",
		APIVersion:      "v1",
		Namespace:       e.pod.Namespace,
		Name:            e.pod.Name,
		UID:             e.pod.UID,
		ResourceVersion: e.pod.ResourceVersion,
		FieldPath:       fieldPath(e.pod, e.container),
	}
	key := fmt.Sprintf("%s/%s/%s/%s/%s/%s", e.component, ref.UID, ref.FieldPath, e.typ, e.reason, e.message)
	now := metav1.NewTime(r.clock.Now())
	events := r.client.CoreV1().Events(e.pod.Namespace)

	r.mu.Lock()
	prev := r.seen[key]
	r.mu.Unlock()
	if prev != nil {
		next := prev.DeepCopy()
		next.Count++
		next.LastTimestamp = now
		updated, err := events.Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			r.remember(key, updated)
			return
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			r.log.Warn("update event", "pod", e.pod.Name, "reason", e.reason, "err", err)
			return
		}
		// Gone (expired or deleted): start a new one, as the recorder does.
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// The recorder's naming: "<object>.<unix nanos in hex>"
			// (tools/record/event.go makeEvent).
			Name:      fmt.Sprintf("%s.%x", e.pod.Name, r.uniqueNano()),
			Namespace: e.pod.Namespace,
		},
		InvolvedObject:      ref,
		Reason:              e.reason,
		Message:             e.message,
		Type:                e.typ,
		Source:              corev1.EventSource{Component: e.component, Host: r.node},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: e.component,
		ReportingInstance:   r.node,
	}
	if e.component == schedulerComponent {
		ev.Source.Host = ""
		ev.ReportingInstance = schedulerComponent
		ev.Action = "Binding" // schedule_one.go records the binding action
	}
	created, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		r.log.Warn("create event", "pod", e.pod.Name, "reason", e.reason, "err", err)
		return
	}
	r.remember(key, created)
}

// uniqueNano is the clock's time in nanoseconds, bumped past the last one
// used: a fake clock stands still, and two events of one pod must not share
// a name.
func (r *recorder) uniqueNano() int64 {
	t := r.clock.Now().UnixNano()
	if t <= r.lastNano {
		t = r.lastNano + 1
	}
	r.lastNano = t
	return t
}

func (r *recorder) remember(key string, ev *corev1.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The correlator's cache is an LRU of 4096 entries; forgetting all is
	// a cheap bound with the same effect: the next one starts a new event.
	if len(r.seen) >= 4096 {
		clear(r.seen)
	}
	r.seen[key] = ev
}

const (
	kubeletComponent   = "kubelet"
	schedulerComponent = "default-scheduler"
)
