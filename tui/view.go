package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"

	"github.com/proberctl/proberctl/kube"
)

// View is the frame: the one last built while it is current (see
// model.frame), else a new one.
func (m *model) View() string {
	now := m.now()
	if wall := now.Round(0); wall.Before(m.frameAt) {
		m.clockWentBack(now)
	} else {
		m.frameAt = wall
	}
	if m.frameOK && !due(m.frameNext, now) {
		return m.frame
	}
	m.frame, m.frameNext = m.render(now)
	m.frameOK = true
	m.frames++
	return m.frame
}

// render composes the screen: header, body, status line, help line. Every
// line is cut to the width, so nothing wraps at any size. It also says when
// the frame next changes by itself: the soonest expiry of the clock-bound
// panes on screen (zero: never).
func (m *model) render(now time.Time) (string, time.Time) {
	if m.w == 0 {
		return "", time.Time{}
	}
	if m.w < minWidth || m.h < minHeight {
		// Wrapped, so the size it needs is read whole at any size.
		msg := fmt.Sprintf("terminal is %dx%d: proberctl needs at least %dx%d", m.w, m.h, minWidth, minHeight)
		return block(wrapLines(msg, m.w, max(m.h, 1)), m.w, m.h), time.Time{}
	}
	var next time.Time
	var b strings.Builder
	b.WriteString(m.headerView())
	b.WriteByte('\n')
	switch {
	case !m.state.synced:
		b.WriteString(m.loadingView())
	case m.focus == focusHelp:
		b.WriteString(m.helpView())
	case m.focus == focusDetail:
		if m.detail.stale || due(m.detail.expiry, now) { // or its "ago" times moved on
			m.detail.rebuild(m.state.pods[m.detail.key], m.state.events, now)
		}
		b.WriteString(m.detail.View())
		next = m.detail.expiry
	default:
		b.WriteString(m.pods.View(len(m.state.pods), now))
		next = m.pods.expiry
		b.WriteByte('\n')
		b.WriteString(m.tabsView())
		if m.lowerH > 0 {
			b.WriteByte('\n')
			s, lowerNext := m.lowerView(now)
			b.WriteString(s)
			next = earlier(next, lowerNext)
		}
	}
	b.WriteByte('\n')
	b.WriteString(m.statusView())
	b.WriteByte('\n')
	b.WriteString(fit(m.help.ShortHelpView(m.shortHelp()), m.w))
	return b.String(), next
}

// lowerView draws the pane under the table and says when it next changes
// by itself.
func (m *model) lowerView(now time.Time) (string, time.Time) {
	switch m.lower {
	case focusTimeline:
		return m.timeline.View(&m.pods, m.state, now), m.timeline.expiry
	case focusOutput:
		return m.output.View(), time.Time{}
	case focusRollout:
		return m.rollout.View(), time.Time{}
	}
	return m.events.View(now), m.events.expiry
}

// headerView: where we are looking and how it is going.
func (m *model) headerView() string {
	s := m.state
	ns := m.opts.Namespace
	if ns == "" {
		ns = "(all)"
	}
	sel := m.opts.Selector
	if sel == "" {
		sel = "(none)"
	}
	ctxName := m.opts.Context
	if ctxName == "" {
		ctxName = "(in-cluster)"
	}
	line1 := m.st.Header.Render(ctxName) + fmt.Sprintf("  ns %s  -l %s  ", ns, sel) + m.connView()
	// Chaos goes on the first line, which has room: on the second, beside
	// the counts and a rollout, it pushed the rollout off a 100-column
	// screen, the moment a trainer runs both.
	if m.chaos.on {
		// How to stop it first: a cut line keeps that.
		c := fmt.Sprintf("CHAOS every %s (C stops): %d crashed", m.chaos.every, m.chaos.crashes)
		if m.chaos.idle > 0 {
			c += ", no pod ready"
		}
		line1 += "   " + m.st.Chaos.Render(c)
	}

	var l2 strings.Builder
	ready := s.readyPods
	if want, ok := s.desired(); ok {
		fmt.Fprintf(&l2, "ready %d of %d desired", ready, want)
		if n := len(s.pods); n != want {
			fmt.Fprintf(&l2, " (%d pods)", n)
		}
	} else {
		fmt.Fprintf(&l2, "ready %d of %d pods", ready, len(s.pods))
	}
	fmt.Fprintf(&l2, "   restarts %d", s.totalRestarts)
	for _, d := range sortedValues(s.deploys) {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		// A rollout is under way while not every replica runs the new
		// template or old ones are still around (kubectl rollout status
		// waits on the same numbers).
		if st := d.Status; st.UpdatedReplicas < want || st.Replicas > st.UpdatedReplicas {
			fmt.Fprintf(&l2, "   rollout %s %d/%d updated", d.Name, st.UpdatedReplicas, want)
		}
	}
	return fit(line1, m.w) + "\n" + fit(l2.String(), m.w)
}

func (m *model) connView() string {
	c := m.state.conn
	if m.sourceErr != nil {
		return m.st.Error.Render("watch failed: ") + sanitize(m.sourceErr.Error()) + " (retrying)"
	}
	switch c.State {
	case kube.Connected:
		return m.st.OK.Render("● connected")
	case kube.Disconnected:
		t := m.st.Error.Render("○ disconnected, reconnecting")
		if c.Detail != "" {
			t += ": " + sanitize(c.Detail)
		}
		return t
	case kube.Forbidden:
		t := m.st.Error.Render("✗ forbidden")
		if c.Detail != "" {
			t += ": " + sanitize(c.Detail)
		}
		return t
	}
	t := m.st.Progress.Render("… connecting")
	if c.Detail != "" {
		t += ": " + sanitize(c.Detail)
	}
	return t
}

func (m *model) loadingView() string {
	lines := []string{
		"",
		"  Loading: waiting for the watch caches to sync (" + m.state.conn.State.String() + ")…",
	}
	if d := m.state.conn.Detail; d != "" {
		for _, l := range wrapLines(d, max(m.w-4, 20), 6) {
			lines = append(lines, "  "+l)
		}
	}
	return block(lines, m.w, m.bodyH)
}

// tabLabel is tab i as drawn, " 1:pods ", and "[1:pods]" when it has the
// focus: the key, a colon, the pane. "[1 pods]" read as a count of one pod.
// tabAt finds the tabs by the same widths.
func tabLabel(i int) string { return fmt.Sprintf(" %d:%s ", i+1, paneNames[i]) }

// tabsView is the bar between the table and the lower pane.
func (m *model) tabsView() string {
	var b strings.Builder
	for i := range paneNames {
		f := focus(i)
		label := tabLabel(i)
		switch {
		case f == m.focus:
			b.WriteString(m.st.TabActive.Render("[" + label[1:len(label)-1] + "]"))
		case f == m.lower:
			b.WriteString(m.st.Header.Render(label))
		default:
			b.WriteString(m.st.Tab.Render(label))
		}
		b.WriteByte(' ')
	}
	if m.focus == focusPods && m.events.all {
		b.WriteString(m.st.Dim.Render(" events: all pods"))
	}
	return fit(b.String(), m.w)
}

// statusView: the open prompt, or what is wrong with the connection in
// full (the header has room only for its start), or the newest result, or
// a hint.
func (m *model) statusView() string {
	c := m.state.conn
	switch {
	case m.prompt.active():
		return m.prompt.View()
	case m.sourceErr != nil || ((c.State == kube.Disconnected || c.State == kube.Forbidden) && c.Detail != ""):
		return fit(m.connView(), m.w)
	case len(m.output.entries) > 0:
		s := m.output.summary(m.output.entries[0], true)
		if m.output.pending > 0 {
			s = fmt.Sprintf("[%d running] ", m.output.pending) + s
		}
		return fit(s, m.w)
	case m.output.pending > 0:
		return fit(fmt.Sprintf("[%d running]", m.output.pending), m.w)
	}
	return fit(m.st.Dim.Render("select a pod with ↑/↓; enter shows it; c crashes it; ? lists every key"), m.w)
}

func (m *model) shortHelp() []key.Binding {
	var ks []key.Binding
	switch {
	case m.prompt.active():
		return m.prompt.ShortHelp()
	case m.pods.filtering:
		return m.pods.ShortHelp()
	case m.focus == focusHelp:
		return []key.Binding{m.keys.Back, m.keys.Down, m.keys.Quit}
	case m.focus == focusDetail:
		ks = m.detail.ShortHelp()
	case m.focus == focusTimeline:
		ks = m.timeline.ShortHelp()
	case m.focus == focusEvents:
		ks = m.events.ShortHelp()
	case m.focus == focusOutput:
		ks = m.output.ShortHelp()
	case m.focus == focusRollout:
		ks = m.rollout.ShortHelp()
	default:
		ks = m.pods.ShortHelp()
	}
	return append(ks, m.keys.globalShort()...)
}

// helpView is the ? screen: every key, then what the markers mean.
func (m *model) helpView() string { return m.helpText.view() }

func (m *model) helpLines() []string {
	lines := []string{m.st.Header.Render("KEYS") + "  (? or esc closes, ↑/↓ scroll)", ""}
	lines = append(lines, m.fullHelpLines()...)
	lines = append(lines,
		m.st.Header.Render("MARKERS"),
		"  >  selected row     *  marked (c crashes all marked)     !  restarts or readiness just changed",
		"  STATUS, READY and RESTARTS are computed as kubectl get pods does.",
		"  timeline "+m.timeline.legend(),
	)
	return lines
}

// fullHelpLines lays the keymap's help columns out in rows of as many
// columns as fit the width; help.Model would silently drop the rest.
func (m *model) fullHelpLines() []string {
	var out []string
	var row [][]key.Binding
	used := 0
	flush := func() {
		if len(row) > 0 {
			out = append(out, strings.Split(m.help.FullHelpView(row), "\n")...)
			out = append(out, "")
		}
		row, used = nil, 0
	}
	for _, g := range m.keys.FullHelp() {
		w := lipgloss.Width(m.help.FullHelpView([][]key.Binding{g})) + 4
		if used > 0 && used+w > m.w {
			flush()
		}
		row = append(row, g)
		used += w
	}
	flush()
	return out
}
