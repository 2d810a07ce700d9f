package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

// Layout: two header lines, the body, a status line and a help line.
const (
	headerLines = 2
	footerLines = 2
	minWidth    = 40
	minHeight   = 10
)

// handleResize is the only place sizes are decided; panes get SetSize.
func (m *model) handleResize(msg tea.WindowSizeMsg) tea.Cmd {
	m.w, m.h = msg.Width, msg.Height
	m.help.Width = m.w
	m.layout()
	m.helpText.setSize(m.w, m.bodyH)
	m.helpText.setLines(m.helpLines())
	return nil
}

func (m *model) layout() {
	m.bodyH = max(m.h-headerLines-footerLines, 0)
	// The table gets what its rows need, up to a bit more than half; one
	// line is the pane tab bar; the lower pane gets the rest.
	podsH := max(min(len(m.state.pods)+2, m.bodyH*55/100), min(5, m.bodyH))
	lowerH := max(m.bodyH-podsH-1, 0)
	m.lowerH = lowerH
	m.pods.SetSize(m.w, podsH)
	m.timeline.SetSize(m.w, lowerH)
	m.events.SetSize(m.w, lowerH)
	m.output.SetSize(m.w, lowerH)
	m.rollout.SetSize(m.w, lowerH)
	m.detail.SetSize(m.w, m.bodyH)
	m.prompt.SetSize(m.w, 1)
	m.rollout.rebuild(m.state)
}

func (m *model) setFocus(f focus) {
	if f == m.focus {
		return
	}
	if f >= focusTimeline && f <= focusRollout {
		m.lower = f
	}
	if f == focusDetail || f == focusHelp {
		if m.focus != focusDetail && m.focus != focusHelp {
			m.back = m.focus
		}
	}
	m.focus = f
	m.pods.focused = f == focusPods
}

// handleKey: an open prompt or filter input has the keyboard first, every
// key of it, so that text typed there never fires a binding (DESIGN.md,
// pattern 2); then global keys, then the focused pane.
func (m *model) handleKey(msg tea.KeyMsg) tea.Cmd {
	if m.prompt.active() {
		a, cmd := m.prompt.Update(msg)
		if a != nil {
			return tea.Batch(cmd, m.handleAnswer(*a))
		}
		return cmd
	}
	if m.pods.filtering {
		return m.podsKey(msg)
	}
	k := &m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case m.focus == focusHelp:
		// ? or esc closes help; arrows scroll it; other keys are ignored.
		if key.Matches(msg, k.Help, k.Back) {
			m.setFocus(m.back)
		} else {
			m.helpText.handleKey(msg, k)
		}
		return nil
	case key.Matches(msg, k.Help):
		m.setFocus(focusHelp)
		m.helpText.setLines(m.helpLines())
		m.helpText.top()
		return nil
	case m.focus == focusDetail && key.Matches(msg, k.Back, k.Detail):
		m.setFocus(m.back)
		return nil
	case key.Matches(msg, k.NextPane):
		m.cyclePane(1)
		return nil
	case key.Matches(msg, k.PrevPane):
		m.cyclePane(-1)
		return nil
	case key.Matches(msg, k.Panes) && m.focus != focusDetail:
		m.setFocus(focus(msg.Runes[0] - '1'))
		return nil
	case key.Matches(msg, k.Filter):
		// Filter, sort and mark act on the pod table whichever pane has the
		// focus, as the help lists them; left to the focused pane, "/khts"
		// typed over the events pane would fire healthz and sort instead of
		// filtering. The filter's input lives in the table, so it takes the
		// focus; from then on it has every key (see the top of handleKey).
		m.setFocus(focusPods)
		return m.podsKey(msg)
	case key.Matches(msg, k.Sort):
		return m.podsKey(msg)
	case key.Matches(msg, k.Mark) && m.focus != focusDetail:
		// Not in the detail view: marking moves the cursor, which would
		// change the pod the detail shows under the reader's eyes.
		return m.podsKey(msg)
	case key.Matches(msg, k.Detail) && (m.focus == focusPods || m.focus == focusTimeline || m.focus == focusEvents):
		// From the events pane too: it lists the selected pod's events
		// (or all pods' events, with no selection of its own), so enter
		// opens the selected pod, as from the table; esc comes back here.
		return m.openDetail()
	case key.Matches(msg, k.Crash):
		return m.crashSelected()
	case key.Matches(msg, k.Logs):
		return m.logs(false)
	case key.Matches(msg, k.LogsOther):
		return m.logs(true)
	case key.Matches(msg, k.Resolve):
		return m.askResolve()
	case key.Matches(msg, k.Healthz):
		return m.podAction("healthz", func(ctx context.Context, a kube.Actions, t kube.Target) kube.Result { return a.Healthz(ctx, t) })
	case key.Matches(msg, k.Info) && m.focus == focusDetail:
		return m.refreshInfo()
	case key.Matches(msg, k.Info):
		return m.podAction("info", func(ctx context.Context, a kube.Actions, t kube.Target) kube.Result { return a.Info(ctx, t) })
	case key.Matches(msg, k.Delete):
		return m.askDelete()
	case key.Matches(msg, k.Apply):
		return m.prompt.open(promptApply, "apply manifest (file or directory)", m.lastApply, kube.Target{})
	case key.Matches(msg, k.Chaos):
		return m.toggleChaos()
	case key.Matches(msg, k.EventScope):
		m.events.all = !m.events.all
		m.rebuildEvents()
		// The scope is read in the events pane: show it there, or the key
		// seems to do nothing while the rollout or output pane is open.
		// From another lower pane the focus moves along; from the table or
		// the detail view it stays where it is.
		if m.focus >= focusTimeline && m.focus <= focusRollout {
			m.setFocus(focusEvents)
		} else {
			m.lower = focusEvents
		}
		return nil
	}
	return m.paneKey(m.focus, msg)
}

// paneKey gives a key to pane f's own handling.
func (m *model) paneKey(f focus, msg tea.KeyMsg) tea.Cmd {
	switch f {
	case focusPods, focusTimeline:
		// The timeline follows the table's rows, so it moves the same cursor.
		return m.podsKey(msg)
	case focusEvents:
		m.events.Update(msg)
	case focusOutput:
		m.output.Update(msg)
	case focusRollout:
		m.rollout.Update(msg)
	case focusDetail:
		m.detail.Update(msg)
	}
	return nil
}

// handleMouse (only with --mouse) acts on what is under the pointer: the
// wheel scrolls the pane it is over, a click on a pod row selects that pod
// and a click on a tab opens that pane. The keyboard stays the way to do
// everything; the mouse is a shortcut for a room watching a trainer.
func (m *model) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if msg.Action != tea.MouseActionPress || m.prompt.active() || m.pods.filtering {
		return nil
	}
	up := msg.Button == tea.MouseButtonWheelUp
	wheel := up || msg.Button == tea.MouseButtonWheelDown
	if !wheel && msg.Button != tea.MouseButtonLeft {
		return nil
	}
	arrow := tea.KeyMsg{Type: tea.KeyDown}
	if up {
		arrow = tea.KeyMsg{Type: tea.KeyUp}
	}
	region, row := m.regionAt(msg.X, msg.Y)
	switch {
	case region == regionOther:
		// Full-screen views (help, detail) and the lines around the panes:
		// the wheel scrolls what has the focus, as before.
		if wheel {
			return m.notch(m.focus, func() tea.Cmd { return m.handleKey(arrow) })
		}
	case region == regionTabs:
		if !wheel {
			if f, ok := m.tabAt(msg.X); ok {
				m.setFocus(f)
			}
		}
	case region == regionPods && wheel:
		return m.notch(focusPods, func() tea.Cmd { return m.paneKey(focusPods, arrow) })
	case region == regionPods:
		// row counts from the pane's top: a title line, the column header,
		// then the visible rows from the scroll offset.
		if i := m.pods.offset + row - 2; row >= 2 && i < len(m.pods.rows) {
			m.setFocus(focusPods)
			m.pods.move(i - m.pods.cursor)
			m.rebuildEvents()
		}
	case region == regionLower && wheel:
		// Without moving the focus: the pane under the pointer scrolls.
		f := m.lower
		return m.notch(f, func() tea.Cmd { return m.paneKey(f, arrow) })
	case region == regionLower:
		m.setFocus(m.lower)
	}
	return nil
}

// wheelLines is how far a notch of the wheel scrolls a text pane, as most
// terminals and pagers do (less, vim, xterm's default). Over the pod table
// a notch moves the selection one row: three would skip pods.
const wheelLines = 3

// notch is one notch of the wheel over pane f: key, repeated as far as a
// notch goes there (the table and the timeline, whose rows are the
// table's, move the selection one row).
func (m *model) notch(f focus, key func() tea.Cmd) tea.Cmd {
	n := wheelLines
	if f == focusPods || f == focusTimeline {
		n = 1
	}
	cmds := make([]tea.Cmd, 0, n)
	for range n {
		cmds = append(cmds, key())
	}
	return tea.Batch(cmds...)
}

type region int

const (
	regionOther region = iota
	regionPods
	regionTabs
	regionLower
)

// regionAt says which part of the panes view the cell (x, y) is in, and the
// line within it, following render's layout: the header, the table, the tab
// bar, the lower pane.
func (m *model) regionAt(_, y int) (region, int) {
	if !m.state.synced || m.focus == focusHelp || m.focus == focusDetail || m.w < minWidth || m.h < minHeight {
		return regionOther, 0
	}
	y -= headerLines
	switch podsH := m.pods.h; {
	case y < 0:
		return regionOther, 0
	case y < podsH:
		return regionPods, y
	case y == podsH:
		return regionTabs, 0
	case y <= podsH+m.lowerH:
		return regionLower, y - podsH - 1
	}
	return regionOther, 0
}

// tabAt finds the tab under column x: tabsView draws each as tabLabel
// followed by a space.
func (m *model) tabAt(x int) (focus, bool) {
	start := 0
	for i := range paneNames {
		end := start + len(tabLabel(i))
		if x >= start && x < end {
			return focus(i), true
		}
		start = end + 1
	}
	return 0, false
}

// podsKey passes a key to the table and follows a selection change.
func (m *model) podsKey(msg tea.KeyMsg) tea.Cmd {
	before := m.pods.selKey
	cmd := m.pods.Update(msg)
	if m.pods.selKey != before {
		m.rebuildEvents()
	}
	return cmd
}

func (m *model) cyclePane(d int) {
	n := focus(len(paneNames))
	f := m.focus
	if f >= n { // from detail or help, tab goes back to the panes
		f = m.back
	}
	m.setFocus((f + focus(d) + n) % n)
}

func (m *model) rebuildEvents() {
	m.events.rebuild(m.state, m.pods.selKey)
}

// handleBatch applies a batch and rebuilds only what it touched.
func (m *model) handleBatch(b kube.Batch) tea.Cmd {
	m.sourceErr = nil
	now := m.now()
	ch := m.state.apply(b, now)
	sel := m.pods.selKey
	relayout := ch.podSet
	if ch.pods {
		m.pods.rebuild(m.state, ch.podSet, len(ch.podKeys))
		// A status longer or shorter than the STATUS column's width
		// came or went: the columns are laid out again.
		relayout = m.pods.fitStatus(m.state) || relayout
	}
	if relayout {
		m.layout()
	}
	// Pod updates alone do not change the events list, unless the
	// selection (the events' scope) moved.
	if ch.events || m.pods.selKey != sel {
		m.rebuildEvents()
	}
	if ch.rollout { // endpoints come from slices, not from pods
		m.rollout.rebuild(m.state)
	}
	if ch.podKeys[m.detail.key] || ch.events { // the detail lists the pod's events
		m.detail.stale = true
	}
	m.prune(now)
	return waitBatch(m.ctx, m.opts.Source)
}

func (m *model) handleSourceErr(msg sourceErrMsg) tea.Cmd {
	if m.ctx.Err() != nil || errors.Is(msg.err, context.Canceled) {
		return nil
	}
	m.sourceErr = msg.err
	m.log.Warn("watch source failed; retrying", "err", msg.err)
	return m.after(time.Second, retrySourceMsg{})
}

// Clock ticks: at most maxTickDelay apart, so a wall clock that jumps
// (suspend, a stepped clock) is caught up with within a minute; at least
// minTickDelay apart, so nothing can make them spin.
const (
	maxTickDelay = time.Minute
	minTickDelay = 10 * time.Millisecond
	pruneEvery   = 30 * time.Second
)

// handleTick moves the clock. Only what reads differently now is redrawn:
// rows whose AGE, "(5m ago)", change marker or timeline strip changed (each
// row knows when it does, see clock.go); when nothing on screen changed,
// View hands back the same frame without building it, and the screen
// (screen.go) writes nothing for an unchanged frame.
func (m *model) handleTick(t tickMsg) tea.Cmd {
	if t.gen != m.tickGen {
		return nil // replaced by a sooner tick, which is pending
	}
	m.tickAt = time.Time{}
	m.prune(m.now())
	return m.scheduleTick()
}

// scheduleTick makes sure a tick comes when the frame next changes by
// itself. It builds the frame now (View then returns it) to learn when that
// is; a pending tick that comes in time is kept.
func (m *model) scheduleTick() tea.Cmd {
	m.View()
	now := m.now()
	next := m.frameNext
	if limit := now.Add(maxTickDelay); next.IsZero() || next.After(limit) {
		next = limit
	}
	if !m.tickAt.IsZero() && !m.tickAt.After(next) {
		return nil
	}
	m.tickGen++
	m.tickAt = next
	return m.after(max(next.Sub(now), minTickDelay), tickMsg{gen: m.tickGen})
}

// prune forgets timeline entries that have left the window, now and then:
// they are never drawn again, so this changes no frame.
func (m *model) prune(now time.Time) {
	if now.Sub(m.pruned) < pruneEvery {
		return
	}
	m.pruned = now
	m.state.pruneAll(now)
}

func (m *model) handleFilterChanged() tea.Cmd {
	m.pods.rebuild(m.state, true, 0)
	m.rebuildEvents()
	return nil
}

func (m *model) handleResult(msg resultMsg) tea.Cmd {
	r := msg.res
	m.log.Info("action", "action", r.Action, "target", r.Target.String(), "code", r.Code,
		"latency", r.Latency, "note", r.Note, "err", r.Err)
	m.output.pending = max(m.output.pending-1, 0)
	m.output.add(outputEntry{at: m.now(), res: r, hint: msg.hint})
	if msg.detail != "" && msg.detail == m.detail.key {
		m.detail.info = &r
		m.detail.stale = true
	}
	// After an apply the interesting thing is the rollout it starts, if it
	// starts one (a Deployment among what it applied) and does not warn (a
	// skipped kind: its note says "see the warnings", which are in the
	// output pane). A Pod or Service alone, or a note saying the objects
	// went to a namespace the dashboard does not watch, stay in view.
	if r.Action == "apply" && r.OK() && m.focus == focusPods && opensRollout(r.Body) {
		m.lower = focusRollout
	}
	return nil
}

// forwardToInput gives non-key messages (blink, paste) to an open input.
func (m *model) forwardToInput(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case m.prompt.active():
		m.prompt.input, cmd = m.prompt.input.Update(msg)
	case m.pods.filtering:
		m.pods.filter, cmd = m.pods.filter.Update(msg)
	}
	return cmd
}

// opensRollout says whether an apply's output (kubectl's lines,
// "deployment.apps/NAME configured") names a Deployment and has no
// "Warning: ..." line, the form the lab uses for what it skipped.
func opensRollout(body string) bool {
	deploy := false
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, "Warning: ") {
			return false
		}
		deploy = deploy || strings.HasPrefix(l, "deployment.apps/")
	}
	return deploy
}
