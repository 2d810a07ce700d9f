// Package service is the lab's Service machinery: the EndpointSlice
// controller (which pods back a Service, and which of them are ready) and
// kube-proxy (a Service's ports served on loopback, each new connection
// sent to the next ready pod).
//
// A NodePort Service listens on 127.0.0.1:<nodePort>, so "curl
// 127.0.0.1:30080" reaches the pods as the seed's "curl http://node:30080"
// does. Every Service port also gets a loopback listener on a free port,
// standing in for its cluster IP (which the lab only shows), so a pod's
// /resolve can reach a Service by name through the lab's actions.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Labels the EndpointSlice controller sets
// (staging/src/k8s.io/api/discovery/v1/well_known_labels.go).
const (
	managedBy           = "endpointslice-controller.k8s.io"
	labelManagedBy      = discoveryv1.LabelManagedBy
	labelServiceName    = discoveryv1.LabelServiceName
	reasonFailedToServe = "FailedToListen"
)

// AddressFunc maps a pod and one of its container ports to the loopback
// "ip:port" that serves it (kubelet.PodAddress in the lab).
type AddressFunc func(pod *corev1.Pod, containerPort int) (string, error)

// Options configures the controller.
type Options struct {
	// Address is required.
	Address AddressFunc
	// Host the node ports listen on; "" means 127.0.0.1.
	Host   string
	Logger *slog.Logger
}

// Controller keeps EndpointSlices and loopback listeners in step with
// Services and pods.
type Controller struct {
	client kubernetes.Interface
	addr   AddressFunc
	host   string
	log    *slog.Logger
	queue  workqueue.TypedRateLimitingInterface[string]
	events record.EventRecorder
	bcast  record.EventBroadcaster

	syncMu    sync.Mutex // one sync at a time: the worker's or SyncAll's
	mu        sync.Mutex
	listeners map[string]*listener // "ns/name/port-index" -> listener
	wg        sync.WaitGroup
}

// New returns a controller writing through client.
func New(client kubernetes.Interface, opts Options) *Controller {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := record.NewBroadcaster()
	return &Controller{
		client:    client,
		addr:      opts.Address,
		host:      opts.Host,
		log:       opts.Logger,
		bcast:     b,
		events:    b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kube-proxy"}),
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		listeners: map[string]*listener{},
	}
}

// Run follows Services, pods and EndpointSlices until ctx ends, then closes
// every listener and connection.
func (c *Controller) Run(ctx context.Context) error {
	c.bcast.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.bcast.Shutdown()
	defer c.closeAll()
	defer c.queue.ShutDown()

	f := informers.NewSharedInformerFactory(c.client, 0)
	svcs := f.Core().V1().Services().Informer()
	pods := f.Core().V1().Pods().Informer()
	slicesInf := f.Discovery().V1().EndpointSlices().Informer()
	enqueueNS := func(obj any) {
		// Any pod change may change any Service of its namespace; the lab
		// has few Services, so look at all of them.
		m := objectOf(obj)
		if m == nil {
			return
		}
		for _, s := range svcs.GetStore().List() {
			if sv := s.(*corev1.Service); sv.Namespace == m.GetNamespace() {
				c.queue.Add(sv.Namespace + "/" + sv.Name)
			}
		}
	}
	enqueue := func(obj any) {
		if m := objectOf(obj); m != nil {
			c.queue.Add(m.GetNamespace() + "/" + m.GetName())
		}
	}
	enqueueOwner := func(obj any) {
		if m := objectOf(obj); m != nil && m.GetLabels()[labelServiceName] != "" {
			c.queue.Add(m.GetNamespace() + "/" + m.GetLabels()[labelServiceName])
		}
	}
	for inf, h := range map[cache.SharedIndexInformer]func(any){svcs: enqueue, pods: enqueueNS, slicesInf: enqueueOwner} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    h,
			UpdateFunc: func(_, o any) { h(o) },
			DeleteFunc: h,
		}); err != nil {
			return err
		}
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), svcs.HasSynced, pods.HasSynced, slicesInf.HasSynced) {
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			k, quit := c.queue.Get()
			if quit {
				return
			}
			if err := c.sync(ctx, k); err != nil && ctx.Err() == nil {
				if !apierrors.IsConflict(err) {
					c.log.Warn("service sync failed; retrying", "service", k, "err", err)
				}
				c.queue.AddRateLimited(k)
			} else {
				c.queue.Forget(k)
			}
			c.queue.Done(k)
		}
	}()
	<-ctx.Done()
	c.queue.ShutDown()
	<-done
	return nil
}

func objectOf(obj any) metav1.Object {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, _ := obj.(metav1.Object)
	return m
}

// SyncAll syncs every Service now and returns the errors of those whose
// ports could not be served (a node port in use, most often), so the lab
// can say so at start.
func (c *Controller) SyncAll(ctx context.Context) error {
	list, err := c.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range list.Items {
		if err := c.sync(ctx, s.Namespace+"/"+s.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ServiceAddress returns the loopback address standing in for a Service
// port's cluster IP; port 0 means the first port.
func (c *Controller) ServiceAddress(namespace, name string, port int32) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	prefix := namespace + "/" + name + "/"
	for k, l := range c.listeners {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix && !l.node {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if l := c.listeners[k]; port == 0 || l.port == port {
			return l.ln.Addr().String(), true
		}
	}
	return "", false
}

func (c *Controller) sync(ctx context.Context, key string) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	svc, err := c.client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.closeService(key, nil)
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Selector == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		// Endpoints of a Service without a selector are managed by hand.
		c.closeService(key, nil)
		return nil
	}
	podList, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	sel := labels.Set(svc.Spec.Selector).AsSelectorPreValidated()
	var pods []*corev1.Pod
	for i := range podList.Items {
		p := &podList.Items[i]
		// pkg/controller/endpointslice reconciler: pods that match,
		// have an IP, and are not finished.
		if sel.Matches(labels.Set(p.Labels)) && podIP(p) != "" &&
			p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	// The proxy first, then the slice: whoever sees the slice change can
	// count on the traffic having changed with it.
	lerr := c.syncListeners(svc, pods)
	return errors.Join(lerr, c.syncSlice(ctx, svc, pods))
}

func podIP(p *corev1.Pod) string {
	return p.Status.PodIP
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// targetPort resolves a Service port's targetPort on a pod: a number as
// is, a name through the pod's container ports (pkg/api/v1/pod/util.go
// FindPort).
func targetPort(p *corev1.Pod, sp corev1.ServicePort) (int32, bool) {
	if sp.TargetPort.Type == intstr.Int {
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, true
		}
		return sp.TargetPort.IntVal, true
	}
	for _, ctr := range p.Spec.Containers {
		for _, cp := range ctr.Ports {
			if cp.Name == sp.TargetPort.StrVal && cp.Protocol == sp.Protocol {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// desiredSlice is what pkg/controller/endpointslice/reconciler.go writes
// for one Service: every matching pod with its conditions (ready: the Ready
// condition and not terminating; serving: the Ready condition;
// terminating: deletionTimestamp set), and the Service's ports resolved on
// the first pod.
func desiredSlice(svc *corev1.Service, pods []*corev1.Pod) ([]discoveryv1.Endpoint, []discoveryv1.EndpointPort) {
	var eps []discoveryv1.Endpoint
	for _, p := range pods {
		ready := isReady(p)
		terminating := p.DeletionTimestamp != nil
		r := ready && !terminating
		ep := discoveryv1.Endpoint{
			Addresses:  []string{podIP(p)},
			Conditions: discoveryv1.EndpointConditions{Ready: &r, Serving: ptr(ready), Terminating: ptr(terminating)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		}
		if p.Spec.NodeName != "" {
			ep.NodeName = ptr(p.Spec.NodeName)
		}
		eps = append(eps, ep)
	}
	var ports []discoveryv1.EndpointPort
	for _, sp := range svc.Spec.Ports {
		ep := discoveryv1.EndpointPort{Name: ptr(sp.Name), Protocol: ptr(sp.Protocol)}
		if len(pods) > 0 {
			if n, ok := targetPort(pods[0], sp); ok {
				ep.Port = ptr(n)
			}
		}
		ports = append(ports, ep)
	}
	return eps, ports
}

func ptr[T any](v T) *T { return &v }

func (c *Controller) syncSlice(ctx context.Context, svc *corev1.Service, pods []*corev1.Pod) error {
	api := c.client.DiscoveryV1().EndpointSlices(svc.Namespace)
	list, err := api.List(ctx, metav1.ListOptions{LabelSelector: labelServiceName + "=" + svc.Name})
	if err != nil {
		return err
	}
	var mine []discoveryv1.EndpointSlice
	for _, s := range list.Items {
		// The fake clientset filters lists by label; check anyway.
		if s.Labels[labelServiceName] == svc.Name && s.Labels[labelManagedBy] == managedBy {
			mine = append(mine, s)
		}
	}
	eps, ports := desiredSlice(svc, pods)
	lbls := map[string]string{labelServiceName: svc.Name, labelManagedBy: managedBy}
	for k, v := range svc.Labels {
		if k != labelServiceName && k != labelManagedBy {
			lbls[k] = v
		}
	}
	if len(mine) == 0 {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName:    svc.Name + "-",
				Namespace:       svc.Namespace,
				Labels:          lbls,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   eps,
			Ports:       ports,
		}
		_, err := api.Create(ctx, s, metav1.CreateOptions{})
		return err
	}
	cur := mine[0]
	for _, extra := range mine[1:] {
		if err := api.Delete(ctx, extra.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if equality.Semantic.DeepEqual(cur.Endpoints, eps) && equality.Semantic.DeepEqual(cur.Ports, ports) && equality.Semantic.DeepEqual(cur.Labels, lbls) {
		return nil
	}
	next := cur.DeepCopy()
	next.Endpoints, next.Ports, next.Labels = eps, ports, lbls
	_, err = api.Update(ctx, next, metav1.UpdateOptions{})
	return err
}

// syncListeners opens, moves or closes the Service's loopback listeners
// and gives each the ready pods' addresses.
func (c *Controller) syncListeners(svc *corev1.Service, pods []*corev1.Pod) error {
	key := svc.Namespace + "/" + svc.Name
	keep := map[string]bool{}
	var errs []error
	for i, sp := range svc.Spec.Ports {
		if sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		var backends []string
		for _, p := range pods {
			if !isReady(p) || p.DeletionTimestamp != nil {
				continue
			}
			n, ok := targetPort(p, sp)
			if !ok {
				continue
			}
			a, err := c.addr(p, int(n))
			if err != nil {
				c.log.Debug("no address for a ready pod", "pod", p.Name, "err", err)
				continue
			}
			backends = append(backends, a)
		}
		cluster := key + "/" + strconv.Itoa(i)
		keep[cluster] = true
		if err := c.ensure(cluster, svc, sp, net.JoinHostPort(c.host, "0"), false, backends); err != nil {
			errs = append(errs, err)
		}
		if sp.NodePort != 0 && (svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer) {
			node := cluster + "/node"
			keep[node] = true
			addr := net.JoinHostPort(c.host, strconv.Itoa(int(sp.NodePort)))
			if err := c.ensure(node, svc, sp, addr, true, backends); err != nil {
				errs = append(errs, err)
			}
		}
	}
	c.closeService(key, keep)
	return errors.Join(errs...)
}

func (c *Controller) ensure(k string, svc *corev1.Service, sp corev1.ServicePort, addr string, node bool, backends []string) error {
	c.mu.Lock()
	l := c.listeners[k]
	if l != nil && node && l.ln.Addr().String() != addr {
		delete(c.listeners, k)
		c.mu.Unlock()
		l.close()
		c.mu.Lock()
		l = nil
	}
	c.mu.Unlock()
	if l == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			what := "a loopback port"
			if node {
				what = fmt.Sprintf("node port %d", sp.NodePort)
			}
			err = fmt.Errorf("service %s/%s: cannot serve %s: %w (is another program, or another lab, using it?)", svc.Namespace, svc.Name, what, err)
			c.events.Eventf(svc, corev1.EventTypeWarning, reasonFailedToServe, "%v", err)
			c.log.Error("service port", "err", err)
			return err
		}
		l = newListener(ln, sp.Port, node, c.log)
		c.mu.Lock()
		c.listeners[k] = l
		c.mu.Unlock()
		c.wg.Go(l.serve)
		c.log.Info("serving service port", "service", svc.Namespace+"/"+svc.Name, "port", sp.Port, "addr", ln.Addr().String(), "node", node)
	}
	if !slices.Equal(l.backends(), backends) {
		c.log.Info("service backends", "listener", k, "ready", backends)
	}
	l.setBackends(backends)
	return nil
}

// closeService closes the listeners of key not in keep.
func (c *Controller) closeService(key string, keep map[string]bool) {
	prefix := key + "/"
	var gone []*listener
	c.mu.Lock()
	for k, l := range c.listeners {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix && !keep[k] {
			gone = append(gone, l)
			delete(c.listeners, k)
		}
	}
	c.mu.Unlock()
	for _, l := range gone {
		l.close()
	}
}

func (c *Controller) closeAll() {
	c.mu.Lock()
	all := c.listeners
	c.listeners = map[string]*listener{}
	c.mu.Unlock()
	for _, l := range all {
		l.close()
	}
	c.wg.Wait()
}
