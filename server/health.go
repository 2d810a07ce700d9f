package server

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// dice draws the percent rolls of one kind of decision. Each kind has its own
// stream from the seed, so with the same RANDOM_SEED the start-up crash roll
// and the n-th /healthz roll come out the same however requests interleave
// with other routes.
type dice struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newDice(seed, stream uint64) *dice {
	return &dice{rng: rand.New(rand.NewPCG(seed, stream))}
}

// roll returns a whole number from 0 to 99, as run.py's random.randint(0,99).
func (d *dice) roll() int {
	d.mu.Lock()
	n := d.rng.IntN(100)
	d.mu.Unlock()
	return n
}

// Streams of the seed, one per decision kind.
const (
	streamCrash = iota + 1
	streamHealth
	streamReady
)

// verdict is one health decision: ok, or failing with the reason logged.
type verdict struct {
	ok     bool
	reason string
}

// liveness decides /healthz. Failure comes from, in order: a streak of
// failures (started by POST /healthz/fail or by HEALTH_FAIL_AFTER_SECS), then
// the HEALTH_STATUS_FACTOR roll.
type liveness struct {
	factor     int
	failAfter  time.Duration
	failChecks int
	start      time.Time
	dice       *dice

	mu        sync.Mutex
	afterDone bool   // HEALTH_FAIL_AFTER_SECS has started its streak
	left      int    // failures left in the streak; -1 until recovered; 0 none
	total     int    // length of the streak, for "3 of 5" in logs
	cause     string // what started the streak
	nth       int    // failures served in this streak
}

func (l *liveness) check(now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.afterDone && l.failAfter > 0 {
		if up := now.Sub(l.start); up >= l.failAfter {
			l.afterDone = true
			l.startStreakLocked(l.failChecks, fmt.Sprintf(
				"HEALTH_FAIL_AFTER_SECS=%g reached (up %.1fs)", l.failAfter.Seconds(), up.Seconds()))
		}
	}
	if l.left != 0 {
		l.nth++
		v := verdict{reason: l.cause}
		if l.left > 0 {
			l.left--
			v.reason = fmt.Sprintf("%s: failure %d of %d", l.cause, l.nth, l.total)
		}
		return v
	}
	if l.factor > 0 {
		// run.py: fail when factor > randint(0,99), so factor 40 fails 40%.
		if n := l.dice.roll(); l.factor > n {
			return verdict{reason: fmt.Sprintf("HEALTH_STATUS_FACTOR=%d rolled %d (fails below %d)", l.factor, n, l.factor)}
		}
	}
	return verdict{ok: true}
}

// startStreakLocked makes the next n checks fail (n 0: until recovered).
func (l *liveness) startStreakLocked(n int, cause string) {
	l.left, l.total, l.nth, l.cause = n, n, 0, cause
	if n == 0 {
		l.left = -1
	}
}

func (l *liveness) fail(n int, cause string) {
	l.mu.Lock()
	l.startStreakLocked(n, cause)
	l.mu.Unlock()
}

// recover ends any streak. A HEALTH_FAIL_AFTER_SECS that has not fired yet
// still fires later: recovering is about now, not about the plan.
func (l *liveness) recover() {
	l.mu.Lock()
	l.left, l.total, l.nth, l.cause = 0, 0, 0, ""
	l.mu.Unlock()
}

// state describes the forced state for /info and control answers.
func (l *liveness) state() (failing bool, left int, cause string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.left != 0, l.left, l.cause
}

// readiness decides /readyz: shutting down, disabled, or the factor's roll.
type readiness struct {
	factor int
	dice   *dice

	mu       sync.Mutex
	disabled bool
	shutdown bool
}

func (r *readiness) check() verdict {
	r.mu.Lock()
	shutdown, disabled := r.shutdown, r.disabled
	r.mu.Unlock()
	switch {
	case shutdown:
		return verdict{reason: "shutting down: SIGTERM received, draining"}
	case disabled:
		return verdict{reason: "disabled by POST /readyz/disable"}
	}
	if r.factor > 0 {
		if n := r.dice.roll(); r.factor > n {
			return verdict{reason: fmt.Sprintf("READY_STATUS_FACTOR=%d rolled %d (fails below %d)", r.factor, n, r.factor)}
		}
	}
	return verdict{ok: true}
}

func (r *readiness) setDisabled(b bool) {
	r.mu.Lock()
	r.disabled = b
	r.mu.Unlock()
}

func (r *readiness) setShutdown() {
	r.mu.Lock()
	r.shutdown = true
	r.mu.Unlock()
}

func (r *readiness) state() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.shutdown:
		return "shutting down"
	case r.disabled:
		return "disabled"
	}
	return "enabled"
}
