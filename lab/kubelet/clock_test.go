package kubelet

import (
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

// testClock is a fake clock whose tickers and timers count what they deliver
// into the kubelet's pending count (tickCounter), so a test can wait until
// every tick has been handled before it moves time again.
type testClock struct {
	*clocktesting.FakeClock
	mu      sync.Mutex
	waiters []*testWaiter
	pending *atomic.Int64
}

var _ clock.WithTicker = (*testClock)(nil)

func newTestClock(t time.Time) *testClock {
	return &testClock{FakeClock: clocktesting.NewFakeClock(t), pending: new(atomic.Int64)}
}

func (c *testClock) CountTicks(p *atomic.Int64) {
	c.mu.Lock()
	c.pending = p
	c.mu.Unlock()
}

type testWaiter struct {
	c       *testClock
	ch      chan time.Time
	next    time.Time
	period  time.Duration // 0 for a timer
	stopped bool
}

func (w *testWaiter) C() <-chan time.Time { return w.ch }

func (w *testWaiter) Stop() bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	was := !w.stopped
	w.stopped = true
	// A firing nobody will receive is taken back.
	select {
	case <-w.ch:
		w.c.pending.Add(-1)
	default:
	}
	return was
}

func (w *testWaiter) Reset(d time.Duration) bool {
	was := w.Stop()
	w.c.mu.Lock()
	w.stopped = false
	w.next = w.c.Now().Add(d)
	w.c.mu.Unlock()
	return was
}

func (c *testClock) add(d, period time.Duration) *testWaiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &testWaiter{c: c, ch: make(chan time.Time, 1), next: c.FakeClock.Now().Add(d), period: period}
	if d <= 0 && period == 0 {
		// Due already: fires at once, as a real timer does, not at
		// the next Step.
		w.ch <- c.FakeClock.Now()
		c.pending.Add(1)
		w.stopped = true
	}
	c.waiters = append(c.waiters, w) // Reset may bring it back
	return w
}

// testTicker is a testWaiter with clock.Ticker's Stop.
type testTicker struct{ w *testWaiter }

func (t testTicker) C() <-chan time.Time { return t.w.ch }
func (t testTicker) Stop()               { t.w.Stop() }

func (c *testClock) NewTicker(d time.Duration) clock.Ticker { return testTicker{c.add(d, d)} }
func (c *testClock) NewTimer(d time.Duration) clock.Timer   { return c.add(d, 0) }

// Step moves time on and fires what is due: a ticker once at most, as a
// time.Ticker drops ticks a slow reader misses.
func (c *testClock) Step(d time.Duration) {
	c.FakeClock.Step(d)
	now := c.FakeClock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.waiters[:0]
	for _, w := range c.waiters {
		if w.stopped {
			continue
		}
		if !w.next.After(now) {
			select {
			case w.ch <- now:
				c.pending.Add(1)
			default:
			}
			if w.period == 0 {
				w.stopped = true
				continue
			}
			for !w.next.After(now) {
				w.next = w.next.Add(w.period)
			}
		}
		live = append(live, w)
	}
	c.waiters = live
}

// timers counts the live one-shot timers (grace periods, back-offs).
func (c *testClock) timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waiters {
		if w.period == 0 && !w.stopped {
			n++
		}
	}
	return n
}
