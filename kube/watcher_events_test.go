package kube

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/proberctl/proberctl/kube/kubetest"
)

// shownEvents lists the events in view, sorted.
func shownEvents(v *view) []string {
	var out []string
	for k, d := range v.objs {
		if k.kind == KindEvent && d.Type == Upsert {
			out = append(out, k.key)
		}
	}
	slices.Sort(out)
	return out
}

// rollout makes a Deployment, a ReplicaSet it owns and a pod the replica
// set owns, all labelled app=app, as a Deployment controller would (the
// test control plane runs none), plus an event about each.
func rollout(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, app string) {
	t.Helper()
	lbl := map[string]string{"app": app}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}
	d, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: app + "-rs",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID}}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: app + "-rs-1", Labels: lbl,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID}}}, Spec: tmpl.Spec}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, about := range []struct{ kind, name string }{{"Deployment", d.Name}, {"ReplicaSet", rs.Name}, {"Pod", p.Name}} {
		createEvent(ctx, t, c, ns, app+"-"+about.kind, about.kind, about.name)
	}
}

func createEvent(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name, kind, obj string) {
	t.Helper()
	now := metav1.Now()
	e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: obj},
		Reason:         "Test", Message: name, Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "test"}, FirstTimestamp: now, LastTimestamp: now, Count: 1}
	if _, err := c.CoreV1().Events(ns).Create(ctx, e, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestWatcherEventsFollowTheSelector: with -l, only the events about what
// the view shows arrive, on a real API server: the matching pods and their
// replica set and deployment, not another app's, and none at all for a
// selector nothing matches (`proberctl watch -l app=nope` printed the
// Deployment's and ReplicaSet's events). The rollout objects themselves
// still all arrive, for the dashboard's rollout view.
func TestWatcherEventsFollowTheSelector(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	c := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rollout(ctx, t, c, ns, "foo")
	rollout(ctx, t, c, ns, "bar")

	start := func(sel string) (*Watcher, *view) {
		t.Helper()
		w := NewWatcher(c, WatchOptions{Namespace: ns, LabelSelector: sel})
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		v := newView()
		waitFor(t, w, v, "sync", func(v *view) bool { return v.synced })
		return w, v
	}
	key := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, ns+"/"+n)
		}
		slices.Sort(out)
		return out
	}

	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{"", key("foo-Deployment", "foo-ReplicaSet", "foo-Pod", "bar-Deployment", "bar-ReplicaSet", "bar-Pod")},
		{"app=foo", key("foo-Deployment", "foo-ReplicaSet", "foo-Pod")},
		{"app=nope", nil},
	} {
		_, v := start(tc.sel)
		if got := shownEvents(v); !slices.Equal(got, tc.want) {
			t.Errorf("-l %q: events %v, want %v", tc.sel, got, tc.want)
		}
		for _, k := range []deltaKey{{KindDeployment, ns + "/foo"}, {KindDeployment, ns + "/bar"}, {KindReplicaSet, ns + "/foo-rs"}, {KindReplicaSet, ns + "/bar-rs"}} {
			if !v.has(k.kind, k.key, Upsert) {
				t.Errorf("-l %q: %v %s missing: the rollout view shows every deployment", tc.sel, k.kind, k.key)
			}
		}
	}

	// Live: a new replica set's event arrives whichever of the two the
	// watcher sees first; another app's event does not. A pod event sent
	// after it is the marker: one watch delivers in order, so once the
	// marker is in, the other event would be too.
	w, v := start("app=foo")
	createEvent(ctx, t, c, ns, "foo-rs2-created", "ReplicaSet", "foo-rs2")
	lbl := map[string]string{"app": "foo"}
	if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "foo-rs2"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "the new replica set's event", func(v *view) bool { return v.has(KindEvent, ns+"/foo-rs2-created", Upsert) })
	createEvent(ctx, t, c, ns, "bar-scaled", "Deployment", "bar")
	createEvent(ctx, t, c, ns, "marker", "Pod", "foo-rs-1")
	waitFor(t, w, v, "the marker event", func(v *view) bool { return v.has(KindEvent, ns+"/marker", Upsert) })
	if v.has(KindEvent, ns+"/bar-scaled", Upsert) {
		t.Errorf("-l app=foo shows an event about deployment bar")
	}
}

// A replica set whose template does not match is still shown, with its
// deployment, when it owns a pod in view; and an event about a replica set
// not seen yet waits for it instead of being judged without it.
func TestWatcherEventOwnersAndHeldEvents(t *testing.T) {
	bar := map[string]string{"app": "bar"}
	tmpl := func(l map[string]string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}}
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "bar", UID: types.UID("dep-uid")},
		Spec: appsv1.DeploymentSpec{Template: tmpl(bar)}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "bar-rs", UID: types.UID("rs-uid"),
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "bar", UID: dep.UID}}},
		Spec: appsv1.ReplicaSetSpec{Template: tmpl(bar)}}
	// Relabelled by hand into the view, still owned by bar-rs.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "bar-rs-1", Labels: map[string]string{"app": "foo"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "bar-rs", UID: rs.UID}}}}
	client := fake.NewClientset(dep, rs, pod,
		event("demo", "e-rs", "ReplicaSet", "bar-rs"), event("demo", "e-dep", "Deployment", "bar"))
	w, v := startSynced(t, client, WatchOptions{Namespace: "demo", LabelSelector: "app=foo"})
	ctx := context.Background()
	if got, want := shownEvents(v), []string{"demo/e-dep", "demo/e-rs"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v (the owners of a pod in view)", got, want)
	}

	if _, err := client.CoreV1().Events("demo").Create(ctx, event("demo", "e-early", "ReplicaSet", "foo-new"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	held := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.heldCount
	}
	deadline := time.Now().Add(10 * time.Second)
	for held() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the event about a replica set not seen yet was not held (%d held)", held())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v.has(KindEvent, "demo/e-early", Upsert) {
		t.Fatal("an event about an unknown replica set was shown before it arrived")
	}
	if _, err := client.AppsV1().ReplicaSets("demo").Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "foo-new"},
		Spec: appsv1.ReplicaSetSpec{Template: tmpl(map[string]string{"app": "foo"})}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "the held event", func(v *view) bool { return v.has(KindEvent, "demo/e-early", Upsert) })
	if n := held(); n != 0 {
		t.Errorf("%d events still held after their replica set arrived", n)
	}
}

// A held event is the event as it is now: an update (a repeat counted
// up) replaces it instead of holding it again, and a delete drops it, so
// its owner's arrival does not bring a deleted event back.
func TestWatcherHeldEventsFollowUpdatesAndDeletes(t *testing.T) {
	client := fake.NewClientset()
	w, v := startSynced(t, client, WatchOptions{Namespace: "demo", LabelSelector: "app=foo"})
	ctx := context.Background()

	owner := ownerKey{"ReplicaSet", "demo/foo-new"}
	held := func() (n int, last *corev1.Event) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, e := range w.held[owner] {
			if e.Name == "e-early" {
				last = e
			}
		}
		return w.heldCount, last
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				n, _ := held()
				t.Fatalf("waited 10 s for %s (%d events held)", what, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	events := client.CoreV1().Events("demo")
	// Held first, so released first: by the time e-early shows, it would
	// have been shown too.
	for _, name := range []string{"e-gone", "e-early"} {
		if _, err := events.Create(ctx, event("demo", name, "ReplicaSet", "foo-new"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for count := int32(2); count <= 4; count++ {
		e := event("demo", "e-early", "ReplicaSet", "foo-new")
		e.Count = count
		if _, err := events.Update(ctx, e, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	until("the third update held", func() bool { _, e := held(); return e != nil && e.Count == 4 })
	if n, _ := held(); n != 2 {
		t.Errorf("%d events held, want 2: e-gone and e-early, each once", n)
	}
	if err := events.Delete(ctx, "e-gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until("the deleted event let go", func() bool { n, _ := held(); return n == 1 })

	if _, err := client.AppsV1().ReplicaSets("demo").Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "foo-new"},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "foo"}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "the held event", func(v *view) bool { return v.has(KindEvent, "demo/e-early", Upsert) })
	if e := v.objs[deltaKey{KindEvent, "demo/e-early"}].Obj.(*corev1.Event); e.Count != 4 {
		t.Errorf("e-early shown with count %d, want its latest, 4", e.Count)
	}
	if v.has(KindEvent, "demo/e-gone", Upsert) {
		t.Error("an event deleted while held was shown when its replica set arrived")
	}
}

// The hold is bounded: events about replica sets that never come (deleted
// before the watch began) do not grow memory.
func TestWatcherHeldEventsBounded(t *testing.T) {
	w := NewWatcher(fake.NewClientset(), WatchOptions{LabelSelector: "app=foo"})
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range 3 * maxHeld {
		w.holdLocked(ownerKey{"ReplicaSet", fmt.Sprintf("demo/gone-%d", i%(maxHeld/2))}, &corev1.Event{})
	}
	n := 0
	for _, es := range w.held {
		n += len(es)
	}
	if n != w.heldCount || n > maxHeld {
		t.Errorf("holding %d events (counted %d), bound %d", n, w.heldCount, maxHeld)
	}
}

// TestWatchCommandEventsFollowTheSelector is the report's command:
// `proberctl watch -l app=nope` printed the Deployment's and ReplicaSet's
// events. A pod that matches and an event about it, made after the sync,
// mark the end: the initial events were printed before them, so any event
// line but the marker's is one too many.
func TestWatchCommandEventsFollowTheSelector(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	bin := needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rollout(ctx, t, env.Client, ns, "foo")

	w := startWatchJSON(ctx, t, bin, "--kubeconfig", kubetest.Kubeconfig(t, env.Config, ns), "-l", "app=nope")
	var events []string
	w.onLine = func(m map[string]any) {
		if m["kind"] == "Event" {
			events = append(events, fmt.Sprint(m["object"], ": ", m["message"]))
		}
	}
	w.waitLine("the sync", func(m map[string]any) bool { return m["kind"] == "Synced" })
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nope-1", Labels: map[string]string{"app": "nope"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.waitLine("the matching pod", func(m map[string]any) bool { return m["kind"] == "Pod" && m["name"] == "nope-1" })
	createEvent(ctx, t, env.Client, ns, "marker", "Pod", "nope-1")
	w.waitLine("the marker event", func(m map[string]any) bool { return m["kind"] == "Event" && m["message"] == "marker" })
	_ = w.interrupt()
	if want := []string{"pod/nope-1: marker"}; !slices.Equal(events, want) {
		t.Errorf("watch -l app=nope printed events %q, want only %q", events, want)
	}
}
