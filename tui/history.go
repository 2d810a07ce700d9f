package tui

import (
	"slices"
	"time"
)

// markKind is what one timeline cell shows. Higher values win when several
// things happen inside one cell's time slice: a restart matters more than a
// failed probe, which matters more than the readiness underneath.
type markKind uint8

const (
	markNone     markKind = iota // pod did not exist yet
	markReady                    // Ready condition true
	markNotReady                 // Ready condition false
	markProbe                    // an Unhealthy event: a probe failed
	markKilled                   // a Killing event: the kubelet stopped a container
	markRestart                  // restartCount went up
	markCrash                    // a crash fired from this dashboard
	markCount
)

// glyphs are chosen to be told apart without colour.
var markGlyph = [markCount]string{
	markNone:     " ",
	markReady:    "█",
	markNotReady: "░",
	markProbe:    "!",
	markKilled:   "K",
	markRestart:  "R",
	markCrash:    "X",
}

var markName = [markCount]string{
	markReady:    "ready",
	markNotReady: "not ready",
	markProbe:    "probe failed",
	markKilled:   "killed",
	markRestart:  "restarted",
	markCrash:    "you crashed",
}

// maxHistory bounds each list of a pod's timeline: a strip is at most a few
// hundred cells wide, so older entries of a pod flapping faster than that
// cannot be drawn anyway.
const maxHistory = 256

type readyChange struct {
	at    time.Time
	ready bool
}

type mark struct {
	at   time.Time
	kind markKind
}

// history is one pod's timeline: readiness transitions and point events,
// both kept in time order and pruned to the window.
type history struct {
	created   time.Time
	readiness []readyChange
	marks     []mark

	// ver counts the changes that can alter a drawn strip, so a row
	// rendered from this history knows when its cached strip is stale.
	// Pruning does not count: it forgets only what lies before the window.
	ver uint64
}

func (h *history) setReady(at time.Time, ready bool) {
	if n := len(h.readiness); n > 0 {
		last := h.readiness[n-1]
		if last.ready == ready {
			return
		}
		if at.Before(last.at) {
			at = last.at
		}
	}
	h.readiness = append(h.readiness, readyChange{at, ready})
	h.ver++
	// Trim in chunks so a pod at the bound does not shift the list per add.
	if len(h.readiness) > maxHistory+maxHistory/4 {
		h.readiness = slices.Delete(h.readiness, 0, len(h.readiness)-maxHistory)
	}
}

func (h *history) add(at time.Time, k markKind) {
	m := mark{at, k}
	// Events can arrive out of order (a batch holds several); keep sorted.
	// Insert after marks of the same time, so equal times keep arrival order.
	i, _ := slices.BinarySearchFunc(h.marks, at, func(m mark, t time.Time) int {
		if m.at.After(t) {
			return 1
		}
		return -1
	})
	h.marks = slices.Insert(h.marks, i, m)
	h.ver++
	if len(h.marks) > maxHistory+maxHistory/4 {
		h.marks = slices.Delete(h.marks, 0, len(h.marks)-maxHistory)
	}
}

// prune forgets what is older than since, keeping the readiness in force at
// that moment.
func (h *history) prune(since time.Time) {
	i := 0
	for i < len(h.marks) && h.marks[i].at.Before(since) {
		i++
	}
	if i > 0 {
		h.marks = slices.Delete(h.marks, 0, i)
	}
	j := 0
	for j+1 < len(h.readiness) && !h.readiness[j+1].at.After(since) {
		j++
	}
	if j > 0 {
		h.readiness = slices.Delete(h.readiness, 0, j)
	}
}

// strip fills cells with what each slice of [now-window, now] shows. Cell i
// covers the i-th of len(cells) equal slices, the last one ending at now.
func (h *history) strip(now time.Time, window time.Duration, cells []markKind) {
	n := len(cells)
	if n == 0 {
		return
	}
	start := now.Add(-window)
	step := window / time.Duration(n)
	if step <= 0 {
		step = time.Nanosecond
	}
	ri, mi := 0, 0
	for mi < len(h.marks) && h.marks[mi].at.Before(start) {
		mi++
	}
	for i := range cells {
		end := start.Add(step * time.Duration(i+1))
		if i == n-1 {
			end = now.Add(time.Nanosecond)
		}
		// Readiness in force at the end of the slice.
		for ri < len(h.readiness) && h.readiness[ri].at.Before(end) {
			ri++
		}
		k := markNone
		switch {
		case !h.created.IsZero() && !h.created.Before(end):
			k = markNone
		case ri > 0 && h.readiness[ri-1].ready:
			k = markReady
		default:
			k = markNotReady
		}
		for mi < len(h.marks) && h.marks[mi].at.Before(end) {
			if h.marks[mi].kind > k {
				k = h.marks[mi].kind
			}
			mi++
		}
		cells[i] = k
	}
}
