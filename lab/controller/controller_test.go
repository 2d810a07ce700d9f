package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/lab/store"
)

// fakeNode stands in for the kubelet: every new pod is marked Running and
// (when ready says so) Ready. Pods are never bound, so deletes are
// immediate.
func fakeNode(ctx context.Context, t *testing.T, c kubernetes.Interface, ready func(*corev1.Pod) bool) {
	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				p, _ := ev.Object.(*corev1.Pod)
				if ev.Type != watch.Added || p == nil {
					continue
				}
				p = p.DeepCopy()
				st := corev1.ConditionFalse
				if ready(p) {
					st = corev1.ConditionTrue
				}
				p.Status.Phase = corev1.PodRunning
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
				if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("fake node: %v", err)
				}
			}
		}
	}()
}

func startLab(t *testing.T, ready func(*corev1.Pod) bool) (context.Context, kubernetes.Interface) {
	t.Helper()
	ctx, c, _ := startLabWith(t, ready, Options{})
	return ctx, c
}

// startLabWith also returns the running controllers, so a test with a fake
// clock can sync a Deployment after stepping it.
func startLabWith(t *testing.T, ready func(*corev1.Pod) bool, opts Options) (context.Context, kubernetes.Interface, *Manager) {
	t.Helper()
	s := store.New(store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	m := New(s.Client(), opts)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controllers: %v", err)
		}
		s.Close()
	})
	fakeNode(ctx, t, s.Client(), ready)
	return ctx, s.Client(), m
}

func seedDeployment(version string, strategy appsv1.DeploymentStrategyType) *appsv1.Deployment {
	three := int32(3)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "prober-foo", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &three,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prober-foo"}},
			Strategy: appsv1.DeploymentStrategy{Type: strategy},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "prober-foo", "version": version}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "prober-foo", Image: "proberctl:latest"}}},
			},
		},
	}
	if strategy == appsv1.RollingUpdateDeploymentStrategyType {
		surge, unavail := intstr.FromInt32(1), intstr.FromString("30%")
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}
	}
	return d
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last state: %s", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deploymentDone(ctx context.Context, c kubernetes.Interface, gen int64) func() (bool, string) {
	return func() (bool, string) {
		d, err := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		st := d.Status
		cond := getCondition(st, appsv1.DeploymentProgressing)
		ok := st.ObservedGeneration >= gen && st.Replicas == 3 && st.UpdatedReplicas == 3 && st.AvailableReplicas == 3 &&
			cond != nil && cond.Reason == reasonNewRSAvailable
		return ok, fmt.Sprintf("%+v", st)
	}
}

func eventMessages(ctx context.Context, t *testing.T, c kubernetes.Interface, reason string) []string {
	t.Helper()
	list, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestDeploymentCreatesReplicaSetAndPods(t *testing.T) {
	ctx, c := startLab(t, func(*corev1.Pod) bool { return true })
	d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3/3 available", deploymentDone(ctx, c, d.Generation))

	rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	if len(rss.Items) != 1 {
		t.Fatalf("%d replica sets, want 1", len(rss.Items))
	}
	rs := rss.Items[0]
	hash := ComputeHash(&d.Spec.Template, nil)
	if rs.Name != "prober-foo-"+hash || rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		rs.Annotations[RevisionAnnotation] != "1" || rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Errorf("replica set %s labels %v annotations %v, want prober-foo-%s with revision 1", rs.Name, rs.Labels, rs.Annotations, hash)
	}
	pods, _ := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		if !strings.HasPrefix(p.Name, rs.Name+"-") || len(p.Name) != len(rs.Name)+6 {
			t.Errorf("pod name %q, want %s-xxxxx", p.Name, rs.Name)
		}
	}
	waitFor(t, "events", func() (bool, string) {
		scaled := eventMessages(ctx, t, c, reasonScalingRS)
		created := eventMessages(ctx, t, c, "SuccessfulCreate")
		return slices.Equal(scaled, []string{"Scaled up replica set " + rs.Name + " from 0 to 3"}) && len(created) == 3,
			fmt.Sprintf("ScalingReplicaSet %q SuccessfulCreate %q", scaled, created)
	})
	for _, m := range eventMessages(ctx, t, c, "SuccessfulCreate") {
		if !strings.HasPrefix(m, "Created pod: "+rs.Name+"-") {
			t.Errorf("SuccessfulCreate message %q", m)
		}
	}
	dd, _ := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
	if dd.Annotations[RevisionAnnotation] != "1" {
		t.Errorf("deployment revision %q", dd.Annotations[RevisionAnnotation])
	}
	if a := getCondition(dd.Status, appsv1.DeploymentAvailable); a == nil || a.Status != corev1.ConditionTrue || a.Reason != reasonMinAvailable {
		t.Errorf("Available condition %+v", a)
	}

	// A deleted pod is replaced.
	victim := pods.Items[0].Name
	if err := c.CoreV1().Pods("default").Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replacement pod", func() (bool, string) {
		pods, _ := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		n := 0
		for _, p := range pods.Items {
			if p.Name == victim {
				return false, "victim still there"
			}
			n++
		}
		return n == 3, fmt.Sprintf("%d pods", n)
	})
}

// rsRecorder follows every replica set write in order, as the API saw it.
type rsRecorder struct {
	mu     sync.Mutex
	latest map[string]appsv1.ReplicaSet
	errs   []string
}

func TestRollingUpdateBounds(t *testing.T) {
	ctx, c := startLab(t, func(*corev1.Pod) bool { return true })
	d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first rollout", deploymentDone(ctx, c, d.Generation))
	d, _ = c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})

	// Bounds from the rules, not from this controller: 3 replicas, surge 1
	// (an integer), unavailable floor(30% of 3) = 0.
	surge, unavail, _ := ResolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, 3)
	maxPods, minAvailable := 3+surge, 3-unavail
	if maxPods != 4 || minAvailable != 3 {
		t.Fatalf("bounds %d/%d, want 4/3", maxPods, minAvailable)
	}

	w, err := c.AppsV1().ReplicaSets("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rec := &rsRecorder{latest: map[string]appsv1.ReplicaSet{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			rec.mu.Lock()
			prev, seen := rec.latest[rs.Name]
			if ev.Type == watch.Deleted {
				delete(rec.latest, rs.Name)
			} else {
				rec.latest[rs.Name] = *rs
			}
			var total, available int32
			for _, r := range rec.latest {
				total += *r.Spec.Replicas
			}
			for name, r := range rec.latest {
				if name == rs.Name && seen {
					available += prev.Status.AvailableReplicas
				} else if name != rs.Name {
					available += r.Status.AvailableReplicas
				}
			}
			if total > maxPods {
				rec.errs = append(rec.errs, fmt.Sprintf("replica sets ask for %d pods, more than %d", total, maxPods))
			}
			// An old replica set shrinks only while enough stay available:
			// what was available just before, less what it removes.
			if seen && *rs.Spec.Replicas < *prev.Spec.Replicas && rs.Labels["version"] == "1.0.1" {
				removed := *prev.Spec.Replicas - *rs.Spec.Replicas
				if available+prev.Status.AvailableReplicas-removed < minAvailable {
					rec.errs = append(rec.errs, fmt.Sprintf("scaled %s from %d to %d with %d available", rs.Name, *prev.Spec.Replicas, *rs.Spec.Replicas, available+prev.Status.AvailableReplicas))
				}
			}
			rec.mu.Unlock()
		}
	}()

	next := d.DeepCopy()
	next.Spec.Template.Labels["version"] = "1.0.2"
	if _, err := c.AppsV1().Deployments("default").Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second rollout", deploymentDone(ctx, c, d.Generation+1))
	w.Stop()
	<-done
	for _, e := range rec.errs {
		t.Error(e)
	}

	rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	revs := map[string]string{}
	for _, rs := range rss.Items {
		revs[rs.Labels["version"]+" "+fmt.Sprint(*rs.Spec.Replicas)] = rs.Annotations[RevisionAnnotation]
	}
	if revs["1.0.1 0"] != "1" || revs["1.0.2 3"] != "2" {
		t.Errorf("replica sets after rollout (version replicas -> revision): %v", revs)
	}
	// Surge 1, unavailable 0: one up, one down, three times. Events are
	// written after the scaling, so wait for them.
	waitFor(t, "7 ScalingReplicaSet events (up to 3, then up 1/down 1 three times)", func() (bool, string) {
		scaled := eventMessages(ctx, t, c, reasonScalingRS)
		return len(scaled) == 7, fmt.Sprintf("%q", scaled)
	})
}

func TestRecreate(t *testing.T) {
	ctx, c := startLab(t, func(*corev1.Pod) bool { return true })
	d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RecreateDeploymentStrategyType), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first rollout", deploymentDone(ctx, c, d.Generation))
	d, _ = c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})

	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mixed []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		live := map[string]string{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(live, p.Name)
			} else {
				live[p.Name] = p.Labels["version"]
			}
			versions := map[string]bool{}
			for _, v := range live {
				versions[v] = true
			}
			if len(versions) > 1 {
				mixed = append(mixed, fmt.Sprint(live))
			}
		}
	}()
	next := d.DeepCopy()
	next.Spec.Template.Labels["version"] = "1.0.2"
	if _, err := c.AppsV1().Deployments("default").Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second rollout", deploymentDone(ctx, c, d.Generation+1))
	w.Stop()
	<-done
	if len(mixed) > 0 {
		t.Errorf("Recreate ran old and new pods together: %v", mixed[0])
	}
}

// A rollout whose new pods never become ready stops at the surge and
// keeps every old pod: unavailable 0 means none may go.
func TestRolloutGatedOnReadiness(t *testing.T) {
	ctx, c := startLab(t, func(p *corev1.Pod) bool { return p.Labels["version"] == "1.0.1" })
	stuckSeedRollout(ctx, t, c) // old 3 and the surge pod, never ready
	// Nothing more can happen: the controller has no step left until the
	// new pod is ready. Check the state it rests in after one more sync.
	m := New(c, Options{})
	// It asks to be looked at again when the progress deadline passes.
	if err := m.syncDeployment(ctx, "default/prober-foo"); err != nil && !errors.As(err, new(requeue)) {
		t.Fatal(err)
	}
	rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	for _, rs := range rss.Items {
		want := int32(3)
		if rs.Labels["version"] == "1.0.2" {
			want = 1
		}
		if *rs.Spec.Replicas != want {
			t.Errorf("%s (%s) wants %d replicas, want %d", rs.Name, rs.Labels["version"], *rs.Spec.Replicas, want)
		}
	}
}

// Scaling without a template change resizes the one replica set
// (sync.go scale, which with a single active replica set sets its size).
func TestScale(t *testing.T) {
	ctx, c := startLab(t, func(*corev1.Pod) bool { return true })
	d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3/3", deploymentDone(ctx, c, d.Generation))
	for _, n := range []int32{5, 2} {
		d, err = c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Replicas = &n
		if d, err = c.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%d pods", n), func() (bool, string) {
			pods, _ := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			dd, _ := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
			return len(pods.Items) == int(n) && dd.Status.AvailableReplicas == n && dd.Status.ObservedGeneration == d.Generation,
				fmt.Sprintf("%d pods, status %+v", len(pods.Items), dd.Status)
		})
	}
	rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	if len(rss.Items) != 1 {
		t.Fatalf("%d replica sets after scaling, want 1", len(rss.Items))
	}
	name := rss.Items[0].Name
	want := []string{
		"Scaled up replica set " + name + " from 0 to 3",
		"Scaled up replica set " + name + " from 3 to 5",
		"Scaled down replica set " + name + " from 5 to 2",
	}
	waitFor(t, "scaling events", func() (bool, string) {
		got := eventMessages(ctx, t, c, reasonScalingRS)
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		return slices.Equal(got, w), fmt.Sprint(got)
	})
	// Events are written after the pods are deleted, so wait for them too.
	waitFor(t, "3 SuccessfulDelete events", func() (bool, string) {
		got := eventMessages(ctx, t, c, "SuccessfulDelete")
		return len(got) == 3, fmt.Sprint(got)
	})
}
