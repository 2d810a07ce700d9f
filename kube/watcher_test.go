package kube

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// view is what a consumer builds from batches: the latest delta per key,
// the last connection state, and whether the caches synced.
type view struct {
	objs    map[deltaKey]Delta
	conn    Conn
	synced  bool
	batches int
}

func newView() *view { return &view{objs: map[deltaKey]Delta{}} }

func (v *view) apply(b Batch) {
	v.batches++
	for _, d := range b.Deltas {
		v.objs[deltaKey{d.Kind, d.Key}] = d
	}
	if b.Conn != nil {
		v.conn = *b.Conn
	}
	if b.Synced {
		v.synced = true
	}
}

func (v *view) has(kind Kind, key string, typ DeltaType) bool {
	d, ok := v.objs[deltaKey{kind, key}]
	return ok && d.Type == typ
}

// waitFor applies batches from src until cond holds or 30 s pass.
func waitFor(t *testing.T, src Source, v *view, what string, cond func(*view) bool) {
	t.Helper()
	waitForWithin(t, 30*time.Second, src, v, what, cond)
}

// waitForWithin is waitFor with its own deadline.
func waitForWithin(t *testing.T, d time.Duration, src Source, v *view, what string, cond func(*view) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond(v) {
		b, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (conn %v %q, %d objects)", what, err, v.conn.State, v.conn.Detail, len(v.objs))
		}
		v.apply(b)
	}
}

func objMeta(ns, name string, lbl map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}}
}

func event(ns, name, kind, obj string) *corev1.Event {
	return &corev1.Event{ObjectMeta: objMeta(ns, name, nil), Reason: "Test",
		InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: obj}}
}

func TestWatcherSeesEverythingAndSyncs(t *testing.T) {
	foo := map[string]string{"app": "foo"}
	client := fake.NewClientset(
		&corev1.Pod{ObjectMeta: objMeta("demo", "foo-1", foo)},
		&corev1.Pod{ObjectMeta: objMeta("demo", "bar-1", map[string]string{"app": "bar"})},
		&corev1.Pod{ObjectMeta: objMeta("other", "foo-9", foo)},
		event("demo", "e-pod", "Pod", "foo-1"),
		event("demo", "e-pod-bar", "Pod", "bar-1"),
		event("demo", "e-rs", "ReplicaSet", "foo-abc"),
		event("demo", "e-node", "Node", "node-1"),
		&appsv1.ReplicaSet{ObjectMeta: objMeta("demo", "foo-abc", nil), Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: foo}}}},
		&appsv1.Deployment{ObjectMeta: objMeta("demo", "foo", nil), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: foo}}}},
		&corev1.Service{ObjectMeta: objMeta("demo", "foo", nil)},
		&discoveryv1.EndpointSlice{ObjectMeta: objMeta("demo", "foo-xyz", nil)},
	)
	w, v := startSynced(t, client, WatchOptions{Namespace: "demo", LabelSelector: "app=foo"})
	ctx := context.Background()

	want := []deltaKey{
		{KindPod, "demo/foo-1"}, {KindEvent, "demo/e-pod"}, {KindEvent, "demo/e-rs"},
		{KindReplicaSet, "demo/foo-abc"}, {KindDeployment, "demo/foo"},
		{KindService, "demo/foo"}, {KindEndpointSlice, "demo/foo-xyz"},
	}
	for _, k := range want {
		if !v.has(k.kind, k.key, Upsert) {
			t.Errorf("synced view lacks %v %s", k.kind, k.key)
		}
	}
	for _, k := range []deltaKey{
		{KindPod, "demo/bar-1"},       // selector
		{KindPod, "other/foo-9"},      // namespace
		{KindEvent, "demo/e-node"},    // kind not shown
		{KindEvent, "demo/e-pod-bar"}, // about a pod out of view
	} {
		if d, ok := v.objs[k]; ok && d.Type == Upsert {
			t.Errorf("synced view shows %v %s, which is out of scope", k.kind, k.key)
		}
	}
	if v.conn.State != Connected {
		t.Errorf("conn = %v %q, want connected", v.conn.State, v.conn.Detail)
	}
	pod := v.objs[deltaKey{KindPod, "demo/foo-1"}].Obj.(*corev1.Pod)
	if pod.ManagedFields != nil {
		t.Errorf("managed fields not stripped: %v", pod.ManagedFields)
	}

	// Changes after the sync arrive as deltas.
	p := pod.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	if _, err := client.CoreV1().Pods("demo").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "status update", func(v *view) bool {
		d := v.objs[deltaKey{KindPod, "demo/foo-1"}]
		return d.Obj.(*corev1.Pod).Status.Phase == corev1.PodRunning
	})
	if err := client.CoreV1().Pods("demo").Delete(ctx, "foo-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "pod deletion", func(v *view) bool { return v.has(KindPod, "demo/foo-1", Deleted) })
	if _, err := client.CoreV1().Events("demo").Create(ctx, event("demo", "e-new", "Deployment", "foo"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "new event", func(v *view) bool { return v.has(KindEvent, "demo/e-new", Upsert) })
}

// failing makes a fake clientset fail one verb on one resource while on is set.
func failing(client *fake.Clientset, verb, resource string, on *atomic.Bool, err error) {
	client.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		if on.Load() {
			return true, nil, err
		}
		return false, nil, nil
	})
	if verb == "watch" {
		client.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
			if on.Load() {
				return true, nil, err
			}
			return false, nil, nil
		})
	}
}

func TestWatcherForbiddenThenAllowed(t *testing.T) {
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: objMeta("demo", "foo-1", nil)})
	var refuse atomic.Bool
	refuse.Store(true)
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "",
		errors.New(`User "viewer" cannot list resource "pods" in API group "" in the namespace "demo"`))
	failing(client, "list", "pods", &refuse, forbidden)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := NewWatcher(client, WatchOptions{Namespace: "demo"})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "forbidden", func(v *view) bool { return v.conn.State == Forbidden })
	if want := "RBAC refused list pods in namespace demo (as viewer)"; v.conn.Detail != want {
		t.Errorf("detail = %q, want %q", v.conn.Detail, want)
	}
	if v.synced {
		t.Error("synced while pods cannot be listed")
	}
	refuse.Store(false) // RBAC fixed: the reflector's retry gets through
	waitFor(t, w, v, "recovery", func(v *view) bool { return v.conn.State == Connected && v.synced })
	if !v.has(KindPod, "demo/foo-1", Upsert) {
		t.Error("pod missing after recovery")
	}
}

// TestWatcherSyncsDespiteRefusedKind: a role that may read pods but not list
// endpoint slices still gets a Synced batch with its pods, and the Conn says
// what was refused (else the dashboard would wait on its loading view
// forever).
func TestWatcherSyncsDespiteRefusedKind(t *testing.T) {
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: objMeta("demo", "foo-1", nil)})
	var refuse atomic.Bool
	refuse.Store(true)
	failing(client, "list", "endpointslices", &refuse, apierrors.NewForbidden(
		schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "",
		errors.New(`User "viewer" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "demo"`)))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := NewWatcher(client, WatchOptions{Namespace: "demo"})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "synced", func(v *view) bool { return v.synced })
	if !v.has(KindPod, "demo/foo-1", Upsert) {
		t.Error("synced batch lacks the pod")
	}
	if want := "RBAC refused list endpointslices in namespace demo (as viewer)"; v.conn.State != Forbidden || v.conn.Detail != want {
		t.Errorf("conn = %v %q, want Forbidden %q", v.conn.State, v.conn.Detail, want)
	}
}

func TestWatcherDisconnectedThenRecovered(t *testing.T) {
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: objMeta("demo", "foo-1", nil)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var down atomic.Bool
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api/v1/namespaces/demo/events",
		Err: &netOpError{syscall.ECONNREFUSED}}
	failing(client, "list", "events", &down, refused)
	down.Store(true)

	w := NewWatcher(client, WatchOptions{Namespace: "demo"})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "disconnected", func(v *view) bool { return v.conn.State == Disconnected })
	if !strings.Contains(v.conn.Detail, "connection refused") || strings.Contains(v.conn.Detail, "https://") {
		t.Errorf("detail = %q, want the dial error without the URL", v.conn.Detail)
	}
	down.Store(false)
	waitFor(t, w, v, "recovery", func(v *view) bool { return v.conn.State == Connected && v.synced })
}

// netOpError is a minimal dial error whose text matches the real one.
type netOpError struct{ errno syscall.Errno }

func (e *netOpError) Error() string {
	return "dial tcp 127.0.0.1:6443: connect: " + e.errno.Error()
}
func (e *netOpError) Unwrap() error { return e.errno }

func TestWatcherMisuse(t *testing.T) {
	client := fake.NewClientset()
	w := NewWatcher(client, WatchOptions{})
	if _, err := w.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "Start") {
		t.Errorf("Next before Start: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	bad := NewWatcher(client, WatchOptions{LabelSelector: "app in foo"})
	if err := bad.Start(ctx); err == nil || !strings.Contains(err.Error(), `"app in foo"`) {
		t.Errorf("bad selector: err = %v", err)
	}
	// Next honours its context while nothing is pending.
	v := newView()
	waitFor(t, w, v, "sync", func(v *view) bool { return v.synced })
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if _, err := w.Next(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: err = %v", err)
	}
}

// Pushing never blocks, and past maxQueue a key already queued is replaced
// in place rather than queued again.
func TestWatcherQueueCoalesces(t *testing.T) {
	w := NewWatcher(fake.NewClientset(), WatchOptions{Window: -1})
	w.started = true
	for i := range maxQueue {
		w.push(Delta{Kind: KindPod, Key: fmt.Sprintf("ns/p%d", i), Obj: 0})
	}
	for round := 1; round <= 3; round++ {
		for i := range maxQueue {
			w.push(Delta{Kind: KindPod, Key: fmt.Sprintf("ns/p%d", i), Obj: round})
		}
	}
	w.push(Delta{Kind: KindPod, Key: "ns/new", Obj: 0}) // a new key still queues
	b, err := w.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Deltas) != maxQueue+1 {
		t.Fatalf("batch has %d deltas, want %d", len(b.Deltas), maxQueue+1)
	}
	if b.Deltas[0].Key != "ns/p0" || b.Deltas[0].Obj != 3 {
		t.Errorf("first delta = %+v, want ns/p0 with the latest state (3)", b.Deltas[0])
	}
	if b.Deltas[maxQueue].Key != "ns/new" {
		t.Errorf("last delta = %+v, want ns/new", b.Deltas[maxQueue])
	}
	// Below the cap every change is kept, in order.
	w.push(Delta{Kind: KindPod, Key: "ns/a", Obj: 1})
	w.push(Delta{Kind: KindPod, Key: "ns/a", Obj: 2})
	if b, _ = w.Next(context.Background()); len(b.Deltas) != 2 || b.Deltas[1].Obj != 2 {
		t.Errorf("batch = %+v, want both changes of ns/a", b.Deltas)
	}
}

// startSynced starts a watcher on client and waits for its synced batch;
// the watcher ends with the test.
func startSynced(t *testing.T, client kubernetes.Interface, opts WatchOptions) (*Watcher, *view) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := NewWatcher(client, opts)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "sync", func(v *view) bool { return v.synced })
	return w, v
}
