package tui

import (
	"time"

	"github.com/proberctl/proberctl/kube"
)

// The dashboard's text depends on the clock in a few places only: AGE and
// "N (5m ago)" in the pods table, the "ago" times of the detail view and the
// events pane, the change marker that expires after changedFor, and the
// timeline strips that slide left. Each rendered piece keeps the moment its
// text next changes (its expiry), so a clock tick redraws only what a person
// would see change, and the tick itself is scheduled for the earliest expiry
// on screen instead of every second.
//
// An expiry is a time.Time; the zero time means "never": the text does not
// depend on the clock at all.

// earlier returns the sooner of two expiries, zero meaning never.
func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// due reports whether text with this expiry is out of date at now.
func due(expiry, now time.Time) bool {
	return !expiry.IsZero() && !now.Before(expiry)
}

// sinceExpiry is the first moment after now at which since(t, ·), which is
// apimachinery's duration.HumanDuration of the time elapsed since t, reads
// differently. HumanDuration
// (k8s.io/apimachinery/pkg/util/duration/duration.go) shows seconds below
// 10 minutes ("45s", "5m3s"), minutes below 8 hours ("42m", "3h5m"), hours
// below 8 days ("20h", "3d4h"), days below 8 years and whole 365-day years
// beyond; each reading covers a whole unit, and each range starts on a
// whole unit of the range below it, so the next change is the next
// multiple of the unit in force.
func sinceExpiry(t, now time.Time) time.Time {
	if t.IsZero() {
		return time.Time{} // "<unknown>" for ever
	}
	d := now.Sub(t)
	switch {
	case d <= -2*time.Second:
		// "<invalid>" (a clock more than 2 s ahead of ours) until the
		// 2 seconds of tolerated skew begin.
		return t.Add(-2*time.Second + 1)
	case d < time.Second:
		return t.Add(time.Second) // "0s" from -2 s (excluded) to 1 s
	}
	const (
		day  = 24 * time.Hour
		year = 365 * day
	)
	var unit time.Duration
	switch {
	case d < 10*time.Minute:
		unit = time.Second
	case d < 8*time.Hour:
		unit = time.Minute
	case d < 8*day:
		unit = time.Hour
	case d < 8*year:
		unit = day
	default:
		unit = year
	}
	return t.Add((d/unit + 1) * unit)
}

// columnsExpiry is when the columns kube.PodStatus computed against now
// that follow the clock, AGE and the "(5m ago)" of RESTARTS, next read
// differently. The table and the detail view both show them.
func columnsExpiry(c kube.PodColumns, now time.Time) time.Time {
	e := sinceExpiry(c.Created, now)
	if c.RestartCount != 0 && !c.LastRestart.IsZero() { // "N (X ago)", kube/status.go
		e = earlier(e, sinceExpiry(c.LastRestart, now))
	}
	return e
}

// stripExpiry is the first moment after now at which h.strip(·, window,
// cells) with n cells may fill them differently. A cell's content changes
// only when one of the history's times (creation, a readiness change, a
// mark) crosses a cell boundary: strip puts time t in cell i while
// t < now-window+step*(i+1) (the last cell ends at now+1ns), and skips marks
// with t < now-window. Each of those conditions turns true at
// t+window-step*j+1ns for some j in 0..n-1, or at t itself for the last
// cell; the answer is the smallest of those after now, over every time the
// history holds. Zero means the strip stays as it is for ever (every time
// has left the window).
func (h *history) stripExpiry(now time.Time, window time.Duration, n int) time.Time {
	if h == nil || n <= 0 {
		return time.Time{}
	}
	step := window / time.Duration(n)
	if step <= 0 {
		step = time.Nanosecond
	}
	var next time.Time
	at := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if t.After(now) { // a time ahead of our clock enters the last cell at t
			next = earlier(next, t)
			return
		}
		// Boundaries after now: t+window-step*j+1ns > now, that is
		// step*j < t+window+1ns-now =: d.
		d := t.Add(window + 1).Sub(now)
		if d <= 0 {
			return
		}
		j := min((d-1)/step, time.Duration(n-1))
		next = earlier(next, t.Add(window-step*j+1))
	}
	at(h.created)
	for _, r := range h.readiness {
		at(r.at)
	}
	for _, m := range h.marks {
		at(m.at)
	}
	return next
}

// clockWentBack forgets every text drawn against a later wall clock (an
// NTP step, a clock corrected after a resume): each waits for its expiry,
// which is now further away than the clock went back, so the ages on
// screen would stay too large for as long.
func (m *model) clockWentBack(now time.Time) {
	m.frameAt = now.Round(0)
	m.frameOK = false
	m.pods.layout++
	m.timeline.layout++
	m.events.cache = ""
	m.detail.stale = true
}
