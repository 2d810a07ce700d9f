package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// rolling returns a RollingUpdate Deployment of replicas with the given
// surge and unavailable (upstream's sync_test.go uses 0 and 0).
func rolling(replicas int32, surge, unavail string) *appsv1.Deployment {
	d := deployment(replicas, appsv1.RollingUpdateDeploymentStrategyType, surge, unavail)
	d.Name = "foo"
	return d
}

// scaledRS is a replica set last scaled for the Deployment before:
// its desired-replicas and max-replicas annotations say so.
func scaledRS(name string, replicas int32, age time.Duration, before *appsv1.Deployment) *appsv1.ReplicaSet {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(base.Add(-age))},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas},
		Status:     appsv1.ReplicaSetStatus{Replicas: replicas, AvailableReplicas: replicas},
	}
	setReplicasAnnotations(rs, *before.Spec.Replicas, *before.Spec.Replicas+MaxSurge(before))
	return rs
}

// TestScaleTargets checks the sizes a resize gives each replica set. The
// first cases are the scenarios of pkg/controller/deployment/sync_test.go
// TestScale (Kubernetes 1.37) with the sizes it expects; the seed cases are
// worked out by hand from deployment_util.go getReplicaSetFraction:
// size * (replicas+maxSurge now) / max-replicas annotation, rounded half
// away from zero, capped by what is left to add, leftovers to the first
// replica set in order.
func TestScaleTargets(t *testing.T) {
	const hour = time.Hour
	type rsSpec struct {
		name     string
		replicas int32
		age      time.Duration
	}
	for _, tc := range []struct {
		name        string
		before, now *appsv1.Deployment
		newRS       *rsSpec // nil: the template has no replica set yet
		old         []rsSpec
		unavailable bool // the new replica set's pods are not available
		want        map[string]int32
	}{
		{"one replica set 10 -> 12", rolling(10, "0", "0"), rolling(12, "0", "0"),
			&rsSpec{"v1", 10, 0}, nil, false, map[string]int32{"v1": 12}},
		{"one replica set 10 -> 5", rolling(10, "0", "0"), rolling(5, "0", "0"),
			&rsSpec{"v1", 10, 0}, nil, false, map[string]int32{"v1": 5}},
		{"proportional 5 -> 10", rolling(5, "0", "0"), rolling(10, "0", "0"),
			&rsSpec{"v2", 2, 0}, []rsSpec{{"v1", 3, hour}}, false, map[string]int32{"v2": 4, "v1": 6}},
		{"proportional 5 -> 3", rolling(5, "0", "0"), rolling(3, "0", "0"),
			&rsSpec{"v2", 2, 0}, []rsSpec{{"v1", 3, hour}}, false, map[string]int32{"v2": 1, "v1": 2}},
		{"proportional 9 -> 4", rolling(9, "0", "0"), rolling(4, "0", "0"),
			&rsSpec{"v2", 8, 0}, []rsSpec{{"v1", 1, hour}}, false, map[string]int32{"v2": 4, "v1": 0}},
		{"proportional 7 -> 10", rolling(7, "0", "0"), rolling(10, "0", "0"),
			&rsSpec{"v3", 2, 0}, []rsSpec{{"v2", 3, hour}, {"v1", 2, 2 * hour}}, false, map[string]int32{"v3": 3, "v2": 4, "v1": 3}},
		{"proportional 13 -> 8", rolling(13, "0", "0"), rolling(8, "0", "0"),
			&rsSpec{"v3", 2, 0}, []rsSpec{{"v2", 8, hour}, {"v1", 3, 2 * hour}}, false, map[string]int32{"v3": 1, "v2": 5, "v1": 2}},
		// Equal sizes: growing favours the newest, shrinking the oldest.
		{"leftover 3 -> 4 to the newest", rolling(3, "0", "0"), rolling(4, "0", "0"),
			&rsSpec{"v3", 1, 0}, []rsSpec{{"v2", 1, hour}, {"v1", 1, 2 * hour}}, false, map[string]int32{"v3": 2, "v2": 1, "v1": 1}},
		{"leftover 3 -> 2 from the oldest", rolling(3, "0", "0"), rolling(2, "0", "0"),
			&rsSpec{"v3", 1, 0}, []rsSpec{{"v2", 1, hour}, {"v1", 1, 2 * hour}}, false, map[string]int32{"v3": 1, "v2": 1, "v1": 0}},
		{"no new replica set 4 -> 5", rolling(4, "0", "0"), rolling(5, "0", "0"),
			nil, []rsSpec{{"v2", 2, hour}, {"v1", 2, 2 * hour}}, false, map[string]int32{"v2": 3, "v1": 2}},
		{"6 -> 0", rolling(6, "0", "0"), rolling(0, "0", "0"),
			&rsSpec{"v3", 3, 0}, []rsSpec{{"v2", 2, hour}, {"v1", 1, 2 * hour}}, false, map[string]int32{"v3": 0, "v2": 0, "v1": 0}},
		{"0 -> 6 to the new one", rolling(6, "0", "0"), rolling(6, "0", "0"),
			&rsSpec{"v3", 0, 0}, []rsSpec{{"v2", 0, hour}, {"v1", 0, 2 * hour}}, false, map[string]int32{"v3": 6, "v2": 0, "v1": 0}},
		{"surge 2, 10 -> 20", rolling(10, "2", "0"), rolling(20, "2", "0"),
			&rsSpec{"v2", 6, 0}, []rsSpec{{"v1", 6, hour}}, false, map[string]int32{"v2": 11, "v1": 11}},
		{"surge 3 -> 6 and 10 -> 50", rolling(10, "3", "0"), rolling(50, "6", "0"),
			&rsSpec{"v2", 5, 0}, []rsSpec{{"v1", 8, hour}}, false, map[string]int32{"v2": 22, "v1": 34}},
		{"saturated but unavailable new replica set leaves old pods", rolling(2, "1", "1"), rolling(2, "1", "1"),
			&rsSpec{"v2", 2, 0}, []rsSpec{{"v1", 1, hour}}, true, map[string]int32{"v2": 2, "v1": 1}},
		// The seed mid-rollout (surge 1, unavailable 30%): old 3, new 1,
		// max-replicas 4. To 5: max 6, add 2; old 3*6/4 = 4.5 -> 5 takes
		// both, the new one keeps 1.
		{"seed 3 -> 5 mid-rollout", rolling(3, "1", "30%"), rolling(5, "1", "30%"),
			&rsSpec{"new", 1, 0}, []rsSpec{{"old", 3, hour}}, true, map[string]int32{"new": 1, "old": 5}},
		// To 1: max 2, remove 2; old 3*2/4 = 1.5 -> 2 (-1), new 1*2/4 =
		// 0.5 -> 1 (0); the leftover -1 goes to the first (the larger, old).
		{"seed 3 -> 1 mid-rollout", rolling(3, "1", "30%"), rolling(1, "1", "30%"),
			&rsSpec{"new", 1, 0}, []rsSpec{{"old", 3, hour}}, true, map[string]int32{"new": 1, "old": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var newRS *appsv1.ReplicaSet
			all := map[string]*appsv1.ReplicaSet{}
			if tc.newRS != nil {
				newRS = scaledRS(tc.newRS.name, tc.newRS.replicas, tc.newRS.age, tc.before)
				if tc.unavailable {
					newRS.Status.AvailableReplicas = 0
				}
				all[newRS.Name] = newRS
			}
			var old []*appsv1.ReplicaSet
			for _, o := range tc.old {
				rs := scaledRS(o.name, o.replicas, o.age, tc.before)
				old = append(old, rs)
				all[rs.Name] = rs
			}
			tc.now.Status.Replicas = replicaCount(append(append([]*appsv1.ReplicaSet(nil), old...), newRS))
			got := map[string]int32{}
			for name, rs := range all {
				got[name] = *rs.Spec.Replicas
			}
			for _, tg := range scaleTargets(tc.now, newRS, old) {
				got[tg.rs.Name] = tg.size
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("sizes %v, want %v", got, tc.want)
			}
		})
	}
}

// A resize during a rollout, through the running controllers: the seed's
// rollout rests at old 3 / new 1 (the new pod never becomes ready, and
// 3 + 1 - minimum 3 - 1 unavailable new = 0 may go). Replicas 3 -> 5 is a
// scaling event (the desired-replicas annotations say 3), so the change is
// shared out: old 3*6/4 = 4.5 -> 5 takes both new pods and the new replica
// set keeps 1, where a rolling step would have grown the new one to 3.
// What the rollout does next depends on which old pods become ready first,
// so the test checks the scaling itself, in the events and in the first
// write of each replica set after the resize.
func TestProportionalScalingDuringRollout(t *testing.T) {
	ctx, c := startLab(t, func(p *corev1.Pod) bool { return p.Labels["version"] == "1.0.1" })
	oldRS, newRS := stuckSeedRollout(ctx, t, c)

	w, err := c.AppsV1().ReplicaSets("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first := map[string]appsv1.ReplicaSet{}
	var mu sync.Mutex
	go func() {
		for ev := range w.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok || ev.Type != watch.Modified || rs.Annotations[DesiredReplicasAnnotation] != "5" {
				continue
			}
			mu.Lock()
			if _, seen := first[rs.Name]; !seen {
				first[rs.Name] = *rs
			}
			mu.Unlock()
		}
	}()

	five := int32(5)
	d, _ := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
	d.Spec.Replicas = &five
	if _, err := c.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both replica sets rewritten for 5 replicas", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(first) == 2, fmt.Sprint(len(first))
	})
	mu.Lock()
	for name, want := range map[string]int32{oldRS: 5, newRS: 1} {
		rs := first[name]
		if *rs.Spec.Replicas != want || rs.Annotations[MaxReplicasAnnotation] != "6" {
			t.Errorf("%s first written with %d replicas, max-replicas %q; want %d and 6", name, *rs.Spec.Replicas, rs.Annotations[MaxReplicasAnnotation], want)
		}
	}
	mu.Unlock()
	waitFor(t, "the scaling event", func() (bool, string) {
		got := eventMessages(ctx, t, c, reasonScalingRS)
		return slices.Contains(got, "Scaled up replica set "+oldRS+" from 3 to 5"), fmt.Sprint(got)
	})
}

// stuckSeedRollout creates the seed's Deployment at 1.0.1, waits for it,
// changes the template to 1.0.2 and waits for the rollout to rest at old 3
// / new 1; the caller's fake node never makes 1.0.2 ready. It returns the
// two replica sets' names.
func stuckSeedRollout(ctx context.Context, t *testing.T, c kubernetes.Interface) (oldRS, newRS string) {
	t.Helper()
	d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first rollout", deploymentDone(ctx, c, d.Generation))
	d, _ = c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
	next := d.DeepCopy()
	next.Spec.Template.Labels["version"] = "1.0.2"
	if _, err := c.AppsV1().Deployments("default").Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rollout to rest at old 3 / new 1", func() (bool, string) {
		d, _ := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
		rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
		ok := d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == 1 && d.Status.Replicas == 4 && len(rss.Items) == 2
		for _, rs := range rss.Items {
			if rs.Labels["version"] == "1.0.2" {
				newRS = rs.Name
			} else {
				oldRS = rs.Name
			}
		}
		return ok, fmt.Sprintf("%+v", d.Status)
	})
	return oldRS, newRS
}
