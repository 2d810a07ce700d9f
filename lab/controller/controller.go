// Package controller is the lab's kube-controller-manager: the ReplicaSet
// controller (keep replicas pods) and the Deployment controller (replica
// sets per pod template, rolling updates and Recreate), following
// pkg/controller/replicaset and pkg/controller/deployment of Kubernetes 1.37.
//
// A resize while several replica sets have pods is shared out among them
// proportionally, as sync.go scale does. A paused Deployment rolls nothing
// out but still scales, and its progress deadline does not run.
//
// Going back to an earlier template reuses its replica set, and the
// deprecated.deployment.rollback.to annotation is honoured (rollback.go).
//
// Not modelled: adoption or orphaning of objects by selector (only
// controller references count).
//
// Informers only say which object to look at; every sync reads the current
// state from the API. The lab's API is in memory, so those reads are cheap,
// and reading them live replaces the real controllers' expectations
// bookkeeping (which guards against acting twice on a stale cache).
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/proberctl/proberctl/lab/internal/record"
)

// Options configures the controllers.
type Options struct {
	// Clock decides availability (minReadySeconds) and progress deadlines,
	// and stamps conditions and events; nil means the real clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Manager runs the ReplicaSet and Deployment controllers.
type Manager struct {
	client kubernetes.Interface
	clock  clock.Clock
	log    *slog.Logger

	rsQueue   workqueue.TypedRateLimitingInterface[string]
	dQueue    workqueue.TypedRateLimitingInterface[string]
	rsRequeue *requeuer
	dRequeue  *requeuer

	events   *record.Recorder
	rsEvents recorder
	dEvents  recorder

	stopOnce sync.Once
}

var (
	rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	dKind  = appsv1.SchemeGroupVersion.WithKind("Deployment")
)

// New returns controllers writing through client.
func New(client kubernetes.Interface, opts Options) *Manager {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	events := record.New(client, record.Options{Clock: opts.Clock, Logger: opts.Logger})
	m := &Manager{
		client: client,
		clock:  opts.Clock,
		log:    opts.Logger,
		events: events,
		// Component names as kube-controller-manager sets them
		// (pkg/controller/replicaset/replica_set.go NewReplicaSetController,
		// pkg/controller/deployment/deployment_controller.go).
		rsEvents: recorder{rec: events, log: opts.Logger, component: "replicaset-controller"},
		dEvents:  recorder{rec: events, log: opts.Logger, component: "deployment-controller"},
		rsQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "replicaset"}),
		dQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "deployment"}),
	}
	m.rsRequeue = newRequeuer(opts.Clock, m.rsQueue)
	m.dRequeue = newRequeuer(opts.Clock, m.dQueue)
	return m
}

// Run starts the informers and workers and blocks until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	// The events recorded until the workers stop are written before Run
	// returns (deferred calls run last to first).
	var events sync.WaitGroup
	defer events.Wait()
	stopEvents := make(chan struct{})
	defer close(stopEvents)
	events.Go(func() { m.events.Run(stopEvents) })
	defer m.rsQueue.ShutDown()
	defer m.dQueue.ShutDown()
	defer m.rsRequeue.stop()
	defer m.dRequeue.stop()

	f := informers.NewSharedInformerFactory(m.client, 0)
	pods := f.Core().V1().Pods().Informer()
	rss := f.Apps().V1().ReplicaSets().Informer()
	ds := f.Apps().V1().Deployments().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.podChanged,
		UpdateFunc: func(_, obj any) { m.podChanged(obj) },
		DeleteFunc: m.podChanged,
	}); err != nil {
		return err
	}
	if _, err := rss.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.rsChanged,
		UpdateFunc: func(_, obj any) { m.rsChanged(obj) },
		DeleteFunc: m.rsChanged,
	}); err != nil {
		return err
	}
	if _, err := ds.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.dChanged,
		UpdateFunc: func(_, obj any) { m.dChanged(obj) },
		DeleteFunc: m.dChanged,
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, rss.HasSynced, ds.HasSynced) {
		return ctx.Err()
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.work(ctx, m.rsQueue, m.rsRequeue, m.syncReplicaSet) })
	wg.Go(func() { m.work(ctx, m.dQueue, m.dRequeue, m.syncDeployment) })
	<-ctx.Done()
	m.rsQueue.ShutDown()
	m.dQueue.ShutDown()
	wg.Wait()
	return nil
}

// requeue asks for another sync after d on the controllers' clock, for
// time-based decisions (minReadySeconds, progress deadlines).
type requeue struct{ after time.Duration }

func (r requeue) Error() string { return fmt.Sprintf("requeue after %v", r.after) }

func (m *Manager) work(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], rq *requeuer, sync func(context.Context, string) error) {
	for {
		key, quit := q.Get()
		if quit {
			return
		}
		rq.taken(key)
		err := sync(ctx, key)
		var again requeue
		switch {
		case err == nil:
			q.Forget(key)
		case errors.As(err, &again):
			q.Forget(key)
			// On the controllers' clock, not the queue's: a test that
			// steps a fake clock past a progress deadline or
			// minReadySeconds gets the sync that notices it.
			rq.after(key, again.after)
		case ctx.Err() != nil:
		default:
			if !apierrors.IsConflict(err) {
				m.log.Warn("controller sync failed; retrying", "key", key, "err", err)
			}
			q.AddRateLimited(key)
		}
		q.Done(key)
	}
}

func objectOf(obj any) metav1.Object {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, _ := obj.(metav1.Object)
	return o
}

func key(ns, name string) string { return ns + "/" + name }

func (m *Manager) podChanged(obj any) {
	p := objectOf(obj)
	if p == nil {
		return
	}
	if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == rsKind.Kind {
		m.rsQueue.Add(key(p.GetNamespace(), ref.Name))
	}
}

func (m *Manager) rsChanged(obj any) {
	rs := objectOf(obj)
	if rs == nil {
		return
	}
	m.rsQueue.Add(key(rs.GetNamespace(), rs.GetName()))
	if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == dKind.Kind {
		m.dQueue.Add(key(rs.GetNamespace(), ref.Name))
	}
}

func (m *Manager) dChanged(obj any) {
	d := objectOf(obj)
	if d == nil {
		return
	}
	m.dQueue.Add(key(d.GetNamespace(), d.GetName()))
}

func splitKey(k string) (ns, name string) {
	ns, name, _ = cache.SplitMetaNamespaceKey(k)
	return ns, name
}
