package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// DefaultWindow is how long Next keeps collecting after the first delta: long
// enough to fold a rollout's burst into one redraw, short enough to feel live.
const DefaultWindow = 150 * time.Millisecond

// maxQueue is the number of pending deltas past which a new delta for a key
// that is already queued replaces it instead of queueing behind it: a slow
// consumer then sees the latest state of each object rather than a backlog,
// and memory stays bounded by the number of objects.
const maxQueue = 8192

// WatchOptions scope a Watcher.
type WatchOptions struct {
	// Namespace to watch; "" means all namespaces.
	Namespace string
	// LabelSelector filters pods (kubectl's -l), and events to those about
	// what the view shows: the pods that match, and the replica sets and
	// deployments whose pod template matches or that own a pod in view.
	// Replica sets, deployments, services and endpoint slices themselves
	// are not filtered: a rollout's objects do not necessarily carry the
	// pods' labels, and the rollout view shows them all.
	LabelSelector string
	// Window is the batching window; 0 means DefaultWindow, negative means
	// no waiting (each Next returns what is pending at once).
	Window time.Duration
	// Now is the clock for Conn.Since; nil means time.Now.
	Now func() time.Time
}

// eventKinds are the involved-object kinds whose events the dashboard shows.
var eventKinds = map[string]bool{"Pod": true, "ReplicaSet": true, "Deployment": true}

// Watcher follows pods, events, replica sets, deployments, endpoint slices
// and services through informers and hands them out as batches. Informer
// handlers only append to a queue under a mutex and never wait on the
// consumer.
type Watcher struct {
	client   kubernetes.Interface
	opts     WatchOptions
	selector labels.Selector

	signal chan struct{} // capacity 1: "something is pending"

	mu       sync.Mutex
	started  bool
	queue    []Delta
	at       map[deltaKey]int // index in queue of each key's latest delta
	health   map[Kind]*kindHealth
	synced   bool
	sentSync bool  // a batch with Synced has been handed out
	conn     Conn  // last state computed
	pending  *Conn // state changed since the last batch
	podStore cache.Store
	rsStore  cache.Store
	depStore cache.Store
	// held are events, with a selector, about a replica set or deployment
	// not seen yet: whether the view shows it is known once it arrives
	// (its informer and the events' are separate watches). Bounded by
	// maxHeld; keyed by kind and namespace/name.
	held      map[ownerKey][]*corev1.Event
	heldCount int
}

// ownerKey names the object an event is about.
type ownerKey struct {
	kind string // "ReplicaSet" or "Deployment"
	key  string // namespace/name
}

// maxHeld bounds the events held for owners not seen yet: events about a
// replica set deleted before the watch began would otherwise wait forever.
const maxHeld = 1024

type deltaKey struct {
	kind Kind
	key  string
}

// kindHealth is the last outcome of an informer's list or watch call.
type kindHealth struct {
	err       error
	verb      string // "list" or "watch"
	forbidden bool
}

// NewWatcher returns a Watcher for client; call Start before Next. An invalid
// label selector is reported by Start.
func NewWatcher(client kubernetes.Interface, opts WatchOptions) *Watcher {
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Watcher{
		client: client,
		opts:   opts,
		signal: make(chan struct{}, 1),
		at:     make(map[deltaKey]int),
		health: make(map[Kind]*kindHealth),
		held:   make(map[ownerKey][]*corev1.Event),
		conn:   Conn{State: Connecting, Since: opts.Now()},
	}
}

// Start creates the informers and runs them until ctx ends. It returns at
// once; Next reports progress, Synced and the connection state.
func (w *Watcher) Start(ctx context.Context) error {
	sel := labels.Everything()
	if w.opts.LabelSelector != "" {
		var err error
		if sel, err = labels.Parse(w.opts.LabelSelector); err != nil {
			return fmt.Errorf("label selector %q: %w", w.opts.LabelSelector, err)
		}
	}
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("watcher already started")
	}
	w.started = true
	w.selector = sel
	w.mu.Unlock()

	ns := w.opts.Namespace
	c := w.client
	podOpts := func(o *metav1.ListOptions) { o.LabelSelector = w.opts.LabelSelector }
	none := func(*metav1.ListOptions) {}
	type spec struct {
		kind  Kind
		obj   runtime.Object
		tweak func(*metav1.ListOptions)
		list  func(context.Context, metav1.ListOptions) (runtime.Object, error)
		watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
	}
	specs := []spec{
		{KindPod, &corev1.Pod{}, podOpts,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().Pods(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().Pods(ns).Watch(ctx, o)
			}},
		{KindEvent, &corev1.Event{}, none,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().Events(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().Events(ns).Watch(ctx, o)
			}},
		{KindReplicaSet, &appsv1.ReplicaSet{}, none,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().ReplicaSets(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.AppsV1().ReplicaSets(ns).Watch(ctx, o)
			}},
		{KindDeployment, &appsv1.Deployment{}, none,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().Deployments(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.AppsV1().Deployments(ns).Watch(ctx, o)
			}},
		{KindEndpointSlice, &discoveryv1.EndpointSlice{}, none,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.DiscoveryV1().EndpointSlices(ns).Watch(ctx, o)
			}},
		{KindService, &corev1.Service{}, none,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().Services(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().Services(ns).Watch(ctx, o)
			}},
	}

	// Informers are built directly rather than from a SharedInformerFactory
	// so that each one's list and watch calls go through trackedLW: the
	// reflector retries "connection refused" internally without telling its
	// watch error handler, so the calls themselves are where we learn that
	// the API server went away and that it came back.
	var synced []cache.InformerSynced
	// With a selector, events are judged against the pods, replica sets
	// and deployments in the caches, so those must be full before the
	// first event is: the events' informer starts once they have synced.
	var before []cache.InformerSynced
	var events cache.SharedIndexInformer
	for _, s := range specs {
		lw := &trackedLW{w: w, kind: s.kind, tweak: s.tweak, list: s.list, watch: s.watch}
		inf := cache.NewSharedIndexInformerWithOptions(lw, s.obj, cache.SharedIndexInformerOptions{})
		if err := inf.SetTransform(stripManagedFields); err != nil {
			return fmt.Errorf("%s informer: %w", s.kind, err)
		}
		kind := s.kind
		if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			w.watchError(kind, err)
		}); err != nil {
			return fmt.Errorf("%s informer: %w", s.kind, err)
		}
		reg, err := inf.AddEventHandler(&handler{w: w, kind: kind})
		if err != nil {
			return fmt.Errorf("%s informer: %w", s.kind, err)
		}
		w.mu.Lock()
		switch kind {
		case KindPod:
			w.podStore = inf.GetStore()
		case KindReplicaSet:
			w.rsStore = inf.GetStore()
		case KindDeployment:
			w.depStore = inf.GetStore()
		}
		w.mu.Unlock()
		settled := w.settled(kind, reg.HasSynced)
		synced = append(synced, settled)
		switch kind {
		case KindPod, KindReplicaSet, KindDeployment:
			before = append(before, settled)
		case KindEvent:
			if w.opts.LabelSelector != "" {
				events = inf
				continue
			}
		}
		go inf.RunWithContext(ctx)
	}
	if events != nil {
		go func() {
			if cache.WaitForCacheSync(ctx.Done(), before...) {
				events.RunWithContext(ctx)
			}
		}()
	}
	go func() {
		// The handler registrations' HasSynced turn true only after every
		// object of the initial list went through the handler, so the batch
		// that says Synced holds the whole initial state (of every kind RBAC
		// lets us list; see settled).
		if !cache.WaitForCacheSync(ctx.Done(), synced...) {
			return
		}
		w.mu.Lock()
		w.synced = true
		w.updateConnLocked()
		w.mu.Unlock()
		w.notify()
	}()
	return nil
}

// Next implements Source: it waits for something to report, then keeps
// collecting for the window and returns it all as one batch. Synced is true
// on every batch once the caches have synced. The first Synced batch is
// returned as soon as the sync completes, without waiting out the window, so
// the first screen is not delayed. Next is meant for one consumer.
func (w *Watcher) Next(ctx context.Context) (Batch, error) {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		return Batch{}, errors.New("watcher not started: call Start first")
	}
	for !w.hasPending() {
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case <-w.signal:
		}
	}
	if w.opts.Window > 0 && !w.syncEdge() {
		t := time.NewTimer(w.opts.Window)
		defer t.Stop()
	collect:
		for {
			select {
			case <-ctx.Done():
				return Batch{}, ctx.Err()
			case <-t.C:
				break collect
			case <-w.signal:
				if w.syncEdge() {
					break collect
				}
			}
		}
	}
	return w.take(), nil
}

func (w *Watcher) hasPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) > 0 || w.pending != nil || (w.synced && !w.sentSync)
}

func (w *Watcher) syncEdge() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.synced && !w.sentSync
}

// take hands out everything pending and resets the queue.
func (w *Watcher) take() Batch {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := Batch{Deltas: w.queue, Conn: w.pending, Synced: w.synced}
	w.queue = nil
	clear(w.at)
	w.pending = nil
	if w.synced {
		w.sentSync = true
	}
	return b
}

// push queues d. It is called from informer handlers and must never block.
func (w *Watcher) push(d Delta) {
	k := deltaKey{d.Kind, d.Key}
	w.mu.Lock()
	if i, ok := w.at[k]; ok && len(w.queue) >= maxQueue {
		w.queue[i] = d
	} else {
		w.at[k] = len(w.queue)
		w.queue = append(w.queue, d)
	}
	w.mu.Unlock()
	w.notify()
}

func (w *Watcher) notify() {
	select {
	case w.signal <- struct{}{}:
	default: // already signalled; the consumer will see this delta too
	}
}

// settled wraps an informer's HasSynced for the Synced wait. A list that
// RBAC refuses never syncs, and the reflector keeps retrying it; waiting for
// it would keep the dashboard on its loading view forever for a role that
// may read pods but not, say, endpoint slices. So a kind whose list is
// Forbidden counts as settled: the Conn stays Forbidden and names what was
// refused, and its objects arrive as ordinary deltas if RBAC is fixed.
// Pods are the exception: without them there is nothing to show.
func (w *Watcher) settled(kind Kind, hasSynced cache.InformerSynced) cache.InformerSynced {
	if kind == KindPod {
		return hasSynced
	}
	return func() bool { return hasSynced() || w.listForbidden(kind) }
}

// listForbidden reports whether kind's last list call was refused by RBAC.
func (w *Watcher) listForbidden(kind Kind) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.health[kind]
	return h != nil && h.forbidden && h.verb == "list"
}

// handler turns informer notifications into deltas.
type handler struct {
	w    *Watcher
	kind Kind
}

func (h *handler) OnAdd(obj any, _ bool) { h.w.upsert(h.kind, obj) }
func (h *handler) OnUpdate(_, obj any)   { h.w.upsert(h.kind, obj) }
func (h *handler) OnDelete(obj any)      { h.w.deleted(h.kind, obj) }
func (w *Watcher) upsert(kind Kind, obj any) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		// A pod that stops matching the selector leaves the view. (The API
		// server filters list and watch by the selector; the fake clientset's
		// watch does not, so check here too.)
		if !w.selector.Matches(labels.Set(o.Labels)) {
			w.push(Delta{Kind: kind, Type: Deleted, Key: key, Obj: obj})
			return
		}
	case *corev1.Event:
		if !w.showEvent(o) {
			return
		}
	}
	w.push(Delta{Kind: kind, Type: Upsert, Key: key, Obj: obj})
	switch kind {
	case KindReplicaSet:
		w.release(ownerKey{"ReplicaSet", key})
	case KindDeployment:
		w.release(ownerKey{"Deployment", key})
	}
}

func (w *Watcher) deleted(kind Kind, obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
		if obj == nil {
			w.push(Delta{Kind: kind, Type: Deleted, Key: tomb.Key})
			return
		}
	}
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	if e, ok := obj.(*corev1.Event); ok {
		if !eventKinds[e.InvolvedObject.Kind] {
			return
		}
		// Deleted while held: its owner's arrival must not bring it back.
		w.unhold(e)
	}
	w.push(Delta{Kind: kind, Type: Deleted, Key: key, Obj: obj})
}

// unhold drops e from the events held for its owner, if it is there.
func (w *Watcher) unhold(e *corev1.Event) {
	k := ownerKey{e.InvolvedObject.Kind, e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	es := w.held[k]
	for i, h := range es {
		if h.Namespace == e.Namespace && h.Name == e.Name {
			es = slices.Delete(es, i, i+1)
			w.heldCount--
			break
		}
	}
	if len(es) == 0 {
		delete(w.held, k)
	} else {
		w.held[k] = es
	}
}

// showEvent keeps the events the dashboard shows: those about pods, replica
// sets and deployments, and with a label selector only those about what
// is in view: pods in the pod cache, and replica sets and deployments
// inView. (A pod's events follow its creation, so its add has normally been
// seen; the initial list of events waits for the caches' sync.) An event
// about a replica set or deployment not seen yet is held until it is.
func (w *Watcher) showEvent(e *corev1.Event) bool {
	kind := e.InvolvedObject.Kind
	if !eventKinds[kind] {
		return false
	}
	if w.opts.LabelSelector == "" {
		return true
	}
	key := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
	w.mu.Lock()
	defer w.mu.Unlock()
	if kind == "Pod" {
		if w.podStore == nil {
			return true
		}
		_, exists, err := w.podStore.GetByKey(key)
		return err != nil || exists
	}
	// Looked up and held under w.mu, which release takes after the owner
	// is in its cache: an event is either seen with its owner or released
	// with it, never left behind.
	shown, known := w.ownerInViewLocked(kind, key)
	if !known {
		w.holdLocked(ownerKey{kind, key}, e)
	}
	return shown
}

// ownerInViewLocked says whether the replica set or deployment kind
// key is shown for the pods in view, and whether it is known at all.
func (w *Watcher) ownerInViewLocked(kind, key string) (shown, known bool) {
	var store cache.Store
	if kind == "ReplicaSet" {
		store = w.rsStore
	} else {
		store = w.depStore
	}
	if store == nil {
		return true, true
	}
	obj, exists, err := store.GetByKey(key)
	if err != nil {
		return true, true
	}
	if !exists {
		return false, false
	}
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return w.rsInViewLocked(o), true
	case *appsv1.Deployment:
		return w.deploymentInViewLocked(o), true
	}
	return false, true
}

// rsInViewLocked: a replica set is shown for the view when the pods it
// makes match the selector, or when it owns a pod in view (one relabelled
// or adopted).
func (w *Watcher) rsInViewLocked(rs *appsv1.ReplicaSet) bool {
	if w.selector.Matches(labels.Set(rs.Spec.Template.Labels)) {
		return true
	}
	if w.podStore == nil {
		return false
	}
	for _, obj := range w.podStore.List() {
		if p, ok := obj.(*corev1.Pod); ok && p.Namespace == rs.Namespace && ownedBy(p.OwnerReferences, rs.UID) {
			return true
		}
	}
	return false
}

// deploymentInViewLocked: a deployment is shown when its pod template
// matches the selector, or when it owns a replica set that is shown (an
// older revision's pods may match where the current template does not).
func (w *Watcher) deploymentInViewLocked(d *appsv1.Deployment) bool {
	if w.selector.Matches(labels.Set(d.Spec.Template.Labels)) {
		return true
	}
	if w.rsStore == nil {
		return false
	}
	for _, obj := range w.rsStore.List() {
		if rs, ok := obj.(*appsv1.ReplicaSet); ok && rs.Namespace == d.Namespace &&
			ownedBy(rs.OwnerReferences, d.UID) && w.rsInViewLocked(rs) {
			return true
		}
	}
	return false
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid && uid != "" {
			return true
		}
	}
	return false
}

// holdLocked keeps e until its owner arrives; when full, the events of
// some owners (whichever the map yields first) are given up on. An update
// of an event already held replaces it: the count of a repeating event
// goes up in place, and one event is held once.
func (w *Watcher) holdLocked(k ownerKey, e *corev1.Event) {
	for i, h := range w.held[k] {
		if h.Namespace == e.Namespace && h.Name == e.Name {
			w.held[k][i] = e
			return
		}
	}
	if w.heldCount >= maxHeld {
		for old, es := range w.held {
			w.heldCount -= len(es)
			delete(w.held, old)
			if w.heldCount < maxHeld {
				break
			}
		}
	}
	w.held[k] = append(w.held[k], e)
	w.heldCount++
}

// release hands out the events held for k, now in the cache, that the view
// shows.
func (w *Watcher) release(k ownerKey) {
	w.mu.Lock()
	es := w.held[k]
	if len(es) == 0 {
		w.mu.Unlock()
		return
	}
	delete(w.held, k)
	w.heldCount -= len(es)
	shown, _ := w.ownerInViewLocked(k.kind, k.key)
	w.mu.Unlock()
	if !shown {
		return
	}
	for _, e := range es {
		if key, err := cache.MetaNamespaceKeyFunc(e); err == nil {
			w.push(Delta{Kind: KindEvent, Type: Upsert, Key: key, Obj: e})
		}
	}
}

// stripManagedFields drops metadata.managedFields before objects enter the
// cache: they are most of a pod's bytes and nothing here reads them.
func stripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// trackedLW is an informer's ListerWatcher that records the outcome of each
// call, which is how the watcher knows the connection state.
type trackedLW struct {
	w     *Watcher
	kind  Kind
	tweak func(*metav1.ListOptions)
	list  func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
}

func (l *trackedLW) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	l.tweak(&o)
	obj, err := l.list(ctx, o)
	l.w.record(l.kind, "list", err)
	return obj, err
}

func (l *trackedLW) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	l.tweak(&o)
	wi, err := l.watch(ctx, o)
	l.w.record(l.kind, "watch", err)
	return wi, err
}

func (l *trackedLW) List(o metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), o)
}

func (l *trackedLW) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), o)
}

// IsWatchListSemanticsUnSupported turns off client-go's streaming list
// (the WatchListClient feature, on by default since 1.35): informers list then
// watch, which every API server and client-go's fake clientset both serve,
// so the lab and a cluster behave the same.
func (l *trackedLW) IsWatchListSemanticsUnSupported() bool { return true }

// watchError receives what the reflector reports after a list-and-watch
// cycle ends. Closed watches and expired resource versions are routine: the
// reflector relists on its own.
func (w *Watcher) watchError(kind Kind, err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, context.Canceled) {
		return
	}
	// A failed list or watch call was already recorded with its verb by
	// trackedLW; the reflector hands the same error here again.
	w.mu.Lock()
	known := w.health[kind] != nil
	w.mu.Unlock()
	if !known {
		w.record(kind, "watch", err)
	}
}

// record notes the outcome of a call and reports a connection change.
func (w *Watcher) record(kind Kind, verb string, err error) {
	if errors.Is(err, context.Canceled) {
		return // shutting down
	}
	w.mu.Lock()
	if err == nil {
		// A successful watch means everything works; a successful list does
		// not clear a refused or failed watch, or a list-allowed,
		// watch-denied identity would flap between states.
		if h := w.health[kind]; h != nil && (verb == "watch" || h.verb == verb) {
			delete(w.health, kind)
		}
	} else {
		w.health[kind] = &kindHealth{err: err, verb: verb, forbidden: apierrors.IsForbidden(err)}
	}
	changed := w.updateConnLocked()
	w.mu.Unlock()
	if changed {
		w.notify()
	}
}

// updateConnLocked recomputes the connection state; it reports whether it
// changed, in which case the next batch carries it.
func (w *Watcher) updateConnLocked() bool {
	next := w.connLocked()
	if next.State == w.conn.State && next.Detail == w.conn.Detail {
		return false
	}
	next.Since = w.opts.Now()
	w.conn = next
	c := next
	w.pending = &c
	return true
}

// connLocked derives the state: any RBAC refusal wins (retrying will not
// fix it), then any failing call, else connected once synced.
func (w *Watcher) connLocked() Conn {
	var refused, failing []string
	var firstErr, firstRefusal error
	for k := KindPod; k <= KindService; k++ {
		h := w.health[k]
		if h == nil {
			continue
		}
		if h.forbidden {
			refused = append(refused, h.verb+" "+resourceName(k))
			if firstRefusal == nil {
				firstRefusal = h.err
			}
		} else {
			failing = append(failing, resourceName(k))
			if firstErr == nil {
				firstErr = h.err
			}
		}
	}
	where := "namespace " + w.opts.Namespace
	if w.opts.Namespace == "" {
		where = "all namespaces"
	}
	switch {
	case len(refused) > 0:
		detail := "RBAC refused " + strings.Join(refused, ", ") + " in " + where
		if user := refusedUser(firstRefusal); user != "" {
			detail += " (as " + user + ")"
		}
		return Conn{State: Forbidden, Detail: detail}
	case len(failing) > 0:
		return Conn{State: Disconnected, Detail: "API server unreachable, retrying: " + shortError(firstErr)}
	case w.synced:
		return Conn{State: Connected}
	}
	return Conn{State: Connecting}
}

// refusedUser is the user a Forbidden error names, "" if none: RBAC is
// granted to a name, so the name is what a person needs to fix it. The API
// server writes it as 'User "NAME" cannot VERB ...' (k8s.io/apiserver
// pkg/endpoints/handlers/responsewriters/errors.go, forbiddenMessage).
func refusedUser(err error) string {
	_, rest, ok := strings.Cut(err.Error(), `User "`)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `" cannot `)
	if !ok {
		return ""
	}
	return name
}

// shortError drops the request URL from client errors: the dial error is
// what a person acts on.
func shortError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// resourceName is the API resource a kind's informer lists.
func resourceName(k Kind) string {
	switch k {
	case KindPod:
		return "pods"
	case KindEvent:
		return "events"
	case KindReplicaSet:
		return "replicasets"
	case KindDeployment:
		return "deployments"
	case KindEndpointSlice:
		return "endpointslices"
	case KindService:
		return "services"
	}
	return strings.ToLower(k.String()) + "s"
}
