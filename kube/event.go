package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// EventTime is when an event last happened, whichever API generation wrote
// it: series.lastObservedTime (events.k8s.io style), lastTimestamp (core/v1
// style, the kubelet's), then eventTime and firstTimestamp, the fallbacks
// kubectl's event printer uses, then creation.
func EventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// EventCount is how many times an event happened, at least 1: series.count
// where a series is recorded, else the core/v1 count.
func EventCount(e *corev1.Event) int32 {
	switch {
	case e.Series != nil && e.Series.Count > 0:
		return e.Series.Count
	case e.Count > 0:
		return e.Count
	}
	return 1
}
