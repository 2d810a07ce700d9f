package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// detailPane is the Enter view of one pod: containers' state and last
// state, probe specs with Kubernetes defaults filled in, conditions, the
// probe server's knobs from env, and its /info.
type detailPane struct {
	st     *styles
	keys   *keyMap
	key    string // pod shown
	info   *kube.Result
	scroll scroller

	// expiry is when one of the shown "ago" times next reads differently
	// (zero: none is shown); the clock tick rebuilds the view then.
	expiry time.Time
	// eventsAt is the line of the Events heading.
	eventsAt int
	// stale: the pod, its /info answer, the width or the clock changed
	// since the view was built; it is rebuilt when it is next drawn.
	stale bool
}

func newDetailPane(st *styles, keys *keyMap) detailPane {
	return detailPane{st: st, keys: keys}
}

func (d *detailPane) SetSize(w, h int) {
	d.scroll.setSize(w, max(h-1, 0))
	d.stale = true // the probe timings are wrapped to the width
}

func (d *detailPane) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Back, k.Logs, k.Up, k.Down, k.Crash, k.Healthz, k.Info}
}

func (d *detailPane) open(podKey string) {
	d.key = podKey
	d.info = nil
	d.scroll.top()
	d.stale = true
}

func (d *detailPane) Update(msg tea.KeyMsg) {
	d.scroll.handleKey(msg, d.keys)
}

func (d *detailPane) View() string {
	hint := "  (esc to go back)"
	if d.eventsAt >= d.scroll.offset+d.scroll.h {
		// The events come last; on a short screen say they are there.
		hint = "  (esc to go back, G for the events)"
	}
	return d.scroll.titled(d.st.Header.Render("POD "+sanitize(d.key)) + hint)
}

// rebuild formats the pod; View calls it when the view is stale (opened,
// the pod changed, /info answered, a resize) or one of its "ago" times
// reads differently.
func (d *detailPane) rebuild(row *podRow, events map[string]*corev1.Event, now time.Time) {
	d.expiry, d.stale = time.Time{}, false
	d.eventsAt = 0
	if row == nil {
		d.scroll.setLines([]string{"  the pod is gone"})
		return
	}
	pod := row.pod
	clk := &agoClock{now: now}
	defer func() { d.expiry = clk.next }()
	c := kube.PodStatus(pod, now)
	clk.next = columnsExpiry(c, now)
	var l []string
	add := func(format string, a ...any) { l = append(l, fmt.Sprintf(format, a...)) }
	add("status %s   ready %s   restarts %s   age %s", c.Status, c.Ready, c.Restarts, c.Age)
	line2 := fmt.Sprintf("node %s   ip %s   version %s   phase %s", c.Node, c.IP, orDash(c.Version), pod.Status.Phase)
	// Not Always: why an exited container stays down (or restarts only
	// on failure), which the newcomer cannot tell from the status.
	if rp := pod.Spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
		line2 += "   restartPolicy " + string(rp)
	}
	l = append(l, line2)
	if pod.DeletionTimestamp != nil {
		add("being deleted since %s", clk.stamp(pod.DeletionTimestamp.Time))
	}
	statuses := map[string]corev1.ContainerStatus{}
	for _, s := range pod.Status.InitContainerStatuses {
		statuses["init:"+s.Name] = s
	}
	for _, s := range pod.Status.ContainerStatuses {
		statuses[s.Name] = s
	}
	for _, ctr := range pod.Spec.InitContainers {
		l = append(l, "")
		l = append(l, d.containerLines("init container", ctr, statuses["init:"+ctr.Name], false, clk)...)
	}
	logName, _ := kube.LogContainer(pod)
	previous, _ := logChoice(pod, false)
	for _, ctr := range pod.Spec.Containers {
		l = append(l, "")
		l = append(l, d.containerLines("container", ctr, statuses[ctr.Name], previous && ctr.Name == logName, clk)...)
	}
	l = append(l, "", d.st.ColHeader.Render("conditions"))
	for _, cond := range pod.Status.Conditions {
		line := fmt.Sprintf("  %-26s %-6s since %s", cond.Type, cond.Status, clk.stamp(cond.LastTransitionTime.Time))
		if cond.Reason != "" {
			line += "  " + cond.Reason
		}
		if cond.Message != "" {
			line += ": " + sanitize(cond.Message)
		}
		l = append(l, line)
	}
	if len(pod.Status.Conditions) == 0 {
		l = append(l, "  (none reported yet)")
	}
	l = append(l, "", d.st.ColHeader.Render("/info"))
	switch {
	case d.info == nil:
		l = append(l, "  asking the probe server…")
	case d.info.Err != nil:
		l = append(l, "  "+d.st.Error.Render("failed: ")+sanitize(d.info.Err.Error()))
	default:
		l = append(l, fmt.Sprintf("  %d in %s", d.info.Code, d.info.Latency.Round(time.Millisecond/10)))
		body := d.info.Body
		// JSON (what the probe server answers) reads better indented.
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(body), "", "  ") == nil {
			body = buf.String()
		}
		for _, b := range bodyLines(body, max(d.scroll.w-2, 10), 60) {
			l = append(l, "  "+b)
		}
	}
	// Last, as in kubectl describe pod: what happened to the pod, the
	// liveness kills and probe failures whole (the events pane cuts them
	// at its width).
	l = append(l, "")
	d.eventsAt = len(l)
	l = append(l, d.eventsLines(podEvents(events, pod), clk)...)
	d.scroll.setLines(l)
}

// containerLines describes one container; logsPrevious: it is the one l
// shows, and l shows its instance before a restart.
func (d *detailPane) containerLines(kind string, ctr corev1.Container, cs corev1.ContainerStatus, logsPrevious bool, clk *agoClock) []string {
	var l []string
	add := func(format string, a ...any) { l = append(l, fmt.Sprintf(format, a...)) }
	l = append(l, d.st.ColHeader.Render(fmt.Sprintf("%s %s", kind, ctr.Name))+fmt.Sprintf("  image %s", ctr.Image))
	started := "-" // not reported (no startup probe information yet)
	if cs.Started != nil {
		started = fmt.Sprint(*cs.Started)
	}
	add("  ready %v   restarts %d   started %s", cs.Ready, cs.RestartCount, started)
	if kind == "container" && ctr.RestartPolicy != nil {
		// A container's own policy and rules win over the pod's
		// (ContainerRestartRules, Kubernetes 1.35+).
		add("  restartPolicy %s%s", *ctr.RestartPolicy, restartRulesText(ctr.RestartPolicyRules))
	}
	add("  state:      %s", stateText(cs.State, clk))
	add("  last state: %s", stateText(cs.LastTerminationState, clk))
	if logsPrevious {
		// Where a newcomer asks "why did it restart?", say where to look.
		add("              l shows the log from before the restart: why it restarted")
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"liveness", ctr.LivenessProbe}, {"readiness", ctr.ReadinessProbe}, {"startup", ctr.StartupProbe}} {
		if p.probe == nil {
			add("  %-9s  none", p.name)
			continue
		}
		// Handler on the first line, timings wrapped under it: the whole
		// spec stays readable at 80 columns.
		handler, timing := probeText(p.probe)
		add("  %-9s  %s", p.name, handler)
		for _, t := range wrapLines(timing, max(d.scroll.w-13, 20), 3) {
			add("             %s", t)
		}
	}
	if len(ctr.Env) > 0 {
		l = append(l, "  env (the probe server's knobs):")
		for _, e := range ctr.Env {
			v := e.Value
			if e.ValueFrom != nil {
				v = "(from a reference)"
			}
			add("    %s=%s", e.Name, sanitize(v))
		}
	}
	return l
}

func stateText(s corev1.ContainerState, clk *agoClock) string {
	switch {
	case s.Running != nil:
		return "Running since " + clk.stamp(s.Running.StartedAt.Time)
	case s.Waiting != nil:
		t := "Waiting: " + s.Waiting.Reason
		if s.Waiting.Message != "" {
			t += ": " + sanitize(s.Waiting.Message)
		}
		return t
	case s.Terminated != nil:
		t := s.Terminated
		out := fmt.Sprintf("Terminated: %s, exit code %d", orDash(t.Reason), t.ExitCode)
		if t.Signal != 0 {
			out += fmt.Sprintf(", signal %d", t.Signal)
		}
		if !t.FinishedAt.IsZero() {
			out += ", finished " + clk.stamp(t.FinishedAt.Time)
		}
		if t.Message != "" {
			out += ": " + sanitize(t.Message)
		}
		return out
	}
	return "-"
}

// Probe defaults as the API server fills them in
// (pkg/apis/core/v1/defaults.go, SetDefaults_Probe): timeout 1, period 10,
// success 1, failure 3; initialDelaySeconds is 0 when unset. Objects from a
// fake clientset or a partial manifest may carry zeros, so show the value
// the kubelet will really use.
func probeText(p *corev1.Probe) (handler, timing string) {
	var h string
	switch {
	case p.HTTPGet != nil:
		scheme := string(p.HTTPGet.Scheme)
		if scheme == "" {
			scheme = "HTTP"
		}
		h = fmt.Sprintf("%s GET %s port %s", scheme, orDefault(p.HTTPGet.Path, "/"), p.HTTPGet.Port.String())
	case p.TCPSocket != nil:
		h = "TCP port " + p.TCPSocket.Port.String()
	case p.GRPC != nil:
		h = fmt.Sprintf("gRPC port %d", p.GRPC.Port)
	case p.Exec != nil:
		h = "exec " + strings.Join(p.Exec.Command, " ")
	default:
		h = "no handler"
	}
	var defaulted []string
	def := func(name string, v, d int32) int32 {
		if v == 0 {
			defaulted = append(defaulted, name)
			return d
		}
		return v
	}
	s := fmt.Sprintf("delay %ds  period %ds  timeout %ds  success %d  failure %d",
		p.InitialDelaySeconds, def("period", p.PeriodSeconds, 10), def("timeout", p.TimeoutSeconds, 1),
		def("success", p.SuccessThreshold, 1), def("failure", p.FailureThreshold, 3))
	if len(defaulted) > 0 {
		s += "  (Kubernetes defaults: " + strings.Join(defaulted, ", ") + ")"
	}
	return h, s
}

// agoClock formats times relative to now and remembers the soonest moment
// one of them reads differently.
type agoClock struct{ now, next time.Time }

// ago is a time as kubectl's ages read ("5m"), "<unknown>" for none.
func (c *agoClock) ago(t time.Time) string {
	c.next = earlier(c.next, sinceExpiry(t, c.now))
	return since(t, c.now)
}

// stamp shows a time both absolute and relative.
func (c *agoClock) stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	c.next = earlier(c.next, sinceExpiry(t, c.now))
	return fmt.Sprintf("%s (%s ago)", t.Local().Format("15:04:05"), since(t, c.now))
}

func orDash(s string) string { return orDefault(s, "-") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// restartRulesText is a container's restartPolicyRules in one phrase:
// ", except Restart on exit code In [42]".
func restartRulesText(rules []corev1.ContainerRestartRule) string {
	var parts []string
	for _, r := range rules {
		p := string(r.Action)
		if e := r.ExitCodes; e != nil {
			p += fmt.Sprintf(" on exit code %s %v", e.Operator, e.Values)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	return ", except " + strings.Join(parts, "; ")
}
