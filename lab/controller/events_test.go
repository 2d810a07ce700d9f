package controller

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/proberctl/proberctl/lab/internal/record"
)

// The controllers' events are stamped with their clock, and a repeat of an
// identical event raises the count and lastTimestamp of the first, as the
// correlator's EventLogger does (client-go tools/record/events_cache.go);
// a different message is a different event. Names follow
// tools/record/event.go makeEvent: "<object>.<hex nanos>".
func TestRecorderUsesClock(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	type emit struct {
		step time.Duration // clock step before emitting
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
			c := newStoreClient(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := clocktesting.NewFakeClock(t0)
			var pending atomic.Int64
			rec := record.New(c, record.Options{Clock: clk, Pending: &pending})
			r := recorder{rec: rec, log: slog.New(slog.DiscardHandler), component: "deployment-controller"}
			stop := make(chan struct{})
			defer close(stop)
			go rec.Run(stop)
			d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.emits {
				clk.Step(e.step)
				r.Eventf(d, corev1.EventTypeNormal, reasonScalingRS, "%s", e.msg)
				// One at a time, so a repeat finds the first written.
				waitFor(t, "event written", func() (bool, string) { return pending.Load() == 0, "" })
				waitFor(t, "event stored", func() (bool, string) {
					list, _ := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
					for _, ev := range list.Items {
						if ev.Message == e.msg && ev.LastTimestamp.Time.Equal(clk.Now()) {
							return true, ""
						}
					}
					return false, fmt.Sprint(len(list.Items))
				})
			}
			list, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
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
						ev.InvolvedObject.UID != d.UID || ev.Type != corev1.EventTypeNormal || ev.Reason != reasonScalingRS {
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
