package kubelet

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
)

// Options configure a Kubelet. The zero value works except for ServerArgv.
type Options struct {
	// NodeName is the node pods are bound to. Default "lab".
	NodeName string
	// ServerArgv starts one container, e.g. {os.Executable(), "serve"}. The
	// image is ignored: every container runs the probe server.
	ServerArgv []string
	// Clock drives probe periods, back-off and grace periods. Default the
	// real clock; tests pass a k8s.io/utils/clock/testing.FakeClock.
	Clock clock.WithTicker
	// Logger receives the kubelet's logs and, at debug level, the
	// children's output. Default discards.
	Logger *slog.Logger
	// ShutdownGracePeriod bounds, in real time, how long Run waits for
	// containers after SIGTERM once its context ends, before SIGKILL.
	// Default 2s (the kubelet's minimum grace period), so quitting the lab
	// is quick whatever the pods' terminationGracePeriodSeconds.
	ShutdownGracePeriod time.Duration
}

// Kubelet runs the pods of one node.
type Kubelet struct {
	client   kubernetes.Interface
	opts     Options
	clock    clock.WithTicker
	log      *slog.Logger
	recorder *recorder
	prober   *prober
	ipam     *ipam
	backoff  *flowcontrol.Backoff
	children sync.WaitGroup

	// stopping is closed when Run's context ends.
	stopping chan struct{}

	mu       sync.Mutex
	workers  map[types.UID]*podWorker
	finished map[types.UID]struct{} // pods whose worker ended: UIDs are never reused

	// trace, when set (tests, benchmarks), sees every probe worker tick.
	trace func(probeTrace)

	// pending counts wake-ups sent to pod and probe workers, and events
	// queued for the recorder, not yet handled: zero means the kubelet has nothing left to do until time
	// moves or a process changes. Tests with a fake clock wait for zero
	// before stepping it, which makes every tick land at its own time.
	pending atomic.Int64
	// counting is set when the clock counts the ticks and timer firings
	// it delivers into pending (see tickCounter); the handlers then
	// count them out.
	counting bool
}

// tickCounter is a clock that adds one to Kubelet.pending for every tick or
// timer firing it delivers, and takes it back for one dropped by Stop.
type tickCounter interface {
	CountTicks(pending *atomic.Int64)
}

func (k *Kubelet) busy() { k.pending.Add(1) }
func (k *Kubelet) idle() { k.pending.Add(-1) }

// tickHandled is called after a tick or timer firing was handled.
func (k *Kubelet) tickHandled() {
	if k.counting {
		k.idle()
	}
}

// probeTrace is one probe worker tick: when, and what came of it.
type probeTrace struct {
	Pod       string
	Container string
	Type      probeType
	At        time.Time
	What      string // "initial delay", "probed success", ...
	Cause     string // what ran the probe: "first", "tick" or "trigger"
}

// New returns a kubelet for client; Run starts it.
func New(client kubernetes.Interface, opts Options) *Kubelet {
	if opts.NodeName == "" {
		opts.NodeName = "lab"
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownGracePeriod <= 0 {
		opts.ShutdownGracePeriod = minimumGracePeriod
	}
	k := &Kubelet{
		client: client,
		opts:   opts,
		clock:  opts.Clock,
		log:    opts.Logger,
		ipam:   newIPAM(),
		// No jitter: the kubelet's crash-loop back-off has none
		// (pkg/kubelet/kubelet.go flowcontrol.NewBackOff).
		backoff:  flowcontrol.NewFakeBackOff(initialCrashLoopBackOff, maxCrashLoopBackOff, opts.Clock),
		workers:  map[types.UID]*podWorker{},
		finished: map[types.UID]struct{}{},
		stopping: make(chan struct{}),
	}
	if tc, ok := opts.Clock.(tickCounter); ok {
		tc.CountTicks(&k.pending)
		k.counting = true
	}
	k.recorder = newRecorder(client, opts.Clock, opts.NodeName, opts.Logger, &k.pending)
	k.prober = newProber()
	return k
}

// Run schedules and runs pods until ctx ends, then stops every container
// (SIGTERM, the grace period, SIGKILL) and returns once all children are gone.
// Call it once.
func (k *Kubelet) Run(ctx context.Context) error {
	stopEvents := make(chan struct{})
	go k.recorder.run(stopEvents)

	factory := informers.NewSharedInformerFactory(k.client, 0)
	inf := factory.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.observe(ctx, obj) },
		UpdateFunc: func(_, obj any) { k.observe(ctx, obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				k.forget(pod)
			}
		},
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	close(k.stopping)
	factory.Shutdown()

	k.mu.Lock()
	workers := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		workers = append(workers, w)
	}
	k.mu.Unlock()
	for _, w := range workers {
		<-w.done
	}
	k.children.Wait()
	close(stopEvents)
	<-k.recorder.done
	return nil
}

// observe starts a worker for a new pod this node should run, or hands an
// update to its worker.
func (k *Kubelet) observe(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || ctx.Err() != nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if w, ok := k.workers[pod.UID]; ok {
		w.update(pod)
		return
	}
	if _, ok := k.finished[pod.UID]; ok {
		return // an update queued before its worker ended
	}
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != k.opts.NodeName {
		return // another node's
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	if pod.DeletionTimestamp != nil && pod.Spec.NodeName == "" {
		return
	}
	if pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName && pod.Spec.NodeName == "" {
		return // another scheduler's
	}
	w := newPodWorker(k, pod)
	k.workers[pod.UID] = w
	k.busy() // the first sync
	go func() {
		w.run(ctx)
		k.mu.Lock()
		if k.workers[pod.UID] == w && ctx.Err() == nil {
			delete(k.workers, pod.UID)
			// Remember the UID against late updates, unless the pod is
			// already gone from the API: then none can come (the informer
			// delivers a pod's updates before its delete), and the entry
			// would stay for the life of the lab.
			if _, removed := w.latest(); !removed {
				k.finished[pod.UID] = struct{}{}
			}
		}
		k.mu.Unlock()
	}()
}

// forget ends what the kubelet holds for a pod deleted from the API. The
// worker is told under k.mu, so its goroutine, ending at the same time,
// sees it removed and keeps no finished entry (see observe).
func (k *Kubelet) forget(pod *corev1.Pod) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.finished, pod.UID)
	if w, ok := k.workers[pod.UID]; ok {
		w.remove()
	}
}

func (k *Kubelet) traceProbe(w *probeWorker, at time.Time, what string) {
	if k.trace != nil {
		k.trace(probeTrace{Pod: w.pw.key, Container: w.container.Name, Type: w.typ, At: at, What: what, Cause: w.cause})
	}
}
