package kubelet

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/proberctl/proberctl/lab/internal/record"
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

// recorder is the kubelet's (and its stand-in scheduler's) event recorder:
// it turns an event into what the kubelet's recorder would write and hands
// it to a record.Recorder, which writes it from one goroutine and folds
// repeats.
type recorder struct {
	rec  *record.Recorder
	node string
	done chan struct{}
}

// newRecorder counts a queued event in pending until it is written, so a
// test that waits for the kubelet to settle sees every event, and every
// count, it caused.
func newRecorder(client kubernetes.Interface, clk clock.Clock, node string, log *slog.Logger, pending *atomic.Int64) *recorder {
	return &recorder{
		rec:  record.New(client, record.Options{Clock: clk, Logger: log, Pending: pending}),
		node: node,
		done: make(chan struct{}),
	}
}

// emit records an event. Like the broadcaster, it drops the event rather
// than block when the queue is full.
func (r *recorder) emit(e event) {
	ev := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{
			Kind:            "Pod",
			APIVersion:      "v1",
			Namespace:       e.pod.Namespace,
			Name:            e.pod.Name,
			UID:             e.pod.UID,
			ResourceVersion: e.pod.ResourceVersion,
			FieldPath:       fieldPath(e.pod, e.container),
		},
		Reason:              e.reason,
		Message:             e.message,
		Type:                e.typ,
		Source:              corev1.EventSource{Component: e.component, Host: r.node},
		ReportingController: e.component,
		ReportingInstance:   r.node,
	}
	if e.component == schedulerComponent {
		ev.Source.Host = ""
		ev.ReportingInstance = schedulerComponent
		ev.Action = "Binding" // schedule_one.go records the binding action
	}
	r.rec.Record(ev)
}

// run writes queued events until stop is closed and the queue is drained.
func (r *recorder) run(stop <-chan struct{}) {
	defer close(r.done)
	r.rec.Run(stop)
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

const (
	kubeletComponent   = "kubelet"
	schedulerComponent = "default-scheduler"
)
