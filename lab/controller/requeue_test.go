package controller

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
)

// Requeues of one key keep one timer, the earliest deadline winning, as the
// workqueue's AddAfter does (delaying_queue.go); the key is added once, at
// that deadline, and a fired requeue is forgotten once the key is taken.
func TestRequeueKeepsOneTimerPerKeyEarliestWins(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer q.ShutDown()
	r := newRequeuer(clk, q)
	defer r.stop()

	// A controller requeueing the same key on every sync, with
	// deadlines that move both ways.
	for i := range 1000 {
		r.after("ns/a", time.Duration(30+i%7)*time.Second)
	}
	r.after("ns/a", 10*time.Second) // earlier: replaces
	r.after("ns/a", 20*time.Second) // later: ignored
	r.after("ns/b", 15*time.Second)
	if n := r.len(); n != 2 {
		t.Fatalf("%d requeues pending for 2 keys, want 2", n)
	}

	take := func() []string {
		var got []string
		for q.Len() > 0 {
			k, _ := q.Get()
			r.taken(k)
			got = append(got, k)
			q.Done(k)
		}
		return got
	}
	steps := []struct {
		by   time.Duration
		want string
	}{
		{9 * time.Second, "[]"},
		{time.Second, "[ns/a]"},     // 10 s: the earliest deadline
		{5 * time.Second, "[ns/b]"}, // 15 s
		{60 * time.Second, "[]"},    // the replaced and ignored deadlines add nothing
	}
	for _, s := range steps {
		clk.Step(s.by)
		if got := fmt.Sprint(take()); got != s.want {
			t.Fatalf("after %v more: added %s, want %s", s.by, got, s.want)
		}
	}
	if n := r.len(); n != 0 {
		t.Errorf("%d requeues left after every one fired and was taken, want 0", n)
	}
	if clk.HasWaiters() {
		t.Error("timers left on the clock")
	}

	// After a requeue fired, a later one for the same key is set again.
	r.after("ns/a", 5*time.Second)
	clk.Step(5 * time.Second)
	r.after("ns/a", 5*time.Second) // fired, not yet taken: a new deadline
	if got := fmt.Sprint(take()); got != "[ns/a]" {
		t.Fatalf("added %s, want [ns/a]", got)
	}
	if n := r.len(); n != 1 {
		t.Fatalf("%d requeues pending, want the new one", n)
	}
	clk.Step(5 * time.Second)
	if got := fmt.Sprint(take()); got != "[ns/a]" {
		t.Fatalf("added %s, want [ns/a] from the new deadline", got)
	}
}
