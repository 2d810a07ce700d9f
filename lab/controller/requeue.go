package controller

import (
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// requeuer adds keys back to a queue after a delay on the controllers'
// clock, for time-based decisions (minReadySeconds, progress deadlines).
//
// It keeps at most one pending timer per key, the earliest deadline winning,
// as the workqueue's own AddAfter does (client-go util/workqueue
// delaying_queue.go keeps one waiting entry per item, moved earlier only).
// A controller that requeues the same key on every sync would otherwise
// leave a timer behind each time until its deadline.
type requeuer struct {
	clock clock.Clock
	q     workqueue.TypedRateLimitingInterface[string]

	mu      sync.Mutex
	pending map[string]*pendingRequeue
}

type pendingRequeue struct {
	at    time.Time
	timer clock.Timer
	// fired is set by the timer's function, which runs under the fake
	// clock's lock when a test steps it, so it may take no lock of ours.
	fired atomic.Bool
}

func newRequeuer(c clock.Clock, q workqueue.TypedRateLimitingInterface[string]) *requeuer {
	return &requeuer{clock: c, q: q, pending: map[string]*pendingRequeue{}}
}

// after adds key to the queue once d has passed, unless an earlier add of
// it is already pending.
func (r *requeuer) after(key string, d time.Duration) {
	c, ok := r.clock.(clock.WithDelayedExecution)
	if !ok {
		r.q.AddAfter(key, d) // de-duplicated by the queue itself
		return
	}
	at := r.clock.Now().Add(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pending[key]; ok {
		if !p.fired.Load() && !p.at.After(at) {
			return // an earlier (or the same) deadline is already set
		}
		p.timer.Stop()
	}
	p := &pendingRequeue{at: at}
	p.timer = c.AfterFunc(d, func() {
		p.fired.Store(true)
		r.q.Add(key)
	})
	r.pending[key] = p
}

// taken is called when a worker takes key from the queue: a requeue that
// has fired is done with.
func (r *requeuer) taken(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pending[key]; ok && p.fired.Load() {
		delete(r.pending, key)
	}
}

// stop stops every pending timer.
func (r *requeuer) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, p := range r.pending {
		p.timer.Stop()
		delete(r.pending, k)
	}
}

// len is the number of keys with a requeue pending or fired and not yet
// taken.
func (r *requeuer) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}
