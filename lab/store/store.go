// Package store is the lab's API server: client-go's fake clientset (an
// in-memory object tracker with watches) plus, in one place, what the real
// kube-apiserver does on every write and the fake does not: generateName,
// uid, resourceVersion, creationTimestamp, generation, the defaults the views
// rely on, optimistic concurrency, status subresource semantics, graceful pod
// deletion and garbage collection of owned objects.
//
// Everything goes through reactors on the fake clientset, so any client of
// Client() (informers, the kubelet, the controllers, the dashboard) sees the
// same behaviour a real API server would give it.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
)

// Options configures a Store.
type Options struct {
	// Clock stamps creationTimestamp and deletionTimestamp; nil means the
	// real clock.
	Clock clock.PassiveClock
	// Logger receives garbage-collection failures; nil discards.
	Logger *slog.Logger
}

// Store is the in-memory API server.
type Store struct {
	cs      *fake.Clientset
	tracker k8stesting.ObjectTracker
	clock   clock.PassiveClock
	log     *slog.Logger

	// mu serialises writes, so a read-modify-write (resourceVersion check,
	// status merge) is atomic as it is in etcd.
	mu sync.Mutex
	rv int64 // last resourceVersion handed out, one counter for all kinds as etcd has

	ipMu      sync.Mutex
	nextIP    int              // next fake clusterIP suffix
	nodePorts map[int32]string // nodePort -> service key, as the apiserver's port allocator

	gcCtx    context.Context
	gcCancel context.CancelFunc
	gcWG     sync.WaitGroup
}

// New returns an empty store in which the "default" namespace exists.
func New(opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cs := fake.NewClientset()
	s := &Store{
		cs:        cs,
		tracker:   cs.Tracker(),
		clock:     opts.Clock,
		log:       opts.Logger,
		nodePorts: map[int32]string{},
	}
	s.gcCtx, s.gcCancel = context.WithCancel(context.Background())
	cs.PrependReactor("*", "*", s.react)
	cs.PrependWatchReactor("*", s.watch)
	// The default namespace exists on every cluster; the views list it.
	_, _ = cs.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metav1.NamespaceDefault}}, metav1.CreateOptions{})
	return s
}

// Client is the clientset every part of the lab and the dashboard use.
func (s *Store) Client() kubernetes.Interface { return s.cs }

// Close waits for pending garbage collection to stop.
func (s *Store) Close() {
	s.gcCancel()
	s.gcWG.Wait()
}

func (s *Store) nextRV() string {
	s.rv++
	return strconv.FormatInt(s.rv, 10)
}

// now is the write time at the apiserver's precision: metav1.Time
// serialises whole seconds, so stored timestamps carry no more.
func (s *Store) now() metav1.Time {
	return metav1.NewTime(s.clock.Now().Truncate(time.Second))
}

// react handles the writes; reads fall through to the tracker's own
// reactor.
func (s *Store) react(action k8stesting.Action) (bool, runtime.Object, error) {
	// Switch on the verb: CreateAction and UpdateAction are the same
	// interface, so a type switch cannot tell them apart.
	switch action.GetVerb() {
	case "create":
		a := action.(k8stesting.CreateAction)
		if a.GetSubresource() == "binding" {
			obj, err := s.bind(a)
			return true, obj, err
		}
		if a.GetSubresource() != "" {
			return true, nil, apierrors.NewMethodNotSupported(a.GetResource().GroupResource(), "create "+a.GetSubresource())
		}
		obj, err := s.create(a.GetResource(), a.GetNamespace(), a.GetObject())
		return true, obj, err
	case "update":
		a := action.(k8stesting.UpdateAction)
		obj, err := s.update(a.GetResource(), a.GetNamespace(), a.GetSubresource(), a.GetObject())
		return true, obj, err
	case "patch":
		obj, err := s.patch(action.(k8stesting.PatchAction))
		return true, obj, err
	case "list":
		a, ok := action.(k8stesting.ListActionImpl)
		if !ok {
			return false, nil, nil
		}
		obj, err := s.list(a)
		return true, obj, err
	case "delete":
		a := action.(k8stesting.DeleteAction)
		var opts metav1.DeleteOptions
		if d, ok := a.(k8stesting.DeleteActionImpl); ok {
			opts = d.DeleteOptions
		}
		obj, err := s.delete(a.GetResource(), a.GetNamespace(), a.GetName(), opts)
		return true, obj, err
	}
	return false, nil, nil
}

func (s *Store) create(gvr schema.GroupVersionResource, ns string, in runtime.Object) (runtime.Object, error) {
	obj := in.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("create %s: %v", gvr.Resource, err))
	}
	if err := decodeBody(obj); err != nil {
		return nil, err
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(ns)
	}
	setDefaults(obj, nil)

	s.mu.Lock()
	defer s.mu.Unlock()
	gr := gvr.GroupResource()
	switch {
	case m.GetName() != "":
	case m.GetGenerateName() != "":
		// The apiserver appends 5 random characters and retries a few
		// times on a collision (staging/src/k8s.io/apiserver/pkg/registry/
		// generic/registry/store.go, names.SimpleNameGenerator).
		for range 8 {
			name := m.GetGenerateName() + rand.String(5)
			if _, err := s.tracker.Get(gvr, m.GetNamespace(), name); apierrors.IsNotFound(err) {
				m.SetName(name)
				break
			}
		}
		if m.GetName() == "" {
			return nil, apierrors.NewAlreadyExists(gr, m.GetGenerateName())
		}
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(s.now())
	m.SetGeneration(1)
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	// Validation sees the system fields and the generated name
	// (rest.BeforeCreate); no name at all is its "name or generateName is
	// required".
	if err := validate(obj, nil); err != nil {
		return nil, err
	}
	if _, err := s.tracker.Get(gvr, m.GetNamespace(), m.GetName()); err == nil {
		return nil, apierrors.NewAlreadyExists(gr, m.GetName())
	}
	m.SetResourceVersion(s.nextRV())
	if svc, ok := obj.(*corev1.Service); ok {
		if err := s.allocate(svc, nil); err != nil {
			return nil, err
		}
	}
	if err := s.tracker.Create(gvr, obj, m.GetNamespace()); err != nil {
		if svc, ok := obj.(*corev1.Service); ok {
			s.release(svc)
		}
		return nil, err
	}
	return obj.DeepCopyObject(), nil
}

// update writes obj over the stored object. For the status subresource only
// the status is taken; for the main resource the status is kept, as the
// apiserver's registry strategies do (PrepareForUpdate in pkg/registry/*).
func (s *Store) update(gvr schema.GroupVersionResource, ns, sub string, in runtime.Object) (runtime.Object, error) {
	obj := in.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("update %s: %v", gvr.Resource, err))
	}
	if err := decodeBody(obj); err != nil {
		return nil, err
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(ns)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(gvr, sub, obj)
}

func (s *Store) updateLocked(gvr schema.GroupVersionResource, sub string, obj runtime.Object) (runtime.Object, error) {
	m, _ := meta.Accessor(obj)
	gr := gvr.GroupResource()
	cur, err := s.tracker.Get(gvr, m.GetNamespace(), m.GetName())
	if err != nil {
		return nil, err
	}
	cm, _ := meta.Accessor(cur)
	if rv := m.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
		return nil, apierrors.NewConflict(gr, m.GetName(),
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	switch sub {
	case "status":
		// Only status changes; everything else is the stored object's.
		next := cur.DeepCopyObject()
		copyField(next, obj, "Status")
		obj = next
		m, _ = meta.Accessor(obj)
	case "":
		copyField(obj, cur, "Status")
		setDefaults(obj, cur)
		// Fields only the apiserver sets, set before validation as the
		// registry's PrepareForUpdate does; an update without a
		// resourceVersion is an unconditional one, validated as if it
		// named the stored version (generic registry Store.Update).
		m.SetUID(cm.GetUID())
		m.SetCreationTimestamp(cm.GetCreationTimestamp())
		m.SetDeletionTimestamp(cm.GetDeletionTimestamp())
		m.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
		m.SetGeneration(cm.GetGeneration())
		if m.GetResourceVersion() == "" {
			m.SetResourceVersion(cm.GetResourceVersion())
		}
		if err := validate(obj, cur); err != nil {
			return nil, err
		}
		if !equality.Semantic.DeepEqual(structField(obj, "Spec"), structField(cur, "Spec")) {
			m.SetGeneration(cm.GetGeneration() + 1)
		}
		if svc, ok := obj.(*corev1.Service); ok {
			if err := s.allocate(svc, cur.(*corev1.Service)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, apierrors.NewMethodNotSupported(gr, "update "+sub)
	}
	m.SetResourceVersion(s.nextRV())
	if err := s.tracker.Update(gvr, obj, m.GetNamespace()); err != nil {
		return nil, err
	}
	return obj.DeepCopyObject(), nil
}

// patch applies JSON, merge and strategic-merge patches to the stored object
// and stores the result through the update path.
func (s *Store) patch(a k8stesting.PatchAction) (runtime.Object, error) {
	gvr := a.GetResource()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.tracker.Get(gvr, a.GetNamespace(), a.GetName())
	if err != nil {
		return nil, err
	}
	old, err := json.Marshal(cur)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	var patched []byte
	switch a.GetPatchType() {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(a.GetPatch())
		if err == nil {
			patched, err = p.Apply(old)
		}
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("json patch: %v", err))
		}
	case types.MergePatchType:
		if patched, err = jsonpatch.MergePatch(old, a.GetPatch()); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("merge patch: %v", err))
		}
	case types.StrategicMergePatchType:
		if patched, err = strategicpatch.StrategicMergePatch(old, a.GetPatch(), cur); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("strategic merge patch: %v", err))
		}
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("patch type %q is not supported by the lab; use json, merge or strategic merge", a.GetPatchType()))
	}
	obj := reflect.New(reflect.TypeOf(cur).Elem()).Interface().(runtime.Object)
	if err := json.Unmarshal(patched, obj); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("patched object: %v", err))
	}
	if err := decodePatched(obj, patched); err != nil {
		return nil, err
	}
	m, _ := meta.Accessor(obj)
	// A patch applies to the current version unless it names one.
	if m.GetResourceVersion() == "" {
		cm, _ := meta.Accessor(cur)
		m.SetResourceVersion(cm.GetResourceVersion())
	}
	return s.updateLocked(gvr, a.GetSubresource(), obj)
}

// bind is the pods/binding subresource the scheduler uses: it sets
// spec.nodeName once (pkg/registry/core/pod/storage/storage.go, setPodNodeAndMetadata).
func (s *Store) bind(a k8stesting.CreateAction) (runtime.Object, error) {
	b, ok := a.GetObject().(*corev1.Binding)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pods/binding takes a Binding, got %T", a.GetObject()))
	}
	gvr := corev1.SchemeGroupVersion.WithResource("pods")
	s.mu.Lock()
	defer s.mu.Unlock()
	// The fake's Bind takes the namespace from the Binding, not from the
	// client; a Binding without one means the default namespace.
	ns := a.GetNamespace()
	if ns == "" {
		ns = b.Namespace
	}
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	cur, err := s.tracker.Get(gvr, ns, b.Name)
	if err != nil {
		return nil, err
	}
	pod := cur.(*corev1.Pod).DeepCopy()
	if pod.DeletionTimestamp != nil {
		return nil, apierrors.NewConflict(gvr.GroupResource(), pod.Name, errors.New("pod is being deleted, cannot be assigned to a host"))
	}
	if pod.Spec.NodeName != "" {
		return nil, apierrors.NewConflict(gvr.GroupResource(), pod.Name,
			fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
	}
	pod.Spec.NodeName = b.Target.Name
	pod.ResourceVersion = s.nextRV()
	if err := s.tracker.Update(gvr, pod, pod.Namespace); err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, nil
}

// delete removes an object. A pod bound to a node with a grace period is
// only marked (deletionTimestamp, deletionGracePeriodSeconds) so the kubelet
// can stop its containers and then delete it with grace period 0, as the
// apiserver's graceful deletion does (staging/src/k8s.io/apiserver/pkg/
// registry/rest/delete.go BeforeDelete, pkg/registry/core/pod/strategy.go
// CheckGracefulDelete). Objects that own others have them collected, as the
// garbage collector does with background propagation.
func (s *Store) delete(gvr schema.GroupVersionResource, ns, name string, opts metav1.DeleteOptions) (runtime.Object, error) {
	s.mu.Lock()
	cur, err := s.tracker.Get(gvr, ns, name)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	cm, _ := meta.Accessor(cur)
	if p := opts.Preconditions; p != nil {
		if p.UID != nil && *p.UID != cm.GetUID() {
			s.mu.Unlock()
			return nil, apierrors.NewConflict(gvr.GroupResource(), name,
				fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, cm.GetUID()))
		}
		if p.ResourceVersion != nil && *p.ResourceVersion != cm.GetResourceVersion() {
			s.mu.Unlock()
			return nil, apierrors.NewConflict(gvr.GroupResource(), name,
				fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, cm.GetResourceVersion()))
		}
	}
	if pod, ok := cur.(*corev1.Pod); ok {
		if grace, graceful := podGrace(pod, opts); graceful {
			defer s.mu.Unlock()
			return s.markDeleting(gvr, pod.DeepCopy(), grace)
		}
	}
	err = s.tracker.Delete(gvr, ns, name)
	if svc, ok := cur.(*corev1.Service); ok && err == nil {
		s.release(svc)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.collect(cm.GetUID(), ns)
	return cur, nil
}

// podGrace decides a pod deletion's grace period as the pod strategy does:
// the request's, else the pod's terminationGracePeriodSeconds; zero for a
// pod no node runs yet or one that has finished.
func podGrace(pod *corev1.Pod, opts metav1.DeleteOptions) (int64, bool) {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0, false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds == 0 {
		return 0, false
	}
	return grace, grace > 0
}

func (s *Store) markDeleting(gvr schema.GroupVersionResource, pod *corev1.Pod, grace int64) (runtime.Object, error) {
	// A second delete may only shorten the grace period
	// (rest.BeforeDelete); otherwise it changes nothing.
	if pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds <= grace {
		return pod, nil
	}
	ts := metav1.NewTime(s.clock.Now().Add(time.Duration(grace) * time.Second).Truncate(time.Second))
	if pod.DeletionTimestamp != nil && pod.DeletionTimestamp.Before(&ts) {
		ts = *pod.DeletionTimestamp
	}
	pod.DeletionTimestamp = &ts
	pod.DeletionGracePeriodSeconds = &grace
	pod.ResourceVersion = s.nextRV()
	if err := s.tracker.Update(gvr, pod, pod.Namespace); err != nil {
		return nil, err
	}
	return pod.DeepCopy(), nil
}

// collect deletes, in the background, every object in ns whose owner
// references name uid, through the client so pods go through graceful
// deletion (pkg/controller/garbagecollector, background propagation).
func (s *Store) collect(uid types.UID, ns string) {
	s.gcWG.Add(1)
	go func() {
		defer s.gcWG.Done()
		ctx := s.gcCtx
		c := s.cs
		owned := func(m metav1.Object) bool {
			for _, r := range m.GetOwnerReferences() {
				if r.UID == uid {
					return true
				}
			}
			return false
		}
		if list, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for i := range list.Items {
				if owned(&list.Items[i]) {
					s.gcDelete(c.AppsV1().ReplicaSets(ns).Delete(ctx, list.Items[i].Name, metav1.DeleteOptions{}), "replicaset", list.Items[i].Name)
				}
			}
		}
		if list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for i := range list.Items {
				if owned(&list.Items[i]) {
					s.gcDelete(c.CoreV1().Pods(ns).Delete(ctx, list.Items[i].Name, metav1.DeleteOptions{}), "pod", list.Items[i].Name)
				}
			}
		}
		if list, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for i := range list.Items {
				if owned(&list.Items[i]) {
					s.gcDelete(c.DiscoveryV1().EndpointSlices(ns).Delete(ctx, list.Items[i].Name, metav1.DeleteOptions{}), "endpointslice", list.Items[i].Name)
				}
			}
		}
	}()
}

func (s *Store) gcDelete(err error, kind, name string) {
	if err != nil && !apierrors.IsNotFound(err) {
		s.log.Warn("garbage collection", "kind", kind, "name", name, "err", err)
	}
}

// watch hands out the tracker's watch behind an unbounded buffer: the
// tracker's fake watcher panics when 100 events are unread, which a busy
// lab must never do.
func (s *Store) watch(action k8stesting.Action) (bool, watch.Interface, error) {
	var opts metav1.ListOptions
	if w, ok := action.(k8stesting.WatchActionImpl); ok {
		opts = w.ListOptions
	}
	sel, err := parseSelector(opts)
	if err != nil {
		return true, nil, err
	}
	inner, err := s.tracker.Watch(action.GetResource(), action.GetNamespace(), opts)
	if err != nil {
		return true, nil, err
	}
	return true, newBuffered(inner, newFilter(sel)), nil
}

// structField returns obj's exported struct field name, or nil.
func structField(obj runtime.Object, name string) any {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() {
		return nil
	}
	return f.Interface()
}

// copyField sets dst's field name to src's, when both have it.
func copyField(dst, src runtime.Object, name string) {
	d := reflect.ValueOf(dst)
	sv := reflect.ValueOf(src)
	if d.Kind() != reflect.Pointer || sv.Kind() != reflect.Pointer || d.Type() != sv.Type() {
		return
	}
	df := d.Elem().FieldByName(name)
	sf := sv.Elem().FieldByName(name)
	if df.IsValid() && sf.IsValid() && df.CanSet() {
		df.Set(sf)
	}
}
