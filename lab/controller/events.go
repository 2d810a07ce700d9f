package controller

import (
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"

	"github.com/proberctl/proberctl/lab/internal/record"
)

// recorder is one controller's record.EventRecorder: its events name the
// controller as source and reporting controller, and are written by the
// Manager's record.Recorder, on the controllers' clock.
type recorder struct {
	rec       *record.Recorder
	log       *slog.Logger
	component string
}

// Eventf records an event about obj, as record.EventRecorder.Eventf.
func (r recorder) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	ref, err := reference.GetReference(scheme.Scheme, obj)
	if err != nil {
		r.log.Warn("no reference for event; dropped", "reason", reason, "err", err)
		return
	}
	r.rec.Record(&corev1.Event{
		InvolvedObject:      *ref,
		Reason:              reason,
		Message:             fmt.Sprintf(messageFmt, args...),
		Type:                eventtype,
		Source:              corev1.EventSource{Component: r.component},
		ReportingController: r.component,
	})
}
