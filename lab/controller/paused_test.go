package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/proberctl/proberctl/lab/store"
)

// updateDeployment applies change to the current prober-foo, retrying on
// conflicts with the controller's own writes, and returns the new
// generation.
func updateDeployment(ctx context.Context, t *testing.T, c kubernetes.Interface, change func(*appsv1.Deployment)) int64 {
	t.Helper()
	for {
		d, err := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(d)
		d, err = c.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return d.Generation
	}
}

// sizesByVersion maps each replica set's version label to its replicas.
func sizesByVersion(ctx context.Context, c kubernetes.Interface) map[string]int32 {
	rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	out := map[string]int32{}
	for _, rs := range rss.Items {
		out[rs.Labels["version"]] = *rs.Spec.Replicas
	}
	return out
}

func progressing(ctx context.Context, c kubernetes.Interface) (*appsv1.Deployment, *appsv1.DeploymentCondition) {
	d, err := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
	if err != nil {
		return nil, nil
	}
	return d, getCondition(d.Status, appsv1.DeploymentProgressing)
}

// A paused Deployment (sync.go sync, reached from syncDeployment when
// spec.paused is set) rolls nothing out: a changed template creates no
// replica set. A resize still applies: to the one replica set with pods,
// or shared out among several as getReplicaSetFraction says. Progressing
// reads Unknown / DeploymentPaused / "Deployment is paused"
// (sync.go checkPausedConditions) the whole time. The replica sets of a
// paused Deployment do not move on their own, so every state checked is
// one it rests in.
func TestPausedDeployment(t *testing.T) {
	pause := func(d *appsv1.Deployment) { d.Spec.Paused = true }
	template := func(v string) func(*appsv1.Deployment) {
		return func(d *appsv1.Deployment) { d.Spec.Template.Labels["version"] = v }
	}
	scale := func(n int32) func(*appsv1.Deployment) {
		return func(d *appsv1.Deployment) { d.Spec.Replicas = &n }
	}
	type step struct {
		what   string
		change func(*appsv1.Deployment)
		want   map[string]int32 // version -> replicas of its replica set
	}
	for _, tc := range []struct {
		name  string
		stuck bool // start from the seed's rollout resting at old 3 / new 1
		steps []step
	}{
		{"rolled out", false, []step{
			{"pause", pause, map[string]int32{"1.0.1": 3}},
			{"new template: no new replica set", template("1.0.2"), map[string]int32{"1.0.1": 3}},
			{"scale 3 -> 5: the one replica set", scale(5), map[string]int32{"1.0.1": 5}},
			{"scale 5 -> 2", scale(2), map[string]int32{"1.0.1": 2}},
		}},
		// Max-replicas 4 (3 + surge 1). To 5: max 6, add 2, old
		// 3*6/4 = 4.5 -> 5 takes both. To 1: max 2, remove 4, old
		// 5*2/6 = 1.67 -> 2 (-3), new 1*2/6 = 0.33 -> 0 (-1); with the
		// old replica set then the only one with pods, the next sync gives
		// it spec.replicas (FindActiveOrLatest): 1.
		{"mid-rollout", true, []step{
			{"pause", pause, map[string]int32{"1.0.1": 3, "1.0.2": 1}},
			{"scale 3 -> 5: proportional", scale(5), map[string]int32{"1.0.1": 5, "1.0.2": 1}},
			{"scale 5 -> 1: proportional, then the only active one", scale(1), map[string]int32{"1.0.1": 1, "1.0.2": 0}},
			{"a third template: no new replica set", template("1.0.3"), map[string]int32{"1.0.1": 1, "1.0.2": 0}},
			{"scale 1 -> 4: the only active one", scale(4), map[string]int32{"1.0.1": 4, "1.0.2": 0}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, c := startLab(t, func(p *corev1.Pod) bool { return p.Labels["version"] == "1.0.1" })
			if tc.stuck {
				stuckSeedRollout(ctx, t, c)
			} else {
				d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "first rollout", deploymentDone(ctx, c, d.Generation))
			}
			for _, s := range tc.steps {
				gen := updateDeployment(ctx, t, c, s.change)
				waitFor(t, s.what, func() (bool, string) {
					d, cond := progressing(ctx, c)
					sizes := sizesByVersion(ctx, c)
					ok := d != nil && d.Status.ObservedGeneration >= gen && maps.Equal(sizes, s.want) &&
						cond != nil && cond.Status == corev1.ConditionUnknown && cond.Reason == reasonPaused && cond.Message == "Deployment is paused"
					return ok, fmt.Sprintf("replica sets %v, Progressing %+v", sizes, cond)
				})
			}
		})
	}
}

// While paused the progress deadline does not run: Progressing stays
// DeploymentPaused however long it lasts (a paused Deployment is synced by
// sync.go sync, which never calls syncRolloutStatus). Resuming sets
// Unknown / DeploymentResumed / "Deployment is resumed" with the clock's
// time, and progressDeadlineSeconds counts from the last progress after
// that (progress.go, deployment_util.go DeploymentTimedOut: lastUpdateTime
// + deadline before now). The condition times are the controller's clock's.
func TestPauseStopsProgressDeadline(t *testing.T) {
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	ctx, c, m := startLabWith(t, func(p *corev1.Pod) bool { return p.Labels["version"] == "1.0.1" }, Options{Clock: clk})
	d := seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType)
	deadline := int32(60)
	d.Spec.ProgressDeadlineSeconds = &deadline
	d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first rollout", deploymentDone(ctx, c, d.Generation))

	// sync runs one sync of the Deployment now, as the controller's
	// requeue would once the (fake) deadline passed.
	sync := func() {
		t.Helper()
		err := m.syncDeployment(ctx, "default/prober-foo")
		if err != nil && !errors.As(err, new(requeue)) && !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
	wantCond := func(what string, status corev1.ConditionStatus, reason string, updated time.Time) {
		t.Helper()
		waitFor(t, what, func() (bool, string) {
			sync()
			_, cond := progressing(ctx, c)
			return cond != nil && cond.Status == status && cond.Reason == reason && cond.LastUpdateTime.Time.Equal(updated),
				fmt.Sprintf("%+v", cond)
		})
	}

	updateDeployment(ctx, t, c, func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		d.Spec.Template.Labels["version"] = "1.0.2"
	})
	wantCond("paused", corev1.ConditionUnknown, reasonPaused, start)

	// Ten deadlines pass while paused: nothing times out, nothing rolls.
	clk.Step(10 * time.Duration(deadline) * time.Second)
	sync()
	if _, cond := progressing(ctx, c); cond == nil || cond.Reason != reasonPaused {
		t.Fatalf("after 10 deadlines paused, Progressing %+v, want it still %s", cond, reasonPaused)
	}
	if sizes := sizesByVersion(ctx, c); !maps.Equal(sizes, map[string]int32{"1.0.1": 3}) {
		t.Fatalf("paused, replica sets %v, want only 1.0.1 with 3", sizes)
	}
	// No replica set has the current template, so none of the 3 pods is
	// up to date (sync.go calculateStatus counts the new replica set's).
	if d, _ := progressing(ctx, c); d.Status.Replicas != 3 || d.Status.UpdatedReplicas != 0 || d.Status.AvailableReplicas != 3 {
		t.Errorf("paused with a new template, status %+v; want replicas 3, updated 0, available 3", d.Status)
	}

	// Resume: the rollout starts now. Its new pod never becomes ready, so
	// the rollout rests at old 3 / new 1 with Progressing True, last
	// updated at resume time (the clock has not moved since).
	resumed := clk.Now()
	updateDeployment(ctx, t, c, func(d *appsv1.Deployment) { d.Spec.Paused = false })
	waitFor(t, "rollout after resume rests at old 3 / new 1", func() (bool, string) {
		sizes := sizesByVersion(ctx, c)
		d, cond := progressing(ctx, c)
		return maps.Equal(sizes, map[string]int32{"1.0.1": 3, "1.0.2": 1}) && d.Status.Replicas == 4 && d.Status.UpdatedReplicas == 1 &&
				cond != nil && cond.Status == corev1.ConditionTrue && !cond.LastUpdateTime.Time.Before(resumed),
			fmt.Sprintf("%v %+v", sizes, cond)
	})
	_, cond := progressing(ctx, c)
	if !cond.LastUpdateTime.Time.Equal(resumed) || !cond.LastTransitionTime.Time.Equal(resumed) {
		t.Errorf("Progressing after resume %+v, want its times the fake clock's %v", cond, resumed)
	}
	// The event of that step carries the controller's (fake) time too.
	scaledUp := "Scaled up replica set prober-foo-" + ComputeHash(&templateOf(ctx, t, c).Spec.Template, nil) + " from 0 to 1"
	waitFor(t, "the new replica set's scale-up event at resume time", func() (bool, string) {
		list, _ := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		var seen []string
		for _, e := range list.Items {
			if e.Message == scaledUp && e.FirstTimestamp.Time.Equal(resumed) {
				return true, ""
			}
			seen = append(seen, e.Message+" at "+e.FirstTimestamp.String())
		}
		return false, fmt.Sprintf("%q", seen)
	})

	// One second short of the deadline: still progressing.
	clk.Step(time.Duration(deadline-1) * time.Second)
	sync()
	if _, cond := progressing(ctx, c); cond == nil || cond.Reason == reasonTimedOut {
		t.Fatalf("%ds after resume, Progressing %+v; the deadline is %ds", deadline-1, cond, deadline)
	}
	// Past it: ProgressDeadlineExceeded, False, at the clock's time. No
	// sync by hand: the controller asked to be requeued when the deadline
	// passes (progress.go requeueStuckDeployment), on its clock.
	clk.Step(2 * time.Second)
	timedOut := clk.Now().Truncate(time.Second)
	waitFor(t, "timed out", func() (bool, string) {
		_, cond := progressing(ctx, c)
		return cond != nil && cond.Status == corev1.ConditionFalse && cond.Reason == reasonTimedOut && cond.LastUpdateTime.Time.Equal(timedOut),
			fmt.Sprintf("%+v", cond)
	})
	_, cond = progressing(ctx, c)
	if want := fmt.Sprintf("ReplicaSet %q has timed out progressing.", "prober-foo-"+ComputeHash(&templateOf(ctx, t, c).Spec.Template, nil)); cond.Message != want {
		t.Errorf("message %q, want %q", cond.Message, want)
	}

	// Pausing now does not hide the timeout (checkPausedConditions leaves
	// ProgressDeadlineExceeded alone).
	updateDeployment(ctx, t, c, func(d *appsv1.Deployment) { d.Spec.Paused = true })
	sync()
	if _, cond := progressing(ctx, c); cond == nil || cond.Reason != reasonTimedOut {
		t.Errorf("paused after timing out, Progressing %+v, want %s kept", cond, reasonTimedOut)
	}
}

func templateOf(ctx context.Context, t *testing.T, c kubernetes.Interface) *appsv1.Deployment {
	t.Helper()
	d, err := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Resuming writes Unknown / DeploymentResumed / "Deployment is resumed"
// before anything else happens in that sync (checkPausedConditions runs
// first); checked on one sync, without the running controllers' help.
func TestResumeCondition(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name       string
		paused     bool
		cur        *appsv1.DeploymentCondition
		wantStatus corev1.ConditionStatus
		wantReason string
		wantMsg    string
	}{
		{"pause", true, nil, corev1.ConditionUnknown, reasonPaused, "Deployment is paused"},
		{"resume", false, &appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionUnknown, Reason: reasonPaused},
			corev1.ConditionUnknown, reasonResumed, "Deployment is resumed"},
		{"timed out stays", true, &appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: reasonTimedOut},
			corev1.ConditionFalse, reasonTimedOut, ""},
		{"not paused, nothing to say", false, &appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reasonNewRSAvailable},
			corev1.ConditionTrue, reasonNewRSAvailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStoreClient(t)
			d := seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType)
			d.Spec.Paused = tc.paused
			d, err := s.AppsV1().Deployments("default").Create(context.Background(), d, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.cur != nil {
				d.Status.Conditions = []appsv1.DeploymentCondition{*tc.cur}
				if d, err = s.AppsV1().Deployments("default").UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			m := New(s, Options{Clock: clk})
			got, err := m.checkPausedConditions(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			cond := getCondition(got.Status, appsv1.DeploymentProgressing)
			if cond == nil || cond.Status != tc.wantStatus || cond.Reason != tc.wantReason || cond.Message != tc.wantMsg {
				t.Fatalf("Progressing %+v, want %s %s %q", cond, tc.wantStatus, tc.wantReason, tc.wantMsg)
			}
			if tc.cur == nil || tc.cur.Reason == reasonPaused {
				if !cond.LastUpdateTime.Time.Equal(clk.Now()) {
					t.Errorf("lastUpdateTime %v, want the clock's %v", cond.LastUpdateTime, clk.Now())
				}
			}
		})
	}
}

// newStoreClient is the lab's API with no controllers running.
func newStoreClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	s := store.New(store.Options{})
	t.Cleanup(s.Close)
	return s.Client()
}
