package controller

import (
	"context"
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

// The controllers' events carry the deployment controller's source and
// reporting controller, point at the object, and are stamped with the
// controllers' clock. Folding repeats and naming events are the recorder's
// (lab/internal/record and its tests).
func TestRecorderUsesClock(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
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
	clk.Step(time.Minute)
	const msg = "Scaled up replica set a from 0 to 1"
	r.Eventf(d, corev1.EventTypeNormal, reasonScalingRS, "%s", msg)
	waitFor(t, "event written", func() (bool, string) { return pending.Load() == 0, "" })
	list, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d events, want 1", len(list.Items))
	}
	ev := list.Items[0]
	at := t0.Add(time.Minute)
	if ev.Message != msg || ev.Count != 1 || !ev.FirstTimestamp.Time.Equal(at) || !ev.LastTimestamp.Time.Equal(at) {
		t.Errorf("%q: count %d first %v last %v, want %q 1 %v %v", ev.Message, ev.Count, ev.FirstTimestamp, ev.LastTimestamp, msg, at, at)
	}
	if !strings.HasPrefix(ev.Name, "prober-foo.") || ev.Source.Component != "deployment-controller" ||
		ev.ReportingController != "deployment-controller" || ev.InvolvedObject.Kind != "Deployment" ||
		ev.InvolvedObject.UID != d.UID || ev.Type != corev1.EventTypeNormal || ev.Reason != reasonScalingRS {
		t.Errorf("event %+v", ev)
	}
}
