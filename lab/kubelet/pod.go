package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
)

// The kubelet's numbers.
const (
	// pkg/kubelet/kubelet.go initialCrashLoopBackOff and
	// MaxCrashLoopBackOff (v1beta1.MaxContainerBackOff); the
	// ReduceDefaultCrashLoopBackOffDecay gate that lowers them is alpha and
	// off in 1.37 (pkg/features/kube_features.go).
	initialCrashLoopBackOff = 10 * time.Second
	maxCrashLoopBackOff     = 300 * time.Second
	// pkg/kubelet/kuberuntime/kuberuntime_manager.go
	// minimumGracePeriodInSeconds: no container is stopped with less.
	minimumGracePeriod = 2 * time.Second
	// pkg/kubelet/pod_workers.go: a pod in back-off is synced again at the
	// back-off's end, but at least every resync interval (syncFrequency,
	// default 1m), and each such sync records a BackOff event.
	resyncInterval = time.Minute
	// pkg/kubelet/kubelet.go backOffPeriod: a pod whose sync failed
	// (e.g. CreateContainerConfigError) is synced again this much later
	// (pod_workers.go completeWork; its jitter is not modelled).
	syncErrorBackOff = 10 * time.Second
	// pkg/kubelet/kubelet.go genericPlegRelistPeriod: the kubelet learns
	// that a container it started is running at the next relist of the
	// runtime, so the status shows it up to a second later; until then it
	// still shows what came before (ContainerCreating, or the last run's
	// Error or Completed), as on a real node.
	relistPeriod = time.Second
)

// podWorker owns one pod: its containers, probe workers and status. Its
// goroutine is the only one that starts and stops containers and writes the
// pod's status, as the kubelet's pod worker is.
type podWorker struct {
	k   *Kubelet
	uid types.UID
	key string // namespace/name

	wake chan struct{}
	done chan struct{}

	mu         sync.Mutex
	pod        *corev1.Pod // latest seen
	removed    bool        // gone from the API
	ip         string
	inits      []*containerState // spec.initContainers, in order
	containers []*containerState
	results    map[resultKey]resultEntry
	terminal   bool // phase Succeeded or Failed
	finished   bool // worker gone: pokes are dropped

	// Owned by the worker goroutine.
	workers     []*probeWorker
	written     *corev1.PodStatus // last status written
	startTime   time.Time
	scheduledAt time.Time
	backoffAt   time.Time // next wake-up for a back-off, zero if none
	initialized bool      // every init container completed
	relistAt    time.Time // next relist reporting started containers, zero if none
}

type resultKey struct {
	typ       probeType
	container string
}

type resultEntry struct {
	id  string
	res result
}

func newPodWorker(k *Kubelet, pod *corev1.Pod) *podWorker {
	return &podWorker{
		k:       k,
		uid:     pod.UID,
		key:     pod.Namespace + "/" + pod.Name,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		pod:     pod,
		results: map[resultKey]resultEntry{},
	}
}

// poke asks the worker to sync soon, without blocking.
func (pw *podWorker) poke() {
	pw.mu.Lock()
	finished := pw.finished
	pw.mu.Unlock()
	if finished {
		return
	}
	pw.k.busy()
	select {
	case pw.wake <- struct{}{}:
	default:
		pw.k.idle() // one wake-up already pending covers this one
	}
}

// update records the latest pod. Only a deletion wakes the worker: the
// kubelet's config source passes status-only changes (its own writes among
// them) as reconciles that do not sync the pod (pkg/kubelet/config/config.go
// checkAndUpdatePod), and a pod's spec does not change under a running pod
// in the lab.
func (pw *podWorker) update(pod *corev1.Pod) {
	pw.mu.Lock()
	old := pw.pod
	pw.pod = pod
	pw.mu.Unlock()
	if (old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil) ||
		!equalPtr(old.DeletionGracePeriodSeconds, pod.DeletionGracePeriodSeconds) {
		pw.poke()
	}
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (pw *podWorker) remove() {
	pw.mu.Lock()
	pw.removed = true
	pw.mu.Unlock()
	pw.poke()
}

func (pw *podWorker) latest() (*corev1.Pod, bool) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.pod, pw.removed
}

// podDesc is pkg/kubelet/util/format/pod.go Pod: "name_namespace(uid)".
func (pw *podWorker) podDesc() string {
	pod, _ := pw.latest()
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

func (pw *podWorker) containerEvent(container, typ, reason, message string) {
	pod, _ := pw.latest()
	pw.k.recorder.emit(event{pod: pod, container: container, component: kubeletComponent, typ: typ, reason: reason, message: message})
}

// containerView is what a probe worker needs to know of its container.
type containerView struct {
	id        string
	running   bool
	exited    bool
	started   bool
	startedAt time.Time
	podIP     string
	terminal  bool
	deleting  bool
	restarts  bool // exited, and the kubelet will run it again
}

func (pw *podWorker) view(name string) containerView {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	v := containerView{
		podIP:    pw.ip,
		terminal: pw.terminal,
		deleting: pw.pod.DeletionTimestamp != nil,
	}
	c := pw.containerLocked(name)
	if c == nil || c.cur == nil {
		return v
	}
	v.id = c.cur.id
	v.running = !c.cur.exited
	v.exited = c.cur.exited
	v.startedAt = c.cur.startedAt
	v.started = pw.startedLocked(c)
	v.restarts = c.cur.exited && containerShouldRestart(&c.spec, &pw.pod.Spec, c.cur.exitCode)
	return v
}

func (pw *podWorker) containerLocked(name string) *containerState {
	for _, c := range pw.containers {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

// startedLocked is prober_manager.go isContainerStarted: a running container
// without a startup probe has started; with one, once it succeeded.
func (pw *podWorker) startedLocked(c *containerState) bool {
	if c.cur == nil || c.cur.exited {
		return false
	}
	if c.spec.StartupProbe == nil {
		return true
	}
	r, ok := pw.results[resultKey{startup, c.spec.Name}]
	return ok && r.id == c.cur.id && r.res == success
}

// setResult is the results manager's Set: a change for the container's
// current ID wakes the pod worker, as its Updates channel does.
func (pw *podWorker) setResult(typ probeType, container, id string, res result) {
	k := resultKey{typ, container}
	pw.mu.Lock()
	old, ok := pw.results[k]
	changed := !ok || old.id != id || old.res != res
	pw.results[k] = resultEntry{id, res}
	pw.mu.Unlock()
	if changed {
		pw.poke()
	}
}

func (pw *podWorker) result(typ probeType, c *containerState) (result, bool) {
	r, ok := pw.results[resultKey{typ, c.spec.Name}]
	if !ok || c.cur == nil || r.id != c.cur.id {
		return unknown, false
	}
	return r.res, true
}

// run is the pod's life on this node.
func (pw *podWorker) run(ctx context.Context) {
	defer close(pw.done)
	defer pw.drain()
	if err := pw.admit(ctx); err != nil {
		if ctx.Err() == nil {
			pw.k.log.Warn("admit pod", "pod", pw.key, "err", err)
		}
		pw.release()
		pw.k.idle() // the first sync
		return
	}
	pw.startProbes()
	defer pw.stopProbes()
	defer pw.release()

	var timer clock.Timer
	handled := pw.k.idle // the first sync's wake-up
	relistOnly := false
	for {
		var finished bool
		if relistOnly {
			// A relist that changes nothing else does not sync
			// the pod (no BackOff event for it).
			pw.relist()
			pw.writeStatus(ctx)
		} else {
			finished = pw.sync(ctx)
		}
		if finished {
			handled()
			return
		}
		var timerC <-chan time.Time
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if at := earliest(pw.backoffAt, pw.relistAt); !at.IsZero() {
			timer = pw.k.clock.NewTimer(max(at.Sub(pw.k.clock.Now()), 0))
			timerC = timer.C()
		}
		// Handled only once the timer is set: a test that sees the
		// kubelet idle and steps the clock must find it armed, or a
		// relist or back-off would wait for the step after.
		handled()
		relistOnly = false
		select {
		case <-pw.wake:
			handled = pw.k.idle
		case <-timerC:
			timer = nil
			handled = pw.k.tickHandled
			now := pw.k.clock.Now()
			relistOnly = !pw.relistAt.IsZero() && !now.Before(pw.relistAt) &&
				(pw.backoffAt.IsZero() || now.Before(pw.backoffAt))
		case <-ctx.Done():
			pw.shutdown()
			return
		}
	}
}

// earliest is the earlier of two times, zero standing for none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// relist reports the containers started since the last relist, once it is
// due.
func (pw *podWorker) relist() {
	if pw.relistAt.IsZero() || pw.k.clock.Now().Before(pw.relistAt) {
		return
	}
	pw.relistAt = time.Time{}
	pw.mu.Lock()
	for _, c := range pw.all() {
		if c.cur != nil {
			c.cur.reported = true
		}
	}
	pw.mu.Unlock()
}

// all is the pod's init containers, then its app containers. Both lists are
// fixed once the pod is admitted.
func (pw *podWorker) all() []*containerState {
	return append(append(make([]*containerState, 0, len(pw.inits)+len(pw.containers)), pw.inits...), pw.containers...)
}

// drain takes back a wake-up left when the worker ends, and makes later
// pokes no-ops, so the pending count can reach zero.
func (pw *podWorker) drain() {
	pw.mu.Lock()
	pw.finished = true
	pw.mu.Unlock()
	select {
	case <-pw.wake:
		pw.k.idle()
	default:
	}
}

// admit gives the pod its address and ports and, if no one has yet, binds it
// to this node as the scheduler does.
func (pw *podWorker) admit(ctx context.Context) error {
	pod, _ := pw.latest()
	ip, err := pw.k.ipam.allocate()
	if err != nil {
		return err
	}
	ports := map[string]int{}
	var cs []*containerState
	var warnings []event
	warnRestartAll := func(c *corev1.Container) {
		if msg := restartAllWarning(c); msg != "" {
			warnings = append(warnings, event{container: c.Name, component: kubeletComponent,
				typ: corev1.EventTypeWarning, reason: restartAllNotModelledReason, message: msg})
		}
	}
	for _, c := range pod.Spec.Containers {
		hp, err := freePort()
		if err != nil {
			pw.k.ipam.release(ip)
			return err
		}
		// Only the port the image listens on is mapped: a containerPort
		// or a probe port is no promise that anything listens there.
		ports[c.Name] = hp
		ports[c.Name+"/"+strconv.Itoa(ListenPort(&c))] = hp
		cs = append(cs, &containerState{spec: c, hostPort: hp})
		warnRestartAll(&c)
	}
	// Init containers get a port too (the probe server wants one) but no
	// entry in the map: they serve nothing anyone should reach.
	var inits []*containerState
	for _, c := range pod.Spec.InitContainers {
		hp, err := freePort()
		if err != nil {
			pw.k.ipam.release(ip)
			return err
		}
		extra, warning := initEnv(&c)
		if warning != "" {
			warnings = append(warnings, event{container: c.Name, component: kubeletComponent,
				typ: corev1.EventTypeWarning, reason: commandNotRunReason, message: warning})
		}
		inits = append(inits, &containerState{spec: c, hostPort: hp, extraEnv: extra})
		warnRestartAll(&c)
	}
	pw.mu.Lock()
	pw.ip = ip
	pw.inits = inits
	pw.containers = cs
	pw.mu.Unlock()

	raw, _ := json.Marshal(ports)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		PortsAnnotation: string(raw),
		IPAnnotation:    ip,
	}}})
	pods := pw.k.client.CoreV1().Pods(pod.Namespace)
	patched, err := pods.Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("record addresses of pod %s: %w", pw.key, err)
	}
	pw.update(patched)
	if pod.Spec.NodeName == "" {
		b := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: pw.k.opts.NodeName},
		}
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("bind pod %s to %s: %w", pw.key, pw.k.opts.NodeName, err)
		}
		pw.scheduledAt = pw.k.clock.Now()
		// pkg/scheduler/schedule_one.go: "Successfully assigned %v/%v to %v".
		pw.k.recorder.emit(event{pod: patched, component: schedulerComponent, typ: corev1.EventTypeNormal,
			reason: reasonScheduled, message: fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, pw.k.opts.NodeName)})
	}
	pw.startTime = pw.k.clock.Now()
	for _, w := range warnings {
		w.pod = patched
		pw.k.recorder.emit(w)
	}
	return nil
}

// mapPort maps a container port on this pod's IP to its host port. A port
// on the pod's IP where no container listens maps to notListening: a real
// pod IP refuses it, whatever containerPorts or probes name it.
func (pw *podWorker) mapPort(host string, port int) (int, bool) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if host != pw.ip {
		return 0, false
	}
	for _, c := range pw.containers {
		if ListenPort(&c.spec) == port {
			return c.hostPort, true
		}
	}
	return notListening, true
}

func (pw *podWorker) release() {
	pw.mu.Lock()
	ip := pw.ip
	pw.mu.Unlock()
	if ip != "" {
		pw.k.ipam.release(ip)
	}
	for _, c := range pw.all() {
		pw.k.backoff.DeleteEntry(pw.backoffKey(c))
	}
}

func (pw *podWorker) startProbes() {
	pod, _ := pw.latest()
	for _, c := range pod.Spec.Containers {
		for _, p := range []struct {
			typ   probeType
			probe *corev1.Probe
		}{{startup, c.StartupProbe}, {liveness, c.LivenessProbe}, {readiness, c.ReadinessProbe}} {
			if p.probe == nil {
				continue
			}
			w := newProbeWorker(pw, p.typ, c)
			pw.workers = append(pw.workers, w)
			pw.k.busy() // the first probe
			go w.run()
		}
	}
}

func (pw *podWorker) stopProbes() {
	for _, w := range pw.workers {
		close(w.stop)
	}
	for _, w := range pw.workers {
		<-w.done
	}
}

func (pw *podWorker) backoffKey(c *containerState) string {
	// kuberuntime GetBackoffKey names pod and container.
	return fmt.Sprintf("%s_%s_%s", pw.key, pw.uid, c.spec.Name)
}

// sync is one pass of the kubelet's SyncPod for this pod: status first, as
// generateAPIPodStatus runs before the runtime's actions, then the actions,
// then the status again if they changed anything. finished means the pod is
// gone from this node.
func (pw *podWorker) sync(ctx context.Context) (finished bool) {
	pod, removed := pw.latest()
	if removed {
		pw.killAll(pod, "", 0)
		return true
	}
	if pod.DeletionTimestamp != nil {
		pw.terminate(ctx, pod)
		return true
	}
	pw.relist()
	pw.writeStatus(ctx)
	if pw.act(pod) {
		pw.writeStatus(ctx)
	}
	return false
}

// act starts, restarts and kills containers as computePodActions decides
// (pkg/kubelet/kuberuntime/kuberuntime_manager.go); true if it did anything.
func (pw *podWorker) act(pod *corev1.Pod) bool {
	pw.backoffAt = time.Time{}
	pw.mu.Lock()
	terminal := pw.terminal
	pw.mu.Unlock()
	if terminal {
		return false
	}
	initialized, did := pw.actInit(pod)
	if !initialized {
		return did // the app containers wait for the init containers
	}
	for _, c := range pw.containers {
		pw.mu.Lock()
		cur := c.cur
		running := cur != nil && !cur.exited
		live, liveOK := pw.result(liveness, c)
		start, startOK := pw.result(startup, c)
		pw.mu.Unlock()

		if !running {
			if cur != nil && !containerShouldRestart(&c.spec, &pod.Spec, cur.exitCode) {
				continue
			}
			if cur != nil && pw.inBackOff(pod, c, cur) {
				did = true // the status now says CrashLoopBackOff
				continue
			}
			pw.start(pod, c)
			did = true
			continue
		}
		var message string
		var probe *corev1.Probe
		switch {
		case liveOK && live == failure:
			message = fmt.Sprintf("Container %s failed liveness probe", c.spec.Name)
			probe = c.spec.LivenessProbe
		case startOK && start == failure:
			message = fmt.Sprintf("Container %s failed startup probe", c.spec.Name)
			probe = c.spec.StartupProbe
		default:
			continue
		}
		restart := restartsAfterProbeKill(&c.spec, &pod.Spec)
		if restart {
			message += ", will be restarted"
		}
		prev := c.prev
		pw.kill(pod, c, message, probe)
		did = true
		// computePodActions decided the restart from the status seen
		// before the kill, so the back-off looks at the run before
		// this one (doBackOff picks the latest exited container).
		if restart && (prev == nil || !pw.inBackOff(pod, c, prev)) {
			pw.start(pod, c)
		}
	}
	return did
}

// inBackOff is kuberuntime_manager.go doBackOff: with the finish time of the
// latest exited run, either wait (CrashLoopBackOff, a BackOff event) or move
// the back-off on and go.
func (pw *podWorker) inBackOff(pod *corev1.Pod, c *containerState, exited *instance) bool {
	key := pw.backoffKey(c)
	ts := exited.finishedAt
	bo := pw.k.backoff
	if bo.IsInBackOffSince(key, ts) {
		d := bo.Get(key)
		desc := pw.podDesc()
		pw.containerEvent(c.spec.Name, corev1.EventTypeWarning, reasonBackOff,
			fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.spec.Name, desc))
		waiting := &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff", // kubecontainer.ErrCrashLoopBackOff
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", d, c.spec.Name, desc),
		}
		pw.mu.Lock()
		c.waiting = waiting
		pw.mu.Unlock()
		at := ts.Add(d)
		if limit := pw.k.clock.Now().Add(resyncInterval); at.After(limit) {
			at = limit
		}
		if pw.backoffAt.IsZero() || at.Before(pw.backoffAt) {
			pw.backoffAt = at
		}
		return true
	}
	bo.Next(key, ts)
	return false
}

// pulledMessage is the image manager's event for an image already present
// (pkg/kubelet/images/image_manager.go; with the
// KubeletEnsureSecretPulledImages gate on by default since 1.35 the message
// ends "and can be accessed by the pod").
func pulledMessage(c *corev1.Container) string {
	return fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", c.Image)
}

// retryAfter asks for another sync after d, as the pod worker requeues a
// pod whose sync failed.
func (pw *podWorker) retryAfter(d time.Duration) {
	at := pw.k.clock.Now().Add(d)
	if pw.backoffAt.IsZero() || at.Before(pw.backoffAt) {
		pw.backoffAt = at
	}
}

// start runs a new instance with startContainer's events
// (pkg/kubelet/kuberuntime/kuberuntime_container.go; Pulled: pulledMessage).
func (pw *podWorker) start(pod *corev1.Pod, c *containerState) {
	name := c.spec.Name
	pw.containerEvent(name, corev1.EventTypeNormal, reasonPulled, pulledMessage(&c.spec))
	attempt := 0
	pw.mu.Lock()
	if c.cur != nil {
		attempt = c.cur.attempt + 1
	}
	pw.mu.Unlock()
	in := pw.spawn(pod, c, attempt)
	pw.mu.Lock()
	c.prev = c.cur
	c.cur = in
	c.waiting = nil
	failed := in.reason == "StartError"
	pw.mu.Unlock()
	if failed {
		pw.containerEvent(name, corev1.EventTypeWarning, reasonFailed, "Error: "+in.message)
		pw.poke()
		return
	}
	pw.containerEvent(name, corev1.EventTypeNormal, reasonCreated, "Container created")
	pw.containerEvent(name, corev1.EventTypeNormal, reasonStarted, "Container started")
	if pw.relistAt.IsZero() {
		pw.relistAt = pw.k.clock.Now().Add(relistPeriod)
	}
}

// gracePeriod is setTerminationGracePeriod
// (pkg/kubelet/kuberuntime/kuberuntime_container.go): the deletion's grace,
// else the probe's own terminationGracePeriodSeconds for a probe kill, else
// the pod's; never under the minimum.
func gracePeriod(pod *corev1.Pod, probe *corev1.Probe) time.Duration {
	g := int64(minimumGracePeriod / time.Second)
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		g = *pod.DeletionGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		g = *pod.Spec.TerminationGracePeriodSeconds
		if probe != nil && probe.TerminationGracePeriodSeconds != nil {
			g = *probe.TerminationGracePeriodSeconds
		}
	default:
		g = corev1.DefaultTerminationGracePeriodSeconds
		if probe != nil && probe.TerminationGracePeriodSeconds != nil {
			g = *probe.TerminationGracePeriodSeconds
		}
	}
	d := time.Duration(g) * time.Second
	return max(d, minimumGracePeriod)
}

// kill stops a container's current run with a Killing event (killContainer).
func (pw *podWorker) kill(pod *corev1.Pod, c *containerState, message string, probe *corev1.Probe) {
	pw.mu.Lock()
	in := c.cur
	live := in != nil && !in.exited
	pw.mu.Unlock()
	if !live {
		return
	}
	if message == "" {
		message = fmt.Sprintf("Stopping container %s", c.spec.Name)
	}
	pw.containerEvent(c.spec.Name, corev1.EventTypeNormal, reasonKilling, message)
	pw.stop(in, gracePeriod(pod, probe), 0)
}

// killAll stops every container at once, as killContainersWithSyncResult.
func (pw *podWorker) killAll(pod *corev1.Pod, message string, limit time.Duration) {
	var wg sync.WaitGroup
	for _, c := range pw.all() {
		pw.mu.Lock()
		in := c.cur
		live := in != nil && !in.exited
		pw.mu.Unlock()
		if !live {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if limit > 0 {
				pw.stop(in, gracePeriod(pod, nil), limit)
				return
			}
			pw.kill(pod, c, message, nil)
		}()
	}
	wg.Wait()
}

// terminate handles a pod marked for deletion: stop the containers within
// the deletion's grace period, write the final status (terminal phase, as
// the kubelet does since 1.27), then delete the pod with grace period 0,
// which removes it (pkg/kubelet/status/status_manager.go canBeDeleted).
func (pw *podWorker) terminate(ctx context.Context, pod *corev1.Pod) {
	pw.killAll(pod, "", 0)
	pw.mu.Lock()
	pw.terminal = true
	pw.mu.Unlock()
	pw.writeStatus(ctx)
	zero := int64(0)
	uid := pod.UID
	err := pw.k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		pw.k.log.Warn("delete terminated pod", "pod", pw.key, "err", err)
	}
}

// shutdown stops every container when the lab ends, SIGKILL after the
// shutdown limit in real time at most.
func (pw *podWorker) shutdown() {
	pod, _ := pw.latest()
	pw.killAll(pod, "", pw.k.opts.ShutdownGracePeriod)
}

// writeStatus writes the pod's status if it changed, with UpdateStatus on
// the latest object (retrying conflicts), as the status manager syncs it.
func (pw *podWorker) writeStatus(ctx context.Context) {
	pod, _ := pw.latest()
	status := pw.generateStatus(pod)
	if pw.written != nil && statusEqual(pw.written, status) {
		return
	}
	pods := pw.k.client.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pw.uid {
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		next := cur.DeepCopy()
		next.Status = *mergeStatus(&cur.Status, status, pw.k.clock.Now())
		updated, err := pods.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		pw.update(updated)
		pw.written = updated.Status.DeepCopy()
		return nil
	})
	if err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
		pw.k.log.Warn("update pod status", "pod", pw.key, "err", err)
	}
}

// statusEqual compares statuses as the API stores them: times to the second.
func statusEqual(a, b *corev1.PodStatus) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	a.Conditions, b.Conditions = nil, nil
	roundStatus(a)
	roundStatus(b)
	if !equality.Semantic.DeepEqual(a, b) {
		return false
	}
	return true
}

func roundStatus(s *corev1.PodStatus) {
	r := func(t *metav1.Time) {
		if t != nil {
			*t = metav1.NewTime(t.Rfc3339Copy().Time)
		}
	}
	r(s.StartTime)
	for i := range len(s.InitContainerStatuses) + len(s.ContainerStatuses) {
		cs := containerStatusAt(s, i)
		for _, st := range []*corev1.ContainerState{&cs.State, &cs.LastTerminationState} {
			if st.Running != nil {
				r(&st.Running.StartedAt)
			}
			if st.Terminated != nil {
				r(&st.Terminated.StartedAt)
				r(&st.Terminated.FinishedAt)
			}
		}
	}
}

// containerStatusAt indexes the init container statuses, then the others.
func containerStatusAt(s *corev1.PodStatus, i int) *corev1.ContainerStatus {
	if i < len(s.InitContainerStatuses) {
		return &s.InitContainerStatuses[i]
	}
	return &s.ContainerStatuses[i-len(s.InitContainerStatuses)]
}

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }

// mergeStatus lays the kubelet's status over the stored one as
// status_manager.go updateStatusInternal and mergePodStatus do: conditions
// the kubelet does not own (PodScheduled) are kept, and a condition's
// lastTransitionTime changes only when its status does.
func mergeStatus(old, gen *corev1.PodStatus, now time.Time) *corev1.PodStatus {
	out := gen.DeepCopy()
	owned := map[corev1.PodConditionType]bool{
		corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true,
		corev1.PodReady: true, corev1.ContainersReady: true,
	}
	for i := range out.Conditions {
		c := &out.Conditions[i]
		c.LastTransitionTime = metav1.NewTime(now)
		for _, o := range old.Conditions {
			if o.Type == c.Type && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	scheduled := false
	for _, o := range old.Conditions {
		if !owned[o.Type] {
			out.Conditions = append(out.Conditions, o)
		}
		scheduled = scheduled || o.Type == corev1.PodScheduled
	}
	if !scheduled {
		// A real apiserver's binding sets PodScheduled
		// (pkg/registry/core/pod/storage); the lab's store may not.
		out.Conditions = append(out.Conditions, corev1.PodCondition{
			Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now),
		})
	}
	if out.QOSClass == "" {
		out.QOSClass = old.QOSClass
	}
	return out
}

// generateStatus is generateAPIPodStatus (pkg/kubelet/kubelet_pods.go) with
// the prober manager's UpdatePodStatus: container statuses (init containers
// first, in spec order, as SortStatusesOfInitContainers keeps them), phase
// (getPhase) and the conditions of pkg/kubelet/status/generate.go.
func (pw *podWorker) generateStatus(pod *corev1.Pod) *corev1.PodStatus {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	s := &corev1.PodStatus{
		HostIP:    NodeIP,
		HostIPs:   []corev1.HostIP{{IP: NodeIP}},
		PodIP:     pw.ip,
		PodIPs:    []corev1.PodIP{{IP: pw.ip}},
		QOSClass:  pod.Status.QOSClass,
		StartTime: ptrTime(pw.startTime),
	}
	// convertToAPIContainerStatuses: a container not created yet waits
	// with ContainerCreating, or PodInitializing in a pod with init
	// containers (init and app containers alike).
	waitingReason := "ContainerCreating"
	if len(pw.inits) > 0 {
		waitingReason = "PodInitializing"
	}
	for _, c := range pw.inits {
		cs := pw.containerStatusLocked(pod, c, waitingReason, true)
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	var trigger []*probeWorker
	for _, c := range pw.containers {
		cs := pw.containerStatusLocked(pod, c, waitingReason, false)
		if c.cur != nil && c.cur.reported && *cs.Started && !cs.Ready && c.spec.ReadinessProbe != nil {
			// UpdatePodStatus: not ready yet, so probe now.
			for _, w := range pw.workers {
				if w.typ == readiness && w.container.Name == c.spec.Name {
					trigger = append(trigger, w)
				}
			}
		}
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	s.Phase = phase(pod, s.InitContainerStatuses, s.ContainerStatuses, pw.terminal)
	if s.Phase == corev1.PodSucceeded || s.Phase == corev1.PodFailed {
		pw.terminal = true
	}
	s.Conditions = conditions(pod, s)
	s.ObservedGeneration = pod.Generation
	for _, w := range trigger {
		w.triggerNow()
	}
	return s
}

// containerStatusLocked is one container's status as
// convertToAPIContainerStatuses writes it, with started and ready as the
// prober manager's UpdatePodStatus sets them: for an init container
// started means running and ready means completed with exit 0.
func (pw *podWorker) containerStatusLocked(pod *corev1.Pod, c *containerState, waitingReason string, init bool) corev1.ContainerStatus {
	in := c.cur
	if in != nil && !in.reported {
		// Not relisted yet: the status still says what it said.
		if c.lastStatus != nil {
			return *c.lastStatus.DeepCopy()
		}
		in = nil
	}
	cs := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image}
	switch {
	case in == nil && c.waiting != nil:
		// Never started, with a reason in the reasonCache (the
		// lab's refusal of a sidecar).
		cs.State.Waiting = c.waiting.DeepCopy()
	case in == nil:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waitingReason}
	default:
		cs.ImageID = imageID(c.spec.Image)
		cs.ContainerID = in.id
		cs.RestartCount = int32(in.attempt)
		if in.exited {
			cs.State.Terminated = in.terminated()
		} else {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metaTime(in.startedAt)}
		}
		if c.prev != nil {
			cs.LastTerminationState.Terminated = c.prev.terminated()
		}
		// A container the kubelet will restart shows why it waits.
		restarts := containerShouldRestart(&c.spec, &pod.Spec, in.exitCode)
		if init {
			restarts = initRestarts(pod, &c.spec, in.exitCode)
		}
		if in.exited && c.waiting != nil && !pw.terminal && restarts {
			cs.LastTerminationState = cs.State
			cs.State = corev1.ContainerState{Waiting: c.waiting.DeepCopy()}
		}
	}
	var started bool
	if init {
		started = in != nil && !in.exited
		cs.Ready = cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
	} else {
		started = pw.startedLocked(c)
		if started {
			if c.spec.ReadinessProbe == nil {
				cs.Ready = true
			} else if r, ok := pw.result(readiness, c); ok && r == success {
				cs.Ready = true
			}
		}
	}
	cs.Started = &started
	c.lastStatus = cs.DeepCopy()
	return cs
}

// initializedCondition is GeneratePodInitializedCondition
// (pkg/kubelet/status/generate.go): True without init containers, or once a
// regular container has run; else False with ContainersNotInitialized and
// "containers with incomplete status: [a b]" naming every init container
// not yet completed (a sidecar: not yet started); True with reason
// PodCompleted for a pod that succeeded.
func initializedCondition(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if len(pod.Spec.InitContainers) == 0 {
		return c
	}
	var unknown, incomplete []string
	for _, ic := range pod.Spec.InitContainers {
		var cs *corev1.ContainerStatus
		for i := range s.InitContainerStatuses {
			if s.InitContainerStatuses[i].Name == ic.Name {
				cs = &s.InitContainerStatuses[i]
			}
		}
		switch {
		case cs == nil:
			unknown = append(unknown, ic.Name)
		case isSidecar(&ic) && (cs.Started == nil || !*cs.Started):
			incomplete = append(incomplete, ic.Name)
		case !isSidecar(&ic) && !cs.Ready:
			incomplete = append(incomplete, ic.Name)
		}
	}
	if s.Phase == corev1.PodSucceeded && len(unknown) == 0 {
		c.Reason = "PodCompleted"
		return c
	}
	for _, cs := range s.ContainerStatuses {
		// kubecontainer.HasAnyRegularContainerStarted
		if cs.State.Running != nil || cs.State.Terminated != nil {
			return c
		}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", fmt.Sprint(unknown)))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", fmt.Sprint(incomplete)))
	}
	if len(msgs) > 0 {
		c.Status, c.Reason, c.Message = corev1.ConditionFalse, "ContainersNotInitialized", strings.Join(msgs, ", ")
	}
	return c
}

func ptrTime(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	m := metav1.NewTime(t)
	return &m
}

// imageID stands for the digest a runtime would report; the lab pulls no
// image, so it names the image under the lab's scheme.
func imageID(image string) string { return "lab://" + image }

// phase is getPhase (pkg/kubelet/kubelet_pods.go) with ContainerRestartRules
// on, as in 1.37: init containers first (pending while one has not
// completed; Failed once one failed and may not restart), then the regular
// containers, where whether a stopped one restarts is containerShouldRestart
// (its rules, its policy, else the pod's), not the pod's restartPolicy
// alone. Sidecars never run in the lab, so they are left out.
func phase(pod *corev1.Pod, initStatuses, statuses []corev1.ContainerStatus, podIsTerminal bool) corev1.PodPhase {
	pendingInit, failedInitNotRestartable := 0, 0
	for _, c := range pod.Spec.InitContainers {
		if isSidecar(&c) {
			continue
		}
		var cs *corev1.ContainerStatus
		for i := range initStatuses {
			if initStatuses[i].Name == c.Name {
				cs = &initStatuses[i]
			}
		}
		switch {
		case cs == nil, cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if code := cs.State.Terminated.ExitCode; code != 0 && !initRestarts(pod, &c, code) {
				failedInitNotRestartable++
			}
		case cs.State.Waiting != nil:
			if t := cs.LastTerminationState.Terminated; t != nil {
				if t.ExitCode != 0 && !initRestarts(pod, &c, t.ExitCode) {
					failedInitNotRestartable++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	if failedInitNotRestartable > 0 {
		return corev1.PodFailed
	}
	if pendingInit > 0 {
		return corev1.PodPending
	}
	var running, waiting, stopped, stoppedNotRestartable, succeeded, unknown int
	for _, c := range pod.Spec.Containers {
		var cs *corev1.ContainerStatus
		for i := range statuses {
			if statuses[i].Name == c.Name {
				cs = &statuses[i]
			}
		}
		switch {
		case cs == nil:
			unknown++
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if !containerShouldRestart(&c, &pod.Spec, cs.State.Terminated.ExitCode) {
				stoppedNotRestartable++
			}
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil:
			if t := cs.LastTerminationState.Terminated; t != nil {
				stopped++
				if !containerShouldRestart(&c, &pod.Spec, t.ExitCode) {
					stoppedNotRestartable++
				}
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		// ContainerRestartRules: running while any stopped container
		// will be restarted, whoever's policy or rule says so; else
		// done, Succeeded only if every one exited 0.
		if stopped != stoppedNotRestartable {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}

// conditions are the kubelet-owned pod conditions in the order
// generateAPIPodStatus appends them.
func conditions(pod *corev1.Pod, s *corev1.PodStatus) []corev1.PodCondition {
	gen := pod.Generation
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, ObservedGeneration: gen}
		if !ok {
			c.Status, c.Reason, c.Message = corev1.ConditionFalse, reason, msg
		}
		return c
	}
	var cr corev1.PodCondition
	switch s.Phase {
	case corev1.PodSucceeded:
		cr = cond(corev1.ContainersReady, false, "PodCompleted", "")
	case corev1.PodFailed:
		cr = cond(corev1.ContainersReady, false, "PodFailed", "")
	default:
		var unready []string
		// GenerateContainersReadyCondition counts sidecars first
		// (the lab refuses them, so they are never ready).
		for _, c := range pod.Spec.InitContainers {
			for _, cs := range s.InitContainerStatuses {
				if isSidecar(&c) && cs.Name == c.Name && !cs.Ready {
					unready = append(unready, c.Name)
				}
			}
		}
		for _, c := range pod.Spec.Containers {
			for _, cs := range s.ContainerStatuses {
				if cs.Name == c.Name && !cs.Ready {
					unready = append(unready, c.Name)
				}
			}
		}
		msg := ""
		if len(unready) > 0 {
			// generate.go: fmt.Sprintf("containers with unready status: %s", unreadyContainers)
			msg = fmt.Sprintf("containers with unready status: %s", fmt.Sprint(unready))
		}
		cr = cond(corev1.ContainersReady, len(unready) == 0, "ContainersNotReady", msg)
	}
	ready := cr
	ready.Type = corev1.PodReady
	initialized := initializedCondition(pod, s)
	initialized.ObservedGeneration = gen
	// The sandbox (here: the pod's address) exists until the pod is
	// terminal, when the kubelet tears it down.
	sandbox := cond(corev1.PodReadyToStartContainers, s.Phase != corev1.PodSucceeded && s.Phase != corev1.PodFailed, "", "")
	return []corev1.PodCondition{sandbox, initialized, ready, cr}
}
