package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// TestSinceExpiry checks the expiry of an age against the real formatter:
// the text is the same up to the expiry and different at it, in every
// range HumanDuration has and across its boundaries.
func TestSinceExpiry(t *testing.T) {
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	ages := []time.Duration{
		-10 * time.Second, -2*time.Second - 1, -2 * time.Second, -2*time.Second + 1, -time.Second, -1, 0, 1,
		time.Second - 1, time.Second, 59 * time.Second, 119*time.Second + 999*time.Millisecond, 2 * time.Minute,
		5*time.Minute + 3*time.Second + 1, 10*time.Minute - 1, 10 * time.Minute, 42*time.Minute + 30*time.Second,
		3*time.Hour - 1, 3 * time.Hour, 8*time.Hour - time.Minute, 8 * time.Hour, 47*time.Hour + 59*time.Minute,
		48 * time.Hour, 3*day + 4*time.Hour + 5*time.Minute, 8*day - 1, 8 * day, 400 * day, 2*year - 1, 2 * year,
		3*year + 17*day, 8*year - 1, 8 * year, 30*year + 5*day,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		// Spread over every range: a random power of the span.
		ages = append(ages, time.Duration(float64(12*year)*rng.Float64()*rng.Float64()*rng.Float64()*rng.Float64()))
	}
	for _, d := range ages {
		now := t0
		created := now.Add(-d)
		e := sinceExpiry(created, now)
		if !e.After(now) {
			t.Fatalf("age %v: expiry %v is not after now", d, e.Sub(now))
		}
		text := since(created, now)
		for _, at := range []time.Time{e.Add(-1), now.Add(e.Sub(now) / 2), now.Add(e.Sub(now) / 3)} {
			if got := since(created, at); got != text {
				t.Fatalf("age %v reads %q, but %q %v later, before its expiry %v", d, text, got, at.Sub(now), e.Sub(now))
			}
		}
		if got := since(created, e); got == text {
			t.Fatalf("age %v: still %q at its expiry %v: the expiry is late", d, text, e.Sub(now))
		}
	}
	if e := sinceExpiry(time.Time{}, t0); !e.IsZero() {
		t.Fatalf("a zero time reads <unknown> for ever, got expiry %v", e)
	}
}

// TestStripExpiry checks, on random histories, that a strip drawn at now is
// drawn the same at every moment before its expiry.
func TestStripExpiry(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 400 {
		now := t0.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		at := func() time.Time { // mostly in the window, some before it, a few ahead of now
			return now.Add(time.Duration(rng.Int64N(int64(2*timelineWindow))) - 9*timelineWindow/5)
		}
		h := &history{created: at()}
		for range rng.IntN(6) {
			h.setReady(at(), rng.IntN(2) == 0)
		}
		for range rng.IntN(6) {
			h.add(at(), markKind(1+rng.IntN(int(markCount)-1)))
		}
		n := []int{1, 7, 60, 113, 300}[rng.IntN(5)]
		want := make([]markKind, n)
		h.strip(now, timelineWindow, want)
		e := h.stripExpiry(now, timelineWindow, n)
		end := e
		if e.IsZero() {
			end = now.Add(3 * timelineWindow)
		} else if !e.After(now) {
			t.Fatalf("round %d: expiry %v is not after now", round, e.Sub(now))
		}
		got := make([]markKind, n)
		checks := []time.Time{end.Add(-1)}
		for range 20 {
			checks = append(checks, now.Add(time.Duration(rng.Int64N(int64(end.Sub(now))))))
		}
		for _, c := range checks {
			h.strip(c, timelineWindow, got)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d (%d cells): the strip changed %v after now, before its expiry %v", round, n, c.Sub(now), e.Sub(now))
			}
		}
	}
}

// clockModel is a model on a clock the test moves, whose scheduled ticks
// are recorded instead of run.
type clockModel struct {
	*model
	now   time.Time
	delay time.Duration // of the last tick scheduled
	tick  tea.Msg
}

func newClockModel(t *testing.T, w, h int, batches ...kube.Batch) *clockModel {
	t.Helper()
	c := &clockModel{now: t0}
	c.model = newModel(t.Context(), Options{Source: newFakeSource(), Actions: &fakeActions{}, Namespace: "default",
		Now: func() time.Time { return c.now }}, false, nil)
	c.after = func(d time.Duration, msg tea.Msg) tea.Cmd {
		if _, ok := msg.(tickMsg); ok {
			c.delay, c.tick = d, msg
		}
		return nil
	}
	c.Update(tea.WindowSizeMsg{Width: w, Height: h})
	for _, b := range batches {
		c.Update(batchMsg(b))
	}
	return c
}

// advance moves the clock and delivers the pending tick, as the program
// would when its timer fires.
func (c *clockModel) advance(d time.Duration) {
	c.now = c.now.Add(d)
	c.Update(c.tick)
}

// rowLine is the screen line of a pod's row.
func rowLine(t *testing.T, screen, name string) string {
	t.Helper()
	for _, l := range strings.Split(ansi.Strip(screen), "\n") {
		if strings.Contains(l, name) {
			return l
		}
	}
	t.Fatalf("no line shows %s", name)
	return ""
}

// quietPods are ready since long before the timeline window and never
// restarted, so only their AGE follows the clock: a changes 50 s after t0,
// b 20 s after, c 30 minutes after.
func quietPods() kube.Batch {
	mk := func(name string, age time.Duration) kube.Delta {
		c := t0.Add(-age)
		return podDelta(pod(name, c, ready(c.Add(20*time.Second))))
	}
	return kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Connected}, Deltas: []kube.Delta{
		mk("pod-a", 30*time.Minute+10*time.Second),
		mk("pod-b", 40*time.Minute+40*time.Second),
		mk("pod-c", 3*24*time.Hour+30*time.Minute),
	}}
}

func TestTickWithoutChangeKeepsFrame(t *testing.T) {
	for _, w := range []int{80, 160} { // 160: with the TIMELINE column
		c := newClockModel(t, w, 24, quietPods())
		before, frames, renders := c.View(), c.frames, c.pods.renders
		if c.delay != 20*time.Second {
			t.Errorf("width %d: next tick in %v, want 20s (b's AGE turns 41m)", w, c.delay)
		}
		c.advance(10 * time.Second) // a tick that comes early changes nothing
		if got := c.View(); got != before || c.frames != frames || c.pods.renders != renders {
			t.Fatalf("width %d: a tick with nothing to change built %d frames and %d rows", w, c.frames-frames, c.pods.renders-renders)
		}
	}
}

func TestTickAtAgeBoundaryRendersThatRow(t *testing.T) {
	c := newClockModel(t, 160, 24, quietPods())
	before, renders := c.View(), c.pods.renders
	c.advance(c.delay)
	after := c.View()
	if n := c.pods.renders - renders; n != 1 {
		t.Fatalf("%d rows rendered at b's AGE boundary, want 1", n)
	}
	if l := rowLine(t, after, "pod-b "); !strings.Contains(l, " 41m ") {
		t.Fatalf("b's row after the tick: %q", l)
	}
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	var changed []string
	for i := range bl {
		if bl[i] != al[i] {
			changed = append(changed, ansi.Strip(al[i]))
		}
	}
	if len(changed) != 1 || !strings.Contains(changed[0], "pod-b ") {
		t.Fatalf("lines changed by the tick: %q, want b's row only", changed)
	}
	if c.delay != 30*time.Second { // then a's 30m -> 31m, 50 s after t0
		t.Fatalf("next tick in %v, want 30s", c.delay)
	}
}

func TestChangeMarkerExpires(t *testing.T) {
	c := newClockModel(t, 80, 24, quietPods())
	// b stops being ready at t0: its row gets the change marker.
	p := pod("pod-b", t0.Add(-40*time.Minute-40*time.Second))
	c.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{podDelta(p)}}))
	if l := rowLine(t, c.View(), "pod-b "); !strings.HasPrefix(l, "  !") {
		t.Fatalf("no change marker on b: %q", l)
	}
	// The marker runs out (15 s) before b's AGE turns (20 s).
	if c.delay != changedFor {
		t.Fatalf("next tick in %v, want the marker's %v", c.delay, changedFor)
	}
	renders := c.pods.renders
	c.now = c.now.Add(changedFor - time.Millisecond)
	if l := rowLine(t, c.View(), "pod-b "); !strings.HasPrefix(l, "  !") || c.pods.renders != renders {
		t.Fatalf("marker gone or row redrawn before its time: %q", l)
	}
	c.advance(time.Millisecond)
	if l := rowLine(t, c.View(), "pod-b "); strings.HasPrefix(l, "  !") {
		t.Fatalf("marker still shown %v after the change: %q", changedFor, l)
	}
	if n := c.pods.renders - renders; n != 1 {
		t.Fatalf("%d rows rendered when the marker expired, want 1", n)
	}
}

func TestTimelineStripAdvances(t *testing.T) {
	// d became ready 10 s ago: the boundary between not ready and ready
	// moves left as time passes, in the table's TIMELINE column and in the
	// timeline pane.
	b := quietPods()
	b.Deltas = append(b.Deltas, podDelta(pod("pod-d", t0.Add(-time.Hour), ready(t0.Add(-10*time.Second)))))
	c := newClockModel(t, 160, 48, b)
	press(t, c.model, "2")
	readyCells := func() (table, pane int) {
		var lines []string
		for _, l := range strings.Split(ansi.Strip(c.View()), "\n") {
			if strings.Contains(l, "pod-d ") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 2 {
			t.Fatalf("want d's row in the table and in the timeline pane, got %q", lines)
		}
		return strings.Count(lines[0], "█"), strings.Count(lines[1], "█")
	}
	table, pane := readyCells()
	if table == 0 || pane == 0 {
		t.Fatal("d's strips show no ready cells")
	}
	step := min(timelineWindow/time.Duration(c.pods.cols[len(c.pods.cols)-1].width), timelineWindow/time.Duration(c.w-min(max(c.w/3, 12), 40)-gutter-1))
	if c.delay <= 0 || c.delay > step {
		t.Fatalf("next tick in %v; the strips move every %v", c.delay, step)
	}
	renders, tlRenders := c.pods.renders, c.timeline.renders
	for range 3 {
		c.advance(c.delay)
	}
	t2, p2 := readyCells()
	if t2 <= table || p2 <= pane {
		t.Fatalf("after %v the ready run did not grow: table %d -> %d, pane %d -> %d", c.now.Sub(t0), table, t2, pane, p2)
	}
	if c.pods.renders == renders || c.timeline.renders == tlRenders {
		t.Fatal("the strips moved without their rows being rendered")
	}
}

// uncachedView draws the model with every cache dropped.
func uncachedView(m *model) string {
	m.frameOK = false
	m.events.cache = ""
	for _, r := range m.state.pods {
		r.view, r.stripView = rowView{}, rowView{}
	}
	if m.focus == focusDetail {
		m.detail.rebuild(m.state.pods[m.detail.key], m.state.events, m.now())
	}
	return m.View()
}

// toggleReady flips the pod's one container between ready and not, with
// the Ready condition turning at now, as a kubelet's status update would.
func toggleReady(p *corev1.Pod, now time.Time) {
	cs := &p.Status.ContainerStatuses[0]
	cs.Ready = !cs.Ready
	st := corev1.ConditionFalse
	if cs.Ready {
		st = corev1.ConditionTrue
	}
	setCond(p, corev1.PodReady, st, now)
}

// TestCachedFrameMatchesFresh runs random keys, batches, resizes and clock
// ticks and checks after each that the frame built from the caches is the
// frame drawn from scratch.
func TestCachedFrameMatchesFresh(t *testing.T) {
	b := seedBatch()
	pods := benchPods(40)
	for _, p := range pods {
		b.Deltas = append(b.Deltas, podDelta(p))
	}
	c := newClockModel(t, 160, 48, b)
	rng := rand.New(rand.NewPCG(7, 8))
	keys := []string{"down", "down", "up", "pgdown", "space", "s", "1", "2", "3", "enter", "esc", "tab", "e", "g", "G", "/", "a", "c", "x"}
	sizes := [][2]int{{80, 24}, {160, 48}, {120, 30}, {200, 60}}
	for step := range 400 {
		var what string
		switch r := rng.IntN(10); {
		case r < 4:
			k := keys[rng.IntN(len(keys))]
			what = "key " + k
			press(t, c.model, k)
		case r < 6:
			what = "batch"
			var nb kube.Batch
			for range 1 + rng.IntN(5) {
				p := pods[rng.IntN(len(pods))].DeepCopy()
				switch rng.IntN(3) {
				case 0:
					toggleReady(p, c.now)
				case 1:
					restarts(int32(1+rng.IntN(9)), c.now.Add(-time.Duration(rng.IntN(60))*time.Second))(p)
				default: // an event alone: the pod's timeline changes, not the pod
					nb.Deltas = append(nb.Deltas, event(fmt.Sprintf("ev%d", step), p.Name, "Warning", "Unhealthy", "Readiness probe failed", int32(1+rng.IntN(3)), c.now))
					continue
				}
				nb.Deltas = append(nb.Deltas, podDelta(p))
			}
			c.Update(batchMsg(nb))
		case r < 7:
			s := sizes[rng.IntN(len(sizes))]
			what = fmt.Sprintf("resize %dx%d", s[0], s[1])
			c.Update(tea.WindowSizeMsg{Width: s[0], Height: s[1]})
		default:
			d := c.delay
			if rng.IntN(2) == 0 {
				d = time.Duration(rng.Int64N(int64(20 * time.Second)))
			}
			what = fmt.Sprintf("clock +%v", d)
			c.advance(d)
		}
		cached := c.View()
		if fresh := uncachedView(c.model); cached != fresh {
			t.Fatalf("step %d (%s): the cached frame differs from a fresh one:\n%s\n---\n%s", step, what, ansi.Strip(cached), ansi.Strip(fresh))
		}
	}
}

// TestDetailAgesFollowTheClock: the detail view's "ago" times are redrawn
// when one of them reads differently, and the tick is scheduled for then.
func TestDetailAgesFollowTheClock(t *testing.T) {
	c := newClockModel(t, 160, 48, quietPods())
	press(t, c.model, "enter") // pod-a: its Ready condition turned 29m50s ago
	readyLine := func() string { return rowLine(t, c.View(), "Ready  ") }
	if l := readyLine(); !strings.Contains(l, "(29m ago)") {
		t.Fatalf("Ready condition line: %q", l)
	}
	if c.delay != 10*time.Second {
		t.Fatalf("next tick in %v, want 10s (the Ready condition turns 30m ago)", c.delay)
	}
	frames := c.frames
	c.advance(5 * time.Second)
	if c.frames != frames {
		t.Fatal("a tick with nothing to change rebuilt the detail view's frame")
	}
	c.advance(5 * time.Second)
	if l := readyLine(); !strings.Contains(l, "(30m ago)") {
		t.Fatalf("Ready condition line after 10 s: %q", l)
	}
}

// TestClockSteppedBack: when the wall clock is set back (an NTP step, a
// corrected clock after resume), every age on screen reads less at once.
// Each cached text keeps the moment it next changes, a moment that is now
// further away than the clock moved back, so without care the table, the
// events pane and the detail view would show the old, larger ages until
// the clock caught up again, for as long as it was stepped back.
func TestClockSteppedBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		line string // a line on screen with an age
		want string // its age after the step
	}{
		{name: "table", line: "pod-a ", want: " 20m "},
		{name: "another row", line: "pod-b ", want: " 30m "},
		{name: "events", keys: []string{"e"}, line: "Unhealthy", want: "10m"},
		{name: "detail", keys: []string{"enter"}, line: "Ready  ", want: "(19m ago)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := quietPods()
			b.Deltas = append(b.Deltas, event("ev", "pod-a", "Warning", "Unhealthy", "Readiness probe failed", 1, t0.Add(-20*time.Minute)))
			c := newClockModel(t, 160, 48, b)
			press(t, c.model, tc.keys...)
			c.View()
			c.advance(-10 * time.Minute) // the pending tick comes, on the monotonic clock
			if l := rowLine(t, c.View(), tc.line); !strings.Contains(l, tc.want) {
				t.Fatalf("after the clock went back 10 minutes: %q, want %q in it", l, tc.want)
			}
		})
	}
}
