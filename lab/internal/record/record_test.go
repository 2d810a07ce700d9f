package record

import (
	"context"
	"fmt"
	"slices"
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

// emit is one Record call in a test, after stepping the clock.
type emit struct {
	step      time.Duration
	msg       string
	reason    string // "" is ScalingReplicaSet
	typ       string // "" is Normal
	component string // "" is deployment-controller
}

func (e emit) event() *corev1.Event {
	ev := deploymentEvent(e.msg)
	if e.reason != "" {
		ev.Reason = e.reason
	}
	if e.typ != "" {
		ev.Type = e.typ
	}
	if e.component != "" {
		ev.Source.Component = e.component
		ev.ReportingController = e.component
	}
	return ev
}

// want is one event as written, found by its message; a zero time is not
// checked.
type want struct {
	msg         string
	count       int32
	first, last time.Time
}

// repeat is n emits of msg, the first after step, the rest at once.
func repeat(n int, step time.Duration, msg string) []emit {
	es := make([]emit, n)
	for i := range es {
		es[i].msg = msg
	}
	es[0].step = step
	return es
}

// distinct is n emits at once, each of its own reason, messages m00...
func distinct(n int) ([]emit, []want) {
	var es []emit
	var ws []want
	for i := range n {
		msg := fmt.Sprintf("m%02d", i)
		es = append(es, emit{msg: msg, reason: "Reason" + msg})
		ws = append(ws, want{msg: msg, count: 1, first: t0, last: t0})
	}
	return es, ws
}

// similar is n emits of one reason, a minute apart, messages s00...
func similar(n int, from time.Time) ([]emit, []want) {
	var es []emit
	var ws []want
	for i := range n {
		msg := fmt.Sprintf("s%02d", i)
		es = append(es, emit{step: time.Minute, msg: msg})
		at := from.Add(time.Duration(i+1) * time.Minute)
		ws = append(ws, want{msg: msg, count: 1, first: at, last: at})
	}
	return es, ws
}

func cat[T any](parts ...[]T) []T {
	var all []T
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// record runs a Recorder on a fake clock at t0 over a lab store, records
// emits in order, and returns what it wrote once every one is settled.
func record(t *testing.T, emits []emit) []corev1.Event {
	t.Helper()
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
	for _, e := range emits {
		clk.Step(e.step)
		r.Record(e.event())
	}
	settle(t, &pending)
	list, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// check compares the events written with wants, by message.
func check(t *testing.T, got []corev1.Event, wants []want) {
	t.Helper()
	var msgs []string
	for _, ev := range got {
		msgs = append(msgs, ev.Message)
	}
	if len(got) != len(wants) {
		t.Errorf("%d events %q, want %d", len(got), msgs, len(wants))
	}
	names := map[string]bool{}
	for _, ev := range got {
		if names[ev.Name] {
			t.Errorf("two events named %s", ev.Name)
		}
		names[ev.Name] = true
		if !strings.HasPrefix(ev.Name, "prober-foo.") || ev.InvolvedObject.Kind != "Deployment" {
			t.Errorf("event %+v", ev)
		}
	}
	for _, w := range wants {
		i := slices.IndexFunc(got, func(ev corev1.Event) bool { return ev.Message == w.msg })
		if i < 0 {
			t.Errorf("no event %q in %q", w.msg, msgs)
			continue
		}
		ev := got[i]
		if ev.Count != w.count ||
			!w.first.IsZero() && !ev.FirstTimestamp.Time.Equal(w.first) ||
			!w.last.IsZero() && !ev.LastTimestamp.Time.Equal(w.last) {
			t.Errorf("%q: count %d first %v last %v, want %d %v %v", w.msg, ev.Count, ev.FirstTimestamp, ev.LastTimestamp, w.count, w.first, w.last)
		}
	}
}

// Events are stamped with the recorder's clock, and a repeat of an
// identical event raises the count and lastTimestamp of the first, as the
// correlator's EventLogger does; a different message is a different event.
// Names follow tools/record/event.go makeEvent: "<object>.<hex nanos>".
func TestRecordFoldsRepeatsOnTheClock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		emits []emit
		want  []want
	}{
		{"one", []emit{{msg: "Scaled up replica set a from 0 to 1"}},
			[]want{{"Scaled up replica set a from 0 to 1", 1, t0, t0}}},
		{"repeat folds", []emit{{msg: "x"}, {step: time.Minute, msg: "x"}, {step: time.Minute, msg: "x"}},
			[]want{{"x", 3, t0, t0.Add(2 * time.Minute)}}},
		{"different messages", []emit{{msg: "x"}, {step: time.Second, msg: "y"}},
			[]want{{"x", 1, t0, t0}, {"y", 1, t0.Add(time.Second), t0.Add(time.Second)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := record(t, tc.emits)
			check(t, got, tc.want)
			for _, ev := range got {
				if ev.Source.Component != "deployment-controller" || ev.ReportingController != "deployment-controller" ||
					ev.Type != corev1.EventTypeNormal || ev.Reason != "ScalingReplicaSet" {
					t.Errorf("event %+v", ev)
				}
			}
		})
	}
}

// The spam filter (events_cache.go EventSourceObjectSpamFilter, defaults
// defaultSpamBurst 25 and defaultSpamQPS 1/300): a source writes 25
// events of a type about an object, then one more per 5 minutes. A
// throttled repeat is still counted, so the count jumps when the next
// one is written; the bucket is per source, object and type, whatever
// the reason or message.
func TestSpamFilter(t *testing.T) {
	const refill = 5 * time.Minute
	m25, w25 := distinct(25)
	for _, tc := range []struct {
		name  string
		emits []emit
		want  []want
	}{
		{"a burst of 25 repeats is written, the rest only counted", repeat(30, 0, "x"),
			[]want{{"x", 25, t0, t0}}},
		{"no token a second before the refill", cat(repeat(30, 0, "x"), repeat(1, refill-time.Second, "x")),
			[]want{{"x", 25, t0, t0}}},
		{"one token after 5 minutes, the count catching up", cat(repeat(30, 0, "x"), repeat(1, refill, "x")),
			[]want{{"x", 31, t0, t0.Add(refill)}}},
		{"only one per refill", cat(repeat(30, 0, "x"), repeat(2, refill, "x")),
			[]want{{"x", 31, t0, t0.Add(refill)}}},
		{"a full bucket after 25 refills", cat(repeat(25, 0, "x"), repeat(26, 25*refill, "x")),
			[]want{{"x", 50, t0, t0.Add(25 * refill)}}},
		{"reasons and messages share the bucket", cat(m25, []emit{{msg: "later", reason: "Other"}}),
			w25},
		{"another type has its own", cat(m25, []emit{{msg: "warning", typ: corev1.EventTypeWarning}}),
			cat(w25, []want{{"warning", 1, t0, t0}})},
		{"another source has its own", cat(m25, []emit{{msg: "rs", component: "replicaset-controller"}}),
			cat(w25, []want{{"rs", 1, t0, t0}})},
		{"a throttled first event is created at its next write", cat(m25, repeat(3, 0, "late"), repeat(1, refill, "late")),
			cat(w25, []want{{"late", 4, t0, t0.Add(refill)}})},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, record(t, tc.emits), tc.want) })
	}
}

// The aggregator (events_cache.go EventAggregator, defaults
// defaultAggregateMaxEvents 10 and defaultAggregateIntervalInSeconds
// 600): the 10th different message of one reason about an object, each
// within 10 minutes of the one before, is written as one event "(combined
// from similar events): <message>", and so is every similar one after it
// until 10 quiet minutes pass; the combined event counts them and shows
// the latest message. (A message seen before the 10th may go either way:
// EventAggregate then forgets one of the ten messages at random, PopAny,
// so it is not tested.)
func TestAggregator(t *testing.T) {
	const combined = "(combined from similar events): "
	s9, w9 := similar(9, t0)
	s10, _ := similar(10, t0)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for _, tc := range []struct {
		name  string
		emits []emit
		want  []want
	}{
		{"nine are nine events", s9, w9},
		{"the tenth is combined", s10, cat(w9, []want{{combined + "s09", 1, at(10), at(10)}})},
		{"the eleventh joins it", cat(s10, []emit{{step: time.Minute, msg: "new"}}),
			cat(w9, []want{{combined + "new", 2, at(10), at(11)}})},
		{"10 minutes after the last is still within", cat(s9, []emit{{step: 10 * time.Minute, msg: "last"}}),
			cat(w9, []want{{combined + "last", 1, at(19), at(19)}})},
		{"more than 10 quiet minutes start over", cat(s9, []emit{{step: 10*time.Minute + time.Second, msg: "fresh"}}),
			cat(w9, []want{{"fresh", 1, at(19).Add(time.Second), at(19).Add(time.Second)}})},
		{"another reason is not similar", cat(s9, []emit{{step: time.Minute, msg: "other", reason: "Other"}}),
			cat(w9, []want{{"other", 1, at(10), at(10)}})},
		// Ten similar events at one instant of a fake clock: the combined
		// event must not take the name of one written before it. It is
		// stamped with the instant its name has, nanoseconds past the
		// clock's (the apiserver keeps seconds), so its time is not
		// compared here.
		{"at one instant", func() []emit {
			es := repeat(10, 0, "")
			for i := range es {
				es[i].msg = fmt.Sprintf("s%02d", i)
			}
			return es
		}(), func() []want {
			ws := []want{{msg: combined + "s09", count: 1}}
			for i := range 9 {
				ws = append(ws, want{fmt.Sprintf("s%02d", i), 1, t0, t0})
			}
			return ws
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, record(t, tc.emits), tc.want) })
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
		// Reasons of their own, or the aggregator combines them.
		r.Record(emit{msg: fmt.Sprint(i), reason: fmt.Sprint("Reason", i)}.event())
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
