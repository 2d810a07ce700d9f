package record

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/proberctl/proberctl/lab/store"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func deploymentEvent(msg string) *corev1.Event {
	return &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "default", Name: "prober-foo", UID: "u1"},
		Type:           corev1.EventTypeNormal, Reason: "ScalingReplicaSet", Message: msg,
		Source: corev1.EventSource{Component: "deployment-controller"}, ReportingController: "deployment-controller",
	}
}

// settle waits until every recorded event is written: Pending is the
// recorder's own count of them.
func settle(t *testing.T, pending *atomic.Int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pending.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unwritten after 10s", pending.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Events are stamped with the recorder's clock, and a repeat of an
// identical event raises the count and lastTimestamp of the first, as the
// correlator's EventLogger does; a different message is a different event.
// Names follow tools/record/event.go makeEvent: "<object>.<hex nanos>".
func TestRecordFoldsRepeatsOnTheClock(t *testing.T) {
	type emit struct {
		step time.Duration // clock step before recording
		msg  string
	}
	type want struct {
		msg         string
		count       int32
		first, last time.Time
	}
	for _, tc := range []struct {
		name  string
		emits []emit
		want  []want
	}{
		{"one", []emit{{0, "Scaled up replica set a from 0 to 1"}},
			[]want{{"Scaled up replica set a from 0 to 1", 1, t0, t0}}},
		{"repeat folds", []emit{{0, "x"}, {time.Minute, "x"}, {time.Minute, "x"}},
			[]want{{"x", 3, t0, t0.Add(2 * time.Minute)}}},
		{"different messages", []emit{{0, "x"}, {time.Second, "y"}},
			[]want{{"x", 1, t0, t0}, {"y", 1, t0.Add(time.Second), t0.Add(time.Second)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := store.New(store.Options{})
			defer s.Close()
			c := s.Client()
			clk := clocktesting.NewFakeClock(t0)
			var pending atomic.Int64
			r := New(c, Options{Clock: clk, Pending: &pending})
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { r.Run(stop); close(done) }()
			defer func() { close(stop); <-done }()
			for _, e := range tc.emits {
				clk.Step(e.step)
				r.Record(deploymentEvent(e.msg))
				// One at a time, so a repeat finds the first written.
				settle(t, &pending)
			}
			list, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != len(tc.want) {
				t.Fatalf("%d events, want %d", len(list.Items), len(tc.want))
			}
			for _, w := range tc.want {
				found := false
				for _, ev := range list.Items {
					if ev.Message != w.msg {
						continue
					}
					found = true
					if ev.Count != w.count || !ev.FirstTimestamp.Time.Equal(w.first) || !ev.LastTimestamp.Time.Equal(w.last) {
						t.Errorf("%q: count %d first %v last %v, want %d %v %v", w.msg, ev.Count, ev.FirstTimestamp, ev.LastTimestamp, w.count, w.first, w.last)
					}
					if !strings.HasPrefix(ev.Name, "prober-foo.") || ev.Source.Component != "deployment-controller" ||
						ev.ReportingController != "deployment-controller" || ev.InvolvedObject.Kind != "Deployment" ||
						ev.Type != corev1.EventTypeNormal || ev.Reason != "ScalingReplicaSet" {
						t.Errorf("event %+v", ev)
					}
				}
				if !found {
					t.Errorf("no event %q", w.msg)
				}
			}
		})
	}
}

// Run writes what is still queued when it is stopped, and events of the
// same instant get distinct names.
func TestRunDrainsOnStop(t *testing.T) {
	s := store.New(store.Options{})
	defer s.Close()
	c := s.Client()
	var pending atomic.Int64
	r := New(c, Options{Clock: clocktesting.NewFakeClock(t0), Pending: &pending})
	const n = 20
	for i := range n {
		r.Record(deploymentEvent(fmt.Sprint(i)))
	}
	stop := make(chan struct{})
	close(stop)
	r.Run(stop)
	if p := pending.Load(); p != 0 {
		t.Errorf("pending %d after Run returned, want 0", p)
	}
	list, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != n {
		t.Errorf("%d events written, want %d", len(list.Items), n)
	}
}
