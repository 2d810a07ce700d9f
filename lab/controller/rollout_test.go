package controller

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/proberctl/proberctl/lab/store"
)

func ios(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

// The expected numbers are worked out by hand from the rules in
// pkg/controller/deployment/util/deployment_util.go: a percentage of
// desired, surge rounded up, unavailable rounded down, and unavailable 1
// when both come to 0.
func TestResolveFenceposts(t *testing.T) {
	for _, tc := range []struct {
		surge, unavail  string
		desired         int32
		wantS, wantU    int32
		wantErrContains string
	}{
		{"1", "30%", 3, 1, 0, ""},    // the seed: 0.9 rounds down to 0
		{"25%", "25%", 3, 1, 0, ""},  // defaults at 3: 0.75 up to 1, down to 0
		{"25%", "25%", 10, 3, 2, ""}, // 2.5 up to 3, down to 2
		{"25%", "25%", 4, 1, 1, ""},  // exact
		{"0%", "0%", 0, 0, 1, ""},    // both zero: unavailable 1
		{"0", "1%", 2, 0, 1, ""},     // 0.02 rounds down to 0, then 1
		{"1%", "25%", 2, 1, 0, ""},   // 0.02 rounds up to 1
		{"39%", "39%", 10, 4, 3, ""}, // 3.9
		{"100%", "0", 3, 3, 0, ""},   // blue-green style
		{"0", "100%", 3, 0, 3, ""},   //
		{"oops", "1", 3, 0, 0, "maxSurge"},
		{"1", "x%", 3, 0, 0, "maxUnavailable"},
	} {
		s, u, err := ResolveFenceposts(ios(tc.surge), ios(tc.unavail), tc.desired)
		if tc.wantErrContains != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
				t.Errorf("surge %s unavailable %s: error %v, want one about %s", tc.surge, tc.unavail, err, tc.wantErrContains)
			}
			continue
		}
		if err != nil || s != tc.wantS || u != tc.wantU {
			t.Errorf("surge %s unavailable %s of %d: got %d/%d (%v), want %d/%d", tc.surge, tc.unavail, tc.desired, s, u, err, tc.wantS, tc.wantU)
		}
	}
}

func rsWith(replicas, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: &replicas}, Status: appsv1.ReplicaSetStatus{AvailableReplicas: available}}
}

func deployment(replicas int32, strategy appsv1.DeploymentStrategyType, surge, unavail string) *appsv1.Deployment {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas, Strategy: appsv1.DeploymentStrategy{Type: strategy}}}
	if strategy == appsv1.RollingUpdateDeploymentStrategyType {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ios(surge), MaxUnavailable: ios(unavail)}
	}
	return d
}

// One step of a rolling update at a time, from the rules in
// deployment_util.go NewRSNewReplicas and rolling.go
// reconcileOldReplicaSets.
func TestRollingSteps(t *testing.T) {
	rolling := appsv1.RollingUpdateDeploymentStrategyType
	for _, tc := range []struct {
		name          string
		d             *appsv1.Deployment
		old, new      *appsv1.ReplicaSet
		wantNew       int32 // NewRSNewReplicas
		wantScaleDown int32 // MaxScaledDown
	}{
		// The seed's rollout, 3 replicas, surge 1, unavailable 30% (=0).
		{"seed start", deployment(3, rolling, "1", "30%"), rsWith(3, 3), rsWith(0, 0), 1, 0},
		{"seed new pod not ready", deployment(3, rolling, "1", "30%"), rsWith(3, 3), rsWith(1, 0), 1, 0},
		{"seed new pod ready", deployment(3, rolling, "1", "30%"), rsWith(3, 3), rsWith(1, 1), 1, 1},
		{"seed after one old removed", deployment(3, rolling, "1", "30%"), rsWith(2, 2), rsWith(1, 1), 2, 0},
		// Defaults at 10 replicas: surge 3, unavailable 2.
		// 10 pods - 8 minimum available - 0 new unavailable.
		{"defaults start", deployment(10, rolling, "25%", "25%"), rsWith(10, 10), rsWith(0, 0), 3, 2},
		// 13 - 8 - 3 new not available yet.
		{"defaults surged", deployment(10, rolling, "25%", "25%"), rsWith(10, 10), rsWith(3, 0), 3, 2},
		{"defaults new ready", deployment(10, rolling, "25%", "25%"), rsWith(10, 10), rsWith(3, 3), 3, 5},
		// 4 pods - 2 minimum available - 1 new unavailable.
		{"old unhealthy", deployment(3, rolling, "1", "1"), rsWith(3, 1), rsWith(1, 0), 1, 1},
		{"no surge", deployment(3, rolling, "0", "1"), rsWith(3, 3), rsWith(0, 0), 0, 1},
		// Recreate has no unavailability budget; it scales old to 0 itself.
		{"recreate", deployment(3, appsv1.RecreateDeploymentStrategyType, "", ""), rsWith(3, 3), rsWith(0, 0), 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := []*appsv1.ReplicaSet{tc.old, tc.new}
			got, err := NewRSNewReplicas(tc.d, all, tc.new)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.wantNew {
				t.Errorf("new replica set size %d, want %d", got, tc.wantNew)
			}
			if sd := MaxScaledDown(tc.d, all, tc.new); sd != tc.wantScaleDown && !(sd < 0 && tc.wantScaleDown == 0) {
				t.Errorf("max scaled down %d, want %d", sd, tc.wantScaleDown)
			}
		})
	}
}

func TestComputeHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	h := ComputeHash(tmpl, nil)
	if h != ComputeHash(tmpl.DeepCopy(), nil) {
		t.Error("hash of an equal template differs")
	}
	one := int32(1)
	if h == ComputeHash(tmpl, &one) {
		t.Error("collision count does not change the hash")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "j"
	if h == ComputeHash(other, nil) {
		t.Error("a changed template has the same hash")
	}
	// rand.SafeEncodeString's alphabet has no vowels and no 0, 1, 3.
	if len(h) == 0 || len(h) > 10 || strings.ContainsAny(h, "aeiou013") {
		t.Errorf("hash %q is not a SafeEncodeString of a uint32", h)
	}
}

func TestPodsToDelete(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name, node string, phase corev1.PodPhase, ready bool, readyAgo time.Duration, restarts int32, age time.Duration) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase,
				ContainerStatuses: []corev1.ContainerStatus{{RestartCount: restarts}}}}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(now.Add(-readyAgo))}}
		return p
	}
	pods := []*corev1.Pod{
		mk("ready-long", "lab", corev1.PodRunning, true, time.Hour, 0, 2*time.Hour),
		mk("ready-recent", "lab", corev1.PodRunning, true, time.Minute, 0, 2*time.Hour),
		mk("notready-restarts", "lab", corev1.PodRunning, false, 0, 5, time.Hour),
		mk("notready-new", "lab", corev1.PodRunning, false, 0, 0, time.Minute),
		mk("notready-old", "lab", corev1.PodRunning, false, 0, 0, time.Hour),
		mk("pending", "lab", corev1.PodPending, false, 0, 0, time.Hour),
		mk("unscheduled", "", corev1.PodPending, false, 0, 0, time.Hour),
	}
	want := []string{"unscheduled", "pending", "notready-restarts", "notready-new", "notready-old", "ready-recent", "ready-long"}
	got := podsToDelete(pods, len(pods))
	for i := range want {
		if got[i].Name != want[i] {
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			t.Fatalf("deletion order %v, want %v", names, want)
		}
	}
}

// TestComputeHashMatchesKubernetes compares with hashes that
// k8s.io/kubernetes v1.37.2 pkg/controller.ComputeHash gave for the same
// template (a throwaway program built against hack/controlplane's module,
// which requires k8s.io/kubernetes; its output is kept here).
func TestComputeHashMatchesKubernetes(t *testing.T) {
	b, err := os.ReadFile("testdata/hash-template.json")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl corev1.PodTemplateSpec
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	for _, tc := range []struct {
		collisions *int32
		want       string
	}{{nil, "b8d858dbd"}, {&one, "f6cd46865"}} {
		if got := ComputeHash(&tmpl, tc.collisions); got != tc.want {
			t.Errorf("ComputeHash(collisions %v) = %s, Kubernetes gives %s", tc.collisions, got, tc.want)
		}
	}
}

// An old replica set whose status still counts more available pods than
// its (just lowered) size must not be "cleaned up" upwards: rolling.go
// cleanupUnhealthyReplicas refuses a scale-down that would grow it, and the
// sync is retried once the status has caught up.
func TestCleanupUnhealthyNeverScalesUp(t *testing.T) {
	ctx := context.Background()
	s := store.New(store.Options{})
	t.Cleanup(s.Close)
	c := s.Client()
	d := seedDeployment("1.0.2", appsv1.RollingUpdateDeploymentStrategyType)
	two := int32(2)
	old := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "prober-foo-old", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prober-foo"}},
			Template: *seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType).Spec.Template.DeepCopy()},
	}
	old, err := c.AppsV1().ReplicaSets("default").Create(ctx, old, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old.Status = appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
	if old, err = c.AppsV1().ReplicaSets("default").UpdateStatus(ctx, old, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A new replica set of 2 available: 5 pods, minimum 3 available, so
	// 2 may go; the old one's "unhealthy" count is 2 - 3 = -1.
	newRS := rsWith(2, 2)
	m := New(c, Options{})
	_, err = m.reconcileOldReplicaSets(ctx, []*appsv1.ReplicaSet{old, newRS}, []*appsv1.ReplicaSet{old}, newRS, d)
	if err == nil {
		t.Error("no error for a cleanup that would scale up")
	}
	got, _ := c.AppsV1().ReplicaSets("default").Get(ctx, old.Name, metav1.GetOptions{})
	if *got.Spec.Replicas != 2 {
		t.Errorf("old replica set scaled to %d, want it left at 2", *got.Spec.Replicas)
	}
}
