package tui

import (
	"context"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// actionTimeout bounds one action; apply of a directory can be slow.
const actionTimeout = 60 * time.Second

// run fires an action as a command, so Update never waits on the network.
func (m *model) run(detail string, f func(ctx context.Context, a kube.Actions) kube.Result) tea.Cmd {
	return m.runHint(detail, "", f)
}

// runHint is run with a hint shown under the result (outputEntry.hint).
func (m *model) runHint(detail, hint string, f func(ctx context.Context, a kube.Actions) kube.Result) tea.Cmd {
	m.output.pending++
	ctx, actions := m.ctx, m.opts.Actions
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return resultMsg{res: f(ctx, actions), detail: detail, hint: hint}
	}
}

func (m *model) target(r *podRow) kube.Target {
	return kube.Target{Namespace: r.pod.Namespace, Pod: r.pod.Name}
}

// noPod reports a key pressed with nothing selected, in the output pane.
func (m *model) noPod(action string) tea.Cmd {
	r := kube.Result{Action: action, Err: fmt.Errorf("no pod selected")}
	m.output.pending++
	return func() tea.Msg { return resultMsg{res: r} }
}

func (m *model) podAction(name string, f func(context.Context, kube.Actions, kube.Target) kube.Result) tea.Cmd {
	r := m.pods.selected()
	if r == nil {
		return m.noPod(name)
	}
	t := m.target(r)
	return m.run("", func(ctx context.Context, a kube.Actions) kube.Result { return f(ctx, a, t) })
}

// crashSelected crashes the marked pods the table shows, or the selected
// one when nothing is marked.
//
// Marks the filter hides are kept but never crashed: a crash is fired only
// at a pod the person can see. Clearing them instead would lose marks made
// before narrowing the filter to find one more pod to mark. The hidden ones
// are said, in the table's title and in the status line, and with marks
// but none shown nothing is crashed: c then means "the marked pods", never
// a different pod than asked.
func (m *model) crashSelected() tea.Cmd {
	var rows []*podRow
	hidden := 0
	if len(m.pods.marked) > 0 {
		for _, r := range m.pods.rows { // the shown rows, in the shown order
			if m.pods.marked[r.key] {
				rows = append(rows, r)
			}
		}
		hidden = len(m.pods.marked) - len(rows)
	} else if r := m.pods.selected(); r != nil {
		rows = append(rows, r)
	}
	if hidden > 0 {
		m.notify("%d marked %s hidden by the filter: not crashed (/ then esc shows them)", hidden, plural(hidden, "pod"))
	}
	if len(rows) == 0 {
		if hidden > 0 {
			return nil
		}
		return m.noPod("crash")
	}
	cmds := make([]tea.Cmd, 0, len(rows))
	for _, r := range rows {
		cmds = append(cmds, m.crash(r))
	}
	return tea.Batch(cmds...)
}

// crash fires one crash and draws it on the pod's timeline at once.
func (m *model) crash(r *podRow) tea.Cmd {
	if h := m.state.hist[r.key]; h != nil {
		h.add(m.now(), markCrash)
	}
	t := m.target(r)
	return m.run("", func(ctx context.Context, a kube.Actions) kube.Result { return a.Crash(ctx, t) })
}

// logs shows the log of the selected pod's container (the one the detail
// view shows, there) in the output pane. l picks the instance that answers
// "why did it restart?": the previous one after a restart, as
// `kubectl logs --previous` shows it; other (L) asks for the other one.
func (m *model) logs(other bool) tea.Cmd {
	r := m.pods.selected()
	if m.focus == focusDetail {
		r = m.state.pods[m.detail.key]
		m.setFocus(m.back)
	}
	if r == nil {
		return m.noPod("logs")
	}
	previous, hint := logChoice(r.pod, other)
	// The log is read in the output pane: show it under the table.
	if m.focus >= focusTimeline && m.focus <= focusRollout {
		m.setFocus(focusOutput)
	} else {
		m.lower = focusOutput
	}
	t := m.target(r)
	return m.runHint("", hint, func(ctx context.Context, a kube.Actions) kube.Result { return a.Logs(ctx, t, previous) })
}

// logChoice says which instance l shows (other: which L shows) and a hint
// saying which one it is and how to see the other.
//
// The previous instance is the one to read when the container restarted
// and is not itself stopped now: running again, or waiting in
// CrashLoopBackOff, where the current instance has no log at all. A
// container that stopped and has not been started again (terminated now)
// shows its own log as the current one, as kubectl logs does.
func logChoice(pod *corev1.Pod, other bool) (previous bool, hint string) {
	name, _ := kube.LogContainer(pod)
	var cs corev1.ContainerStatus
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == name {
			cs = s
		}
	}
	restarted := cs.RestartCount > 0 && cs.State.Terminated == nil
	previous = restarted != other
	otherKey := "L"
	if other {
		otherKey = "l"
	}
	times := plural(int(cs.RestartCount), "time")
	switch {
	case previous && restarted:
		hint = fmt.Sprintf("the instance before the last restart (restarted %d %s); ", cs.RestartCount, times)
		if t := cs.LastTerminationState.Terminated; t != nil {
			hint += fmt.Sprintf("it ended %s and its last lines say why", endText(t))
		} else {
			hint += "its last lines say why it restarted"
		}
		hint += "; " + otherKey + " shows the current one"
	case previous:
		hint = "the previous instance; it has not restarted, so there may be none; " + otherKey + " shows the current one"
	case restarted && cs.State.Waiting != nil:
		hint = fmt.Sprintf("the current instance, waiting (%s) after the last restart (restarted %d %s), so there may be none yet; %s shows the one before",
			orDash(cs.State.Waiting.Reason), cs.RestartCount, times, otherKey)
	case restarted:
		hint = fmt.Sprintf("the current instance, started after the last restart (restarted %d %s); %s shows the one before", cs.RestartCount, times, otherKey)
	case cs.State.Terminated != nil && cs.RestartCount == 0:
		// Its only instance (a pod with restartPolicy Never or OnFailure
		// that exited): there is no earlier one for L to show.
		hint = "the current instance, which ended " + endText(cs.State.Terminated) + "; it never restarted, so it is the only one"
	case cs.State.Terminated != nil:
		hint = "the current instance, which ended " + endText(cs.State.Terminated) + "; " + otherKey + " shows the one before"
	default:
		hint = "the current instance; it has not restarted"
	}
	return previous, hint
}

// endText is how a container instance ended: "Error, exit code 2, at 11:59:22".
func endText(t *corev1.ContainerStateTerminated) string {
	s := orDash(t.Reason) + fmt.Sprintf(", exit code %d", t.ExitCode)
	if t.Signal != 0 {
		s += fmt.Sprintf(", signal %d", t.Signal)
	}
	if !t.FinishedAt.IsZero() {
		s += ", at " + t.FinishedAt.Local().Format("15:04:05")
	}
	return s
}

func (m *model) openDetail() tea.Cmd {
	r := m.pods.selected()
	if r == nil {
		return nil
	}
	m.detail.open(r.key)
	m.setFocus(focusDetail)
	t := m.target(r)
	return m.run(r.key, func(ctx context.Context, a kube.Actions) kube.Result { return a.Info(ctx, t) })
}

// refreshInfo asks /info again for the pod the detail view shows.
func (m *model) refreshInfo() tea.Cmd {
	r := m.state.pods[m.detail.key]
	if r == nil {
		return m.noPod("info")
	}
	m.detail.info = nil
	m.detail.stale = true
	t := m.target(r)
	return m.run(r.key, func(ctx context.Context, a kube.Actions) kube.Result { return a.Info(ctx, t) })
}

func (m *model) askResolve() tea.Cmd {
	r := m.pods.selected()
	if r == nil {
		return m.noPod("resolve")
	}
	host := m.opts.DefaultResolveHost
	if host == "" {
		host = m.state.firstService
	}
	return m.prompt.open(promptResolve, "resolve from "+sanitize(r.pod.Name)+", host", host, m.target(r))
}

func (m *model) askDelete() tea.Cmd {
	r := m.pods.selected()
	if r == nil {
		return m.noPod("delete")
	}
	t := m.target(r)
	return m.prompt.open(promptDelete, "delete pod "+t.String()+"?", "", t)
}

// notify puts a message of the dashboard's own in the output pane and, as
// the newest entry, in the status line.
func (m *model) notify(format string, a ...any) {
	text := fmt.Sprintf(format, a...)
	m.log.Info("notice", "text", text)
	m.output.add(outputEntry{at: m.now(), notice: text})
}

// toggleChaos stops a running chaos, or asks for its interval.
func (m *model) toggleChaos() tea.Cmd {
	if m.chaos.on {
		m.chaos.on = false
		m.chaos.gen++
		// The header's CHAOS marker just goes away; say what it did.
		n := m.chaos.crashes
		ran := ""
		if d := m.now().Sub(m.chaos.started).Round(time.Second); d >= time.Second {
			ran = " in " + d.String()
		}
		m.notify("chaos stopped: %d %s%s, one every %s", n, plural(n, "crash", "crashes"), ran, m.chaos.every)
		return nil
	}
	every := m.chaos.every
	if every == 0 {
		every = 10 * time.Second
	}
	return m.prompt.open(promptChaos, "chaos: crash a random ready pod every", every.String(), kube.Target{})
}

func (m *model) handleAnswer(a promptAnswer) tea.Cmd {
	switch a.kind {
	case promptResolve:
		t, host := a.target, a.value
		return m.run("", func(ctx context.Context, ac kube.Actions) kube.Result { return ac.Resolve(ctx, t, host) })
	case promptApply:
		m.lastApply = a.value
		path := a.value
		return m.run("", func(ctx context.Context, ac kube.Actions) kube.Result { return ac.Apply(ctx, path) })
	case promptDelete:
		t := a.target
		return m.run("", func(ctx context.Context, ac kube.Actions) kube.Result { return ac.Delete(ctx, t, nil) })
	case promptChaos:
		m.chaos = chaosState{on: true, every: a.interval, gen: m.chaos.gen + 1, started: m.now()}
		return m.chaosAfter()
	}
	return nil
}

func (m *model) chaosAfter() tea.Cmd {
	return m.after(m.chaos.every, chaosMsg{m.chaos.gen})
}

// handleChaos crashes one random ready pod among those shown.
func (m *model) handleChaos(msg chaosMsg) tea.Cmd {
	if !m.chaos.on || msg.gen != m.chaos.gen {
		return nil
	}
	var ready []*podRow
	for _, r := range m.pods.rows {
		if r.ready {
			ready = append(ready, r)
		}
	}
	next := m.chaosAfter()
	if len(ready) == 0 {
		m.chaos.idle++
		return next
	}
	m.chaos.idle = 0
	m.chaos.crashes++
	return tea.Batch(m.crash(ready[m.rand.IntN(len(ready))]), next)
}
