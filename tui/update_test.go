package tui

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube"
)

func names(m *model) []string {
	var out []string
	for _, r := range m.pods.rows {
		out = append(out, r.pod.Name)
	}
	return out
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

func TestLoadingUntilSynced(t *testing.T) {
	c := t0.Add(-time.Minute)
	m, _ := newTestModel(t, 80, 24, kube.Batch{
		Conn:   &kube.Conn{State: kube.Connecting},
		Deltas: []kube.Delta{podDelta(pod("a", c))},
	})
	s := screen(t, m)
	mustContain(t, s, "Loading", "connecting")
	if strings.Contains(s, "NAME") {
		t.Errorf("table drawn before the caches synced:\n%s", s)
	}
	m.Update(batchMsg(kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Connected}}))
	mustContain(t, screen(t, m), "NAME", "a ", "connected")
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name  string
		batch kube.Batch
		want  []string
	}{
		{"seed", seedBatch(), []string{"kind-lab", "ns default", "-l app=prober-foo", "connected", "ready 2 of 3 desired (4 pods)", "restarts 6", "rollout prober-foo 1/3 updated"}},
		// A bare pod counts as one desired pod of its own: its readiness
		// does not stand in for a Deployment's unready pod.
		{"bare pods beside a deployment", func() kube.Batch {
			b := seedBatch()
			b.Deltas = append(b.Deltas, podDelta(pod("once", t0, ready(t0))), podDelta(pod("failed", t0)))
			return b
		}(), []string{"ready 3 of 5 desired (6 pods)"}},
		{"no deployment", kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(pod("a", t0, ready(t0)))}}, []string{"ready 1 of 1 pods", "restarts 0"}},
		{"disconnected", kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Disconnected, Detail: "dial tcp 127.0.0.1:6443: connect: connection refused"}},
			[]string{"disconnected, reconnecting: dial tcp 127.0.0.1:6443"}},
		{"forbidden", kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Forbidden, Detail: `cannot list pods in "default"`}},
			[]string{`forbidden: cannot list pods in "default"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestModel(t, 120, 30, tt.batch)
			mustContain(t, screen(t, m), tt.want...)
		})
	}
}

func TestSelectionFollowsKeyAcrossBatches(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, seedBatch())
	press(t, m, "down", "down")
	want := "default/prober-foo-67b66bdbf7-hw78w"
	if m.pods.selKey != want {
		t.Fatalf("selected %q, want %q", m.pods.selKey, want)
	}
	// A pod that sorts first arrives: the cursor row moves, the selection not.
	m.Update(batchMsg(kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(pod("aaa", t0))}}))
	if r := m.pods.selected(); r == nil || r.key != want {
		t.Fatalf("after a new pod the selection is %v, want %s", r, want)
	}
	// The selected pod goes away: the selection falls on a neighbour.
	m.Update(batchMsg(kube.Batch{Synced: true, Deltas: []kube.Delta{{Kind: kube.KindPod, Type: kube.Deleted, Key: want}}}))
	if r := m.pods.selected(); r == nil || r.key == want {
		t.Fatalf("after delete the selection is %v", r)
	}
}

func TestSort(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, seedBatch())
	tests := []struct {
		by   string
		want []string
	}{
		{"age", []string{"prober-foo-764cf9f454-5pqcx", "prober-foo-67b66bdbf7-4bxjb", "prober-foo-67b66bdbf7-7dnzd", "prober-foo-67b66bdbf7-hw78w"}},
		{"restarts", []string{"prober-foo-67b66bdbf7-4bxjb", "prober-foo-67b66bdbf7-hw78w", "prober-foo-67b66bdbf7-7dnzd", "prober-foo-764cf9f454-5pqcx"}},
		{"status", []string{"prober-foo-67b66bdbf7-hw78w", "prober-foo-764cf9f454-5pqcx", "prober-foo-67b66bdbf7-4bxjb", "prober-foo-67b66bdbf7-7dnzd"}},
		{"name", []string{"prober-foo-67b66bdbf7-4bxjb", "prober-foo-67b66bdbf7-7dnzd", "prober-foo-67b66bdbf7-hw78w", "prober-foo-764cf9f454-5pqcx"}},
	}
	for _, tt := range tests {
		press(t, m, "s")
		if m.pods.sort.String() != tt.by {
			t.Fatalf("sort is %s, want %s", m.pods.sort, tt.by)
		}
		if got := names(m); !slices.Equal(got, tt.want) {
			t.Errorf("sort by %s: %v, want %v", tt.by, got, tt.want)
		}
		mustContain(t, screen(t, m), "sort:"+tt.by)
	}
}

func TestFilter(t *testing.T) {
	m, fa := newTestModel(t, 80, 24, seedBatch())
	press(t, m, "/", "7", "6", "4")
	if got := names(m); !slices.Equal(got, []string{"prober-foo-764cf9f454-5pqcx"}) {
		t.Fatalf("filter 764: %v", got)
	}
	// While typing, action keys are text, not actions.
	press(t, m, "c")
	if len(fa.Calls()) != 0 {
		t.Fatalf("a key typed into the filter fired %v", fa.Calls())
	}
	press(t, m, "backspace", "enter")
	mustContain(t, screen(t, m), "PODS 1 of 4", "filter:764")
	// A filter matching nothing says so.
	press(t, m, "/", "x", "enter")
	mustContain(t, screen(t, m), `no pod name contains "764x"`)
	press(t, m, "esc")
	if len(m.pods.rows) != 4 {
		t.Fatalf("esc did not clear the filter: %v", names(m))
	}
}

// TestFilterAndSortFromAnyPane: / s and space act on the pod table whatever
// pane has the focus, and once the filter is open every key is text: "/khts"
// typed over the output or events pane filters, it fires no healthz or sort.
func TestFilterAndSortFromAnyPane(t *testing.T) {
	for _, pane := range []struct {
		key  string
		from focus
	}{
		{"3", focusEvents},
		{"4", focusOutput},
		{"5", focusRollout},
	} {
		t.Run(paneNames[pane.from], func(t *testing.T) {
			m, fa := newTestModel(t, 100, 30, seedBatch())
			press(t, m, pane.key)
			if m.focus != pane.from {
				t.Fatalf("focus %v, want %v", m.focus, pane.from)
			}
			press(t, m, "/")
			if !m.pods.filtering || m.focus != focusPods {
				t.Fatalf("/ from %v: filtering %v focus %v, want the pods pane's filter open", pane.from, m.pods.filtering, m.focus)
			}
			// Action, pane and quit keys are all text while the filter is open.
			press(t, m, "k", "h", "t", "s", "c", "d", "a", "r", "C", "e", "q", "?", "1", "space")
			if got := fa.Calls(); len(got) != 0 {
				t.Fatalf("keys typed into the filter fired %v", got)
			}
			if got, want := m.pods.filter.Value(), "khtscdarCeq?1 "; got != want {
				t.Fatalf("filter text %q, want %q", got, want)
			}
			if m.prompt.active() || m.focus != focusPods || m.pods.sort.String() != "name" {
				t.Fatalf("a filter key leaked: prompt %v focus %v sort %s", m.prompt.active(), m.focus, m.pods.sort)
			}
			press(t, m, "esc")
			if m.pods.filtering || len(m.pods.rows) != 4 {
				t.Fatalf("esc: filtering %v rows %v", m.pods.filtering, names(m))
			}

			// Sort and mark from the pane, without moving the focus.
			press(t, m, pane.key, "s", "space")
			if m.focus != pane.from || m.pods.sort.String() != "age" || len(m.pods.marked) != 1 {
				t.Fatalf("s space from %v: focus %v sort %s marked %v", pane.from, m.focus, m.pods.sort, m.pods.marked)
			}
			if got := fa.Calls(); len(got) != 0 {
				t.Fatalf("sort or mark fired %v", got)
			}
		})
	}
}

func TestCrashSelectedAndMarked(t *testing.T) {
	m, fa := newTestModel(t, 120, 30, seedBatch())
	press(t, m, "down", "c")
	want := kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-7dnzd"}
	if got := fa.Calls(); len(got) != 1 || got[0] != (call{"crash", want, ""}) {
		t.Fatalf("calls %v, want one crash of %v", got, want)
	}
	s := screen(t, m)
	mustContain(t, s, "crash prober-foo-67b66bdbf7-7dnzd → ok in 3ms (connection closed: the container exited)")
	// The crash is drawn on the pod's timeline now.
	h := m.state.hist["default/prober-foo-67b66bdbf7-7dnzd"]
	if i := slices.IndexFunc(h.marks, func(mk mark) bool { return mk.kind == markCrash }); i < 0 {
		t.Fatalf("no crash mark on the timeline: %+v", h.marks)
	}

	// space marks and moves down; c then crashes every marked pod.
	press(t, m, "up", "space", "space")
	mustContain(t, screen(t, m), "marked:2")
	press(t, m, "c")
	var crashed []string
	for _, c := range fa.Calls()[1:] {
		crashed = append(crashed, c.Target.Pod)
	}
	slices.Sort(crashed)
	if !slices.Equal(crashed, []string{"prober-foo-67b66bdbf7-4bxjb", "prober-foo-67b66bdbf7-7dnzd"}) {
		t.Fatalf("crashed %v, want the two marked pods", crashed)
	}
	press(t, m, "esc")
	if len(m.pods.marked) != 0 {
		t.Fatalf("esc kept marks %v", m.pods.marked)
	}
}

func TestPodActions(t *testing.T) {
	sel := kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-4bxjb"}
	tests := []struct {
		name      string
		opts      func(*Options)
		keys      []string
		wantCalls []call
		wantText  []string
	}{
		{name: "healthz", keys: []string{"h"}, wantCalls: []call{{"healthz", sel, ""}}, wantText: []string{"healthz prober-foo-67b66bdbf7-4bxjb → 500 in 2ms"}},
		{name: "info", keys: []string{"i"}, wantCalls: []call{{"info", sel, ""}}, wantText: []string{"info prober-foo-67b66bdbf7-4bxjb → 200"}},
		{name: "resolve defaults to the first Service", keys: []string{"r", "enter"}, wantCalls: []call{{"resolve", sel, "foo-nodeport-svc"}}, wantText: []string{"resolve prober-foo-67b66bdbf7-4bxjb → 200 in 12ms"}},
		{name: "resolve default from options", opts: func(o *Options) { o.DefaultResolveHost = "checkip.dyndns.org" }, keys: []string{"r", "enter"}, wantCalls: []call{{"resolve", sel, "checkip.dyndns.org"}}},
		{name: "resolve cancelled", keys: []string{"r", "esc"}},
		{name: "resolve empty host refused", keys: []string{"r", "ctrl+u", "enter"}, wantText: []string{"type a host name"}},
		{name: "delete confirmed", keys: []string{"d", "y"}, wantCalls: []call{{"delete", sel, ""}}},
		{name: "delete refused", keys: []string{"d", "n"}},
		{name: "delete asks first", keys: []string{"d"}, wantText: []string{"delete pod default/prober-foo-67b66bdbf7-4bxjb? [y/N]"}},
		{name: "apply", keys: []string{"a", "d", "e", "m", "o", "/", "x", "enter"}, wantCalls: []call{{"apply", kube.Target{}, "demo/x"}}, wantText: []string{"apply → 200 in 40ms"}},
		{name: "apply error", keys: []string{"a", "m", "i", "s", "s", "i", "n", "g", ".", "y", "a", "m", "l", "enter"}, wantCalls: []call{{"apply", kube.Target{}, "missing.yaml"}}, wantText: []string{"apply → FAILED: open missing.yaml: no such file"}},
		{name: "apply empty refused", keys: []string{"a", "enter"}, wantText: []string{"type the path of a YAML manifest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, fa := newTestModel(t, 120, 30, seedBatch())
			if tt.opts != nil {
				tt.opts(&m.opts)
			}
			for _, k := range tt.keys {
				if k == "ctrl+u" {
					_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlU})
					runCmd(m, cmd)
					continue
				}
				press(t, m, k)
			}
			if got := fa.Calls(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls %v, want %v", got, tt.wantCalls)
			}
			mustContain(t, screen(t, m), tt.wantText...)
		})
	}
}

func TestNoPodSelected(t *testing.T) {
	m, fa := newTestModel(t, 80, 24, kube.Batch{Synced: true})
	for _, k := range []string{"c", "h", "i", "r", "d"} {
		press(t, m, k)
	}
	if len(fa.Calls()) != 0 {
		t.Fatalf("actions fired with no pod: %v", fa.Calls())
	}
	mustContain(t, screen(t, m), "no pod selected", "no pods match")
}

func TestChaos(t *testing.T) {
	m, fa := newTestModel(t, 120, 30, seedBatch())
	press(t, m, "C")
	mustContain(t, screen(t, m), "chaos: crash a random ready pod every: 10s")
	// Bad input is refused with what is accepted, and the prompt stays.
	_, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlU})
	press(t, m, "0", ".", "5", "enter")
	mustContain(t, screen(t, m), "too short: at least 1s")
	_, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlU})
	press(t, m, "x", "enter")
	mustContain(t, screen(t, m), "not an interval")
	_, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlU})
	press(t, m, "3", "enter")
	if !m.chaos.on || m.chaos.every != 3*time.Second {
		t.Fatalf("chaos = %+v, want on every 3s", m.chaos)
	}
	mustContain(t, screen(t, m), "CHAOS every 3s (C stops): 0 crashed")
	// A chaos tick crashes one of the two ready pods.
	_, cmd := m.Update(chaosMsg{gen: m.chaos.gen})
	runCmd(m, cmd)
	calls := fa.Calls()
	if len(calls) != 1 || calls[0].Action != "crash" {
		t.Fatalf("chaos tick: calls %v", calls)
	}
	if r := m.state.pods[calls[0].Target.String()]; r == nil || !r.ready {
		t.Fatalf("chaos crashed %v, which is not a ready pod", calls[0].Target)
	}
	// C stops it; a tick already in flight does nothing.
	gen := m.chaos.gen
	press(t, m, "C")
	_, cmd = m.Update(chaosMsg{gen: gen})
	runCmd(m, cmd)
	if m.chaos.on || len(fa.Calls()) != 1 {
		t.Fatalf("chaos after stop: %+v, calls %v", m.chaos, fa.Calls())
	}
	if strings.Contains(screen(t, m), "CHAOS") {
		t.Error("header still shows chaos after it stopped")
	}
}

func TestEventsPane(t *testing.T) {
	m, _ := newTestModel(t, 160, 40, seedBatch())
	press(t, m, "down", "down") // hw78w
	s := screen(t, m)
	mustContain(t, s, "EVENTS for default/prober-foo-67b66bdbf7-hw78w  3",
		"Unhealthy x5", "Liveness probe failed: HTTP probe failed with statuscode: 500",
		"Killing x2", "Container prober-foo failed liveness probe, will be restarted",
		"Back-off restarting failed container prober-foo in pod")
	// Newest first.
	if strings.Index(s, "BackOff") > strings.Index(s, "Killing") || strings.Index(s, "Killing") > strings.Index(s, "Unhealthy x5") {
		t.Errorf("events not newest first:\n%s", s)
	}
	press(t, m, "e")
	mustContain(t, screen(t, m), "EVENTS (all pods)  5", "prober-foo-764cf9f454-5pqcx")
}

func TestTimelineFromDeltasAndEvents(t *testing.T) {
	created := t0.Add(-4 * time.Minute)
	p := pod("p", created)
	m, _ := newTestModel(t, 120, 30, kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(p)}})
	h := m.state.hist["default/p"]
	if len(h.readiness) != 1 || h.readiness[0].ready {
		t.Fatalf("initial readiness %+v, want not ready since creation", h.readiness)
	}
	// It becomes ready, restarts, gets a probe failure twice over (count
	// 1 then 2) and a resync repeating count 2, then a kill.
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{podDelta(pod("p", created, ready(t0.Add(-3*time.Second))))}}))
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{podDelta(pod("p", created, ready(t0.Add(-3*time.Second)), restarts(1, t0.Add(-time.Second))))}}))
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{event("ev", "p", "Warning", "Unhealthy", "Readiness probe failed", 1, t0.Add(-2*time.Second))}}))
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{event("ev", "p", "Warning", "Unhealthy", "Readiness probe failed", 2, t0.Add(-time.Second))}}))
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{event("ev", "p", "Warning", "Unhealthy", "Readiness probe failed", 2, t0.Add(-time.Second))}}))
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{event("kill", "p", "Normal", "Killing", "Container p failed liveness probe, will be restarted", 1, t0)}}))
	var kinds []markKind
	for _, mk := range h.marks {
		kinds = append(kinds, mk.kind)
	}
	want := []markKind{markProbe, markRestart, markProbe, markKilled}
	if !slices.Equal(kinds, want) {
		t.Fatalf("marks %v, want %v", kinds, want)
	}
	if n := len(h.readiness); n != 2 || !h.readiness[1].ready || !h.readiness[1].at.Equal(t0.Add(-3*time.Second)) {
		t.Fatalf("readiness %+v, want ready from the condition's transition time", h.readiness)
	}
	// The table marks the row as just changed.
	mustContain(t, screen(t, m), "> !p ")
}

func TestHistoryStrip(t *testing.T) {
	now := t0
	h := &history{created: now.Add(-60 * time.Second)}
	h.setReady(now.Add(-60*time.Second), false)
	h.setReady(now.Add(-30*time.Second), true)
	h.add(now.Add(-15*time.Second), markProbe)
	h.add(now.Add(-14*time.Second), markRestart)
	h.add(now.Add(-1*time.Second), markCrash)
	cells := make([]markKind, 12) // 10 s each over 2 minutes
	h.strip(now, 2*time.Minute, cells)
	var b strings.Builder
	for _, k := range cells {
		b.WriteString(markGlyph[k])
	}
	// 6 empty cells before creation, 3 not ready, 1 ready (-30..-20),
	// restart beats the probe failure in -20..-10, crash in the last.
	if got, want := b.String(), "      ░░░█RX"; got != want {
		t.Fatalf("strip %q, want %q", got, want)
	}
	h.prune(now.Add(-20 * time.Second))
	if len(h.marks) != 3 || len(h.readiness) != 1 || !h.readiness[0].ready {
		t.Fatalf("after prune: %+v %+v", h.marks, h.readiness)
	}
}

func TestDetailShowsInfoAndDefaults(t *testing.T) {
	m, fa := newTestModel(t, 120, 48, seedBatch())
	press(t, m, "down", "down", "enter")
	if got := fa.Calls(); len(got) != 1 || got[0].Action != "info" {
		t.Fatalf("opening detail called %v, want info", got)
	}
	mustContain(t, screen(t, m),
		"POD default/prober-foo-67b66bdbf7-hw78w",
		"last state: Terminated: Error, exit code 2, finished 11:59:56 (4s ago)",
		"liveness   HTTP GET /healthz port 80",
		"             delay 20s  period 10s  timeout 1s  success 1  failure 1  (Kubernetes defaults: period, timeout)",
		"CRASH_FACTOR=40",
		"Ready                      False",
		`"hostname": "prober-foo-67b66bdbf7-hw78w",`,
	)
	// i in the detail view asks /info again for that pod.
	press(t, m, "i")
	if got := fa.Calls(); len(got) != 2 || got[1] != got[0] {
		t.Fatalf("i in detail called %v, want a second info of the same pod", got)
	}
	mustContain(t, screen(t, m), `"hostname": "prober-foo-67b66bdbf7-hw78w",`)
	press(t, m, "esc")
	if m.focus != focusPods {
		t.Fatalf("esc left focus at %v", m.focus)
	}
}

// TestEnterFromEventsOpensDetail: enter over the events pane (focused by
// a key or a click on its tab) opens the selected pod, as from the table,
// whatever the events' scope; esc goes back to the events pane.
func TestEnterFromEventsOpensDetail(t *testing.T) {
	for _, keys := range [][]string{{"3"}, {"3", "e"}} {
		m, fa := newTestModel(t, 120, 48, seedBatch())
		press(t, m, "down", "down")
		press(t, m, keys...)
		if m.focus != focusEvents {
			t.Fatalf("%v: focus %v, want the events pane", keys, m.focus)
		}
		press(t, m, "enter")
		if m.focus != focusDetail || m.detail.key != "default/prober-foo-67b66bdbf7-hw78w" {
			t.Fatalf("%v then enter: focus %v on %q, want the detail of the selected pod", keys, m.focus, m.detail.key)
		}
		if got := fa.Calls(); len(got) != 1 || got[0].Action != "info" {
			t.Fatalf("%v then enter called %v, want info", keys, got)
		}
		mustContain(t, screen(t, m), "POD default/prober-foo-67b66bdbf7-hw78w")
		press(t, m, "esc")
		if m.focus != focusEvents {
			t.Fatalf("%v: esc from detail went to %v, want the events pane", keys, m.focus)
		}
	}
}

func TestPanesAndHelpKeys(t *testing.T) {
	m, _ := newTestModel(t, 100, 30, seedBatch())
	steps := []struct {
		key  string
		want focus
		text string
	}{
		{"tab", focusTimeline, "5m→now: █ ready ░ not ready ! probe failed K killed R restarted X you crashed"},
		{"tab", focusEvents, "EVENTS for"},
		{"tab", focusOutput, "OUTPUT  0 results"},
		{"tab", focusRollout, "ROLLOUT"},
		{"tab", focusPods, "PODS 4"},
		{"shift+tab", focusRollout, "ROLLOUT"},
		{"3", focusEvents, "EVENTS"},
		{"?", focusHelp, "KEYS"},
		{"?", focusEvents, "EVENTS"},
		{"1", focusPods, "PODS"},
	}
	for _, st := range steps {
		press(t, m, st.key)
		if m.focus != st.want {
			t.Fatalf("after %q focus is %v, want %v", st.key, m.focus, st.want)
		}
		mustContain(t, screen(t, m), st.text)
	}
	// With --mouse the wheel moves like the arrows.
	press(t, m, "1")
	m.Update(tea.MouseMsg{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown})
	if m.pods.cursor != 1 {
		t.Fatalf("wheel down left the cursor at %d", m.pods.cursor)
	}
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q does not quit")
	}
}

// TestEverySizeFits draws every pane at many sizes: each line must be
// exactly the terminal's width and the view exactly its height.
func TestEverySizeFits(t *testing.T) {
	b := seedBatch()
	// A long name and message must be cut, not wrapped.
	long := pod(strings.Repeat("very-long-pod-name-", 8)+"x", t0.Add(-time.Hour))
	long.Status.Conditions[0].Message = strings.Repeat("message ", 50)
	b.Deltas = append(b.Deltas, podDelta(long), event("long", long.Name, "Warning", "Unhealthy", strings.Repeat("probe failed ", 40), 1, t0))
	for _, w := range []int{40, 60, 80, 81, 100, 120, 160, 200} {
		for _, h := range []int{10, 24, 48} {
			m, _ := newTestModel(t, w, h, b)
			for _, k := range []string{"2", "3", "4", "5", "h", "l", "1", "enter", "esc", "?", "?", "/", "a"} {
				press(t, m, k)
				screen(t, m)
			}
		}
	}
	m, _ := newTestModel(t, 30, 8, b)
	mustContain(t, ansi.Strip(m.View()), "terminal is 30x8")
}

func TestResultBodyIsSanitized(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, seedBatch())
	m.Update(resultMsg{res: kube.Result{Action: "healthz", Code: 200, Body: "ok\x1b[2J\tdone\r\nline2"}})
	press(t, m, "4")
	s := screen(t, m)
	mustContain(t, s, "ok done", "line2")
}

func TestEventTimeAndCount(t *testing.T) {
	series := &corev1.Event{Series: &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(t0)}, Count: 2, LastTimestamp: metav1.NewTime(t0.Add(-time.Hour))}
	if got := kube.EventCount(series); got != 7 {
		t.Errorf("series count %d, want 7", got)
	}
	if got := kube.EventTime(series); !got.Equal(t0) {
		t.Errorf("series time %v", got)
	}
	bare := &corev1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0)}}
	if kube.EventCount(bare) != 1 || !kube.EventTime(bare).Equal(t0) {
		t.Errorf("bare event: %d %v", kube.EventCount(bare), kube.EventTime(bare))
	}
}

func TestParseInterval(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10", 10 * time.Second, false},
		{"10s", 10 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"500ms", 0, true},
		{"-5", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseInterval(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseInterval(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"\x1b[1mbold\x1b[0m", 6, "bold  "},
		{"prober-foo-67b66bdbf7-4bxjb", 12, "prober…4bxjb"},
	}
	for _, tt := range tests {
		f := fit
		if strings.HasPrefix(tt.in, "prober") {
			f = fitMiddle
		}
		got := f(tt.in, tt.w)
		if ansi.Strip(got) != tt.want || ansi.StringWidth(got) != tt.w {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	h := &history{}
	for i := range 3 * maxHistory {
		h.add(t0.Add(time.Duration(i)*time.Millisecond), markProbe)
		h.setReady(t0.Add(time.Duration(i)*time.Millisecond), i%2 == 0)
	}
	if len(h.marks) > maxHistory+maxHistory/4 || len(h.readiness) > maxHistory+maxHistory/4 {
		t.Fatalf("history grew to %d marks, %d changes; want %d each", len(h.marks), len(h.readiness), maxHistory)
	}
	// The newest are kept.
	if last := h.marks[len(h.marks)-1].at; !last.Equal(t0.Add(time.Duration(3*maxHistory-1) * time.Millisecond)) {
		t.Fatalf("newest mark %v was dropped", last)
	}
}

// TestResortMatchesFullSort checks the incremental re-sort against a full
// sort over many random batches.
func TestResortMatchesFullSort(t *testing.T) {
	for _, by := range []sortKey{sortRestarts, sortStatus} {
		pods := benchPods(300)
		first := kube.Batch{Synced: true}
		for _, p := range pods {
			first.Deltas = append(first.Deltas, podDelta(p))
		}
		m, _ := newTestModel(t, 80, 24, first)
		m.pods.sort = by
		m.pods.rebuild(m.state, true, 0)
		rng := rand.New(rand.NewPCG(1, 2))
		for round := range 50 {
			var b kube.Batch
			for range 1 + rng.IntN(40) {
				p := pods[rng.IntN(len(pods))].DeepCopy()
				p.Status.ContainerStatuses[0].RestartCount = int32(rng.IntN(5))
				if rng.IntN(3) == 0 {
					crashLoop()(p)
				}
				b.Deltas = append(b.Deltas, podDelta(p))
			}
			m.Update(batchMsg(b))
			got := names(m)
			m.pods.sortRows()
			if want := names(m); !slices.Equal(got, want) {
				t.Fatalf("sort %s round %d: incremental order differs from a full sort", by, round)
			}
		}
	}
}

// resultLines are the output pane's lines under the results' headlines
// (indented by four), trimmed.
func resultLines(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "    ") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func TestOutputWrapsErrors(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, seedBatch())
	long := `crash default/p: GET /crash answered 503 Service Unavailable: error trying to reach service: dial tcp 10.1.0.1:80: connect: no route to host`
	m.Update(resultMsg{res: kube.Result{Action: "crash", Target: kube.Target{Namespace: "default", Pod: "p"}, Err: errors.New(long)}})
	press(t, m, "4")
	s := screen(t, m)
	joined := resultLines(s)
	if got := strings.Join(joined, " "); !strings.Contains(got, long) {
		t.Fatalf("the whole error is not readable in the output pane:\n%s", s)
	}
	mustContain(t, s, "crash default/p → FAILED")
	// The status line gives the reason at once, not the action and pod
	// the error repeats.
	mustContain(t, s, "crash p → FAILED: GET /crash answered 503")
}

func TestAllNamespacesShowsNamespace(t *testing.T) {
	fa := &fakeActions{}
	m := newModel(t.Context(), Options{Source: newFakeSource(), Actions: fa, Now: fixedNow}, false, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	a, b := pod("web-0", t0), pod("web-0", t0)
	b.Namespace = "other"
	m.Update(batchMsg(kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(a), podDelta(b)}}))
	s := screen(t, m)
	mustContain(t, s, "ns (all)", "NAMESPACE", "default      web-0", "other        web-0")
	press(t, m, "down", "c")
	if got := fa.Calls(); len(got) != 1 || got[0].Target != (kube.Target{Namespace: "other", Pod: "web-0"}) {
		t.Fatalf("crash went to %v, want other/web-0", got)
	}
}

func TestRolloutEndpoints(t *testing.T) {
	b := seedBatch()
	sl := slice(ep{"a-ready", true}, ep{"b-not-ready", false})
	es := sl.Obj.(*discoveryv1.EndpointSlice)
	// A nil Ready means ready (k8s.io/api/discovery/v1); a terminating
	// endpoint that still serves gets no new traffic.
	es.Endpoints = append(es.Endpoints,
		discoveryv1.Endpoint{Addresses: []string{"10.44.0.9"}, TargetRef: &corev1.ObjectReference{Name: "c-nil-ready"}},
		discoveryv1.Endpoint{Addresses: []string{"10.44.0.8"}, TargetRef: &corev1.ObjectReference{Name: "d-terminating"},
			Conditions: discoveryv1.EndpointConditions{Ready: boolp(false), Serving: boolp(true), Terminating: boolp(true)}})
	b.Deltas = append(b.Deltas, sl)
	m, _ := newTestModel(t, 120, 40, b)
	press(t, m, "5")
	mustContain(t, screen(t, m),
		"→ traffic to 2 of 4 endpoints",
		"+ a-ready", "- b-not-ready", "not ready: no traffic",
		"+ c-nil-ready", "- d-terminating", "terminating, still serving",
		"2   prober-foo-764cf9f454      1.0.2          1     0     0  newest",
	)
}

func TestLoadingShowsWhyNotSynced(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, kube.Batch{Conn: &kube.Conn{State: kube.Forbidden,
		Detail: `list pods: pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "default"`}})
	mustContain(t, screen(t, m), "Loading", "(forbidden)", `cannot list resource "pods"`, `in the namespace "default"`)
}

// TestNoColor: with colour off (NO_COLOR) the screen carries no colour
// codes even on a true-colour terminal, and the markers still say it all.
func TestNoColor(t *testing.T) {
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	for _, color := range []bool{true, false} {
		m := newModel(t.Context(), Options{Source: newFakeSource(), Actions: &fakeActions{}, Namespace: "default", Now: fixedNow}, color, nil)
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		m.Update(batchMsg(seedBatch()))
		press(t, m, "2")
		v := m.View()
		hasColor := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|38;|48;)[0-9;]*m`).MatchString(v)
		if hasColor != color {
			t.Errorf("color=%v: colour codes present = %v", color, hasColor)
		}
		mustContain(t, ansi.Strip(v), "CrashLoopBackOff", "0/1", "KR", ">  prober-foo")
	}
}

func TestEventBeforeItsPodInOneBatch(t *testing.T) {
	p := pod("p", t0.Add(-time.Minute))
	m, _ := newTestModel(t, 80, 24, kube.Batch{Synced: true, Deltas: []kube.Delta{
		event("ev", "p", "Warning", "Unhealthy", "Readiness probe failed", 1, t0.Add(-10*time.Second)),
		podDelta(p),
	}})
	h := m.state.hist["default/p"]
	if h == nil || len(h.marks) != 1 || h.marks[0].kind != markProbe {
		t.Fatalf("the probe failure listed before its pod was lost: %+v", h)
	}
}

// TestDetailRewrapsOnResize: the detail view wraps the probe timings to
// the width, so a resize while it is open wraps them again rather than
// cutting them.
func TestDetailRewrapsOnResize(t *testing.T) {
	m, _ := newTestModel(t, 160, 48, seedBatch())
	press(t, m, "enter")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 48})
	s := screen(t, m)
	mustContain(t, s, "defaults: period, timeout)")
	if strings.Contains(s, "(Kubernet…") {
		t.Fatalf("probe timings cut instead of wrapped after the resize:\n%s", s)
	}
}

// TestEventBeforeItsPodInEarlierBatch: events and pods come from different
// informers, so a probe failure can arrive batches before its pod; it is
// drawn on the pod's timeline once the pod appears.
func TestEventBeforeItsPodInEarlierBatch(t *testing.T) {
	p := pod("late", t0.Add(-time.Minute), ready(t0.Add(-50*time.Second)))
	p.UID = "uid-late"
	ev := event("ev", "late", "Warning", "Unhealthy", "Readiness probe failed", 1, t0.Add(-10*time.Second))
	ev.Obj.(*corev1.Event).InvolvedObject.UID = "uid-late"
	kill := event("ev-old", "late", "Normal", "Killing", "Container prober-foo failed liveness probe", 1, t0.Add(-20*time.Second))
	kill.Obj.(*corev1.Event).InvolvedObject.UID = "uid-of-an-earlier-pod-named-late"
	m, _ := newTestModel(t, 160, 48, seedBatch(), kube.Batch{Deltas: []kube.Delta{ev, kill}})
	if h := m.state.hist["default/late"]; h != nil {
		t.Fatalf("a history for a pod not seen yet: %+v", h)
	}
	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{podDelta(p)}}))
	h := m.state.hist["default/late"]
	if h == nil || len(h.marks) != 1 || h.marks[0].kind != markProbe || !h.marks[0].at.Equal(t0.Add(-10*time.Second)) {
		t.Fatalf("want the probe failure, and only it, on the late pod's timeline: %+v", h)
	}
	if len(m.state.pending) != 0 {
		t.Fatalf("marks still pending after their pod came: %v", m.state.pending)
	}
	if l := rowLine(t, m.View(), "late "); !strings.Contains(l, "!") {
		t.Fatalf("the row's strip does not show the probe failure: %q", l)
	}
}

// TestPendingMarksAreBounded: marks for pods that never come are kept for
// the timeline window only and for at most pendingPods pods.
func TestPendingMarksAreBounded(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, seedBatch())
	var b kube.Batch
	for i := range pendingPods + 100 {
		b.Deltas = append(b.Deltas, event(fmt.Sprintf("ev%d", i), fmt.Sprintf("gone-%d", i), "Warning", "Unhealthy", "probe failed", 1,
			t0.Add(-timelineWindow+time.Duration(i)*time.Millisecond)))
	}
	m.Update(batchMsg(b))
	if n := len(m.state.pending); n != pendingPods {
		t.Fatalf("%d pods with pending marks, want the bound %d", n, pendingPods)
	}
	if _, ok := m.state.pending["default/gone-0"]; ok {
		t.Fatal("the oldest pending pod was kept and a newer one dropped")
	}
	if _, ok := m.state.pending[fmt.Sprintf("default/gone-%d", pendingPods+99)]; !ok {
		t.Fatal("the newest pending pod was dropped")
	}
	m.state.pruneAll(t0.Add(2 * time.Second)) // past the newest mark by more than the window
	if n := len(m.state.pending); n != 0 {
		t.Fatalf("%d pods keep marks older than the timeline window", n)
	}
}

// TestEventAboutAnEarlierPodOfTheSameName: a pod deleted and created again
// under its name (a StatefulSet's, a bare pod applied again) is a new pod;
// the kill of the old one, whose event often comes after the new pod, is
// not drawn on the new one's timeline, whether the new pod came before the
// event or after it.
func TestEventAboutAnEarlierPodOfTheSameName(t *testing.T) {
	newPod := pod("web-0", t0.Add(-5*time.Second))
	newPod.UID = "uid-new"
	kill := event("ev-kill", "web-0", "Normal", "Killing", "Stopping container prober-foo", 1, t0.Add(-2*time.Second))
	kill.Obj.(*corev1.Event).InvolvedObject.UID = "uid-old"
	for _, tc := range []struct {
		name    string
		batches []kube.Batch
	}{
		{"pod first", []kube.Batch{{Deltas: []kube.Delta{podDelta(newPod)}}, {Deltas: []kube.Delta{kill}}}},
		{"event first", []kube.Batch{{Deltas: []kube.Delta{kill}}, {Deltas: []kube.Delta{podDelta(newPod)}}}},
		{"one batch", []kube.Batch{{Deltas: []kube.Delta{kill, podDelta(newPod)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestModel(t, 160, 48, append([]kube.Batch{seedBatch()}, tc.batches...)...)
			h := m.state.hist["default/web-0"]
			if h == nil {
				t.Fatal("no timeline for web-0")
			}
			if len(h.marks) != 0 {
				t.Fatalf("the old pod's kill is on the new pod's timeline: %+v", h.marks)
			}
		})
	}
}

// TestEventScopeShowsEvents: e changes which events the events pane
// lists, so it shows that pane, whichever pane was under the table.
func TestEventScopeShowsEvents(t *testing.T) {
	tests := []struct {
		name      string
		keys      []string
		wantFocus focus
	}{
		{"from the table over the rollout", []string{"5", "1", "e"}, focusPods},
		{"from the output pane", []string{"h", "4", "e"}, focusEvents},
		{"from the timeline", []string{"2", "e"}, focusEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestModel(t, 120, 30, seedBatch())
			press(t, m, tt.keys...)
			if m.lower != focusEvents || m.focus != tt.wantFocus {
				t.Fatalf("after %v: lower pane %s, focus %d; want events, focus %d", tt.keys, paneNames[m.lower], m.focus, tt.wantFocus)
			}
			mustContain(t, screen(t, m), "EVENTS (all pods)")
			press(t, m, "e")
			mustContain(t, screen(t, m), "EVENTS for default/prober-foo-67b66bdbf7-4bxjb")
		})
	}
}

// TestCrashSkipsMarksTheFilterHides: c fires only at marked pods on
// screen, and says how many marked ones the filter hides.
func TestCrashSkipsMarksTheFilterHides(t *testing.T) {
	tests := []struct {
		name    string
		filter  string
		want    []string
		wantMsg []string
	}{
		{"filter shows no pod", "nothing-matches", nil,
			[]string{"marked:2 (2 hidden by the filter)", "2 marked pods hidden by the filter: not crashed"}},
		{"filter shows one marked pod", "7dnzd", []string{"prober-foo-67b66bdbf7-7dnzd"},
			[]string{"marked:2 (1 hidden by the filter)", "1 marked pod hidden by the filter: not crashed"}},
		{"no filter", "", []string{"prober-foo-67b66bdbf7-4bxjb", "prober-foo-67b66bdbf7-7dnzd"}, []string{"marked:2  "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, fa := newTestModel(t, 160, 30, seedBatch())
			press(t, m, "space", "space") // marks 4bxjb and 7dnzd
			if tt.filter != "" {
				press(t, m, "/")
				for _, r := range tt.filter {
					press(t, m, string(r))
				}
				press(t, m, "enter")
			}
			press(t, m, "c")
			var got []string
			for _, c := range fa.Calls() {
				got = append(got, c.Target.Pod)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("crashed %v, want %v", got, tt.want)
			}
			press(t, m, "4")
			mustContain(t, screen(t, m), tt.wantMsg...)
			if tt.want == nil {
				if strings.Contains(screen(t, m), "no pod selected") {
					t.Error("says no pod selected when marks are hidden")
				}
			}
		})
	}
}

// TestChaosStopSays: stopping chaos says so, with what it did, in the
// status line and the output pane.
func TestChaosStopSays(t *testing.T) {
	now := t0
	m, _ := newTestModel(t, 120, 30, seedBatch())
	m.now = func() time.Time { return now }
	press(t, m, "C", "3", "enter")
	for range 2 {
		_, cmd := m.Update(chaosMsg{gen: m.chaos.gen})
		runCmd(m, cmd)
	}
	now = now.Add(7 * time.Second)
	press(t, m, "C")
	s := screen(t, m)
	lines := strings.Split(s, "\n")
	if status := lines[len(lines)-2]; !strings.Contains(status, "chaos stopped: 2 crashes in 7s, one every 3s") {
		t.Fatalf("status line %q does not say chaos stopped:\n%s", status, s)
	}
	press(t, m, "4")
	mustContain(t, screen(t, m), "12:00:07 chaos stopped: 2 crashes in 7s, one every 3s", "OUTPUT  3 results")
}

// TestOutputWrapsBodies: a long body line (a resolve error as the probe
// server answers it) wraps like errors do, in the output pane and in the
// detail view; a long body says how much is left.
func TestOutputWrapsBodies(t *testing.T) {
	long := `Error: lookup checkip.dyndns.org on 10.96.0.10:53: read udp 10.44.0.3:41234->10.96.0.10:53: i/o timeout (after 5s, 3 attempts)`
	m, _ := newTestModel(t, 80, 30, seedBatch())
	m.Update(resultMsg{res: kube.Result{Action: "resolve", Target: kube.Target{Namespace: "default", Pod: "p"}, Code: 500, Body: long + "\n"}})
	m.Update(resultMsg{res: kube.Result{Action: "healthz", Target: kube.Target{Namespace: "default", Pod: "p"}, Code: 200,
		Body: strings.Repeat("line\n", 20)}})
	press(t, m, "4")
	s := screen(t, m)
	joined := resultLines(s)
	// Wrapping breaks at spaces and hyphens: compare without spaces.
	if got := strings.Join(joined, ""); !strings.Contains(strings.ReplaceAll(got, " ", ""), strings.ReplaceAll(long, " ", "")) {
		t.Fatalf("the whole body is not readable in the output pane:\n%s", s)
	}
	mustContain(t, s, "OUTPUT  2 results", "… 13 more lines")
	if strings.Contains(s, "i/o…") || strings.Contains(s, "53: r…") {
		t.Errorf("body cut instead of wrapped:\n%s", s)
	}
}

// TestDetailWrapsInfo: a long /info value wraps in the detail view.
func TestDetailWrapsInfo(t *testing.T) {
	m, _ := newTestModel(t, 80, 40, seedBatch())
	press(t, m, "enter")
	val := strings.Repeat("abcdefghij ", 12) + "END"
	m.Update(resultMsg{res: kube.Result{Action: "info", Code: 200, Body: `{"content":"` + val + `"}`}, detail: m.detail.key})
	press(t, m, "G")
	mustContain(t, screen(t, m), "END")
}

// TestChaosAndRolloutBothInHeader: the trainer's moment, chaos during a
// rollout on a 100-column screen: the header shows both, whole.
func TestChaosAndRolloutBothInHeader(t *testing.T) {
	m, _ := newTestModel(t, 100, 30, seedBatch())
	press(t, m, "C", "enter")
	if !m.chaos.on {
		t.Fatalf("chaos did not start: %+v", m.chaos)
	}
	mustContain(t, screen(t, m), "CHAOS every 10s (C stops): 0 crashed", "rollout prober-foo 1/3 updated")
}

// TestChaosWaitsForAReadyPod: a tick with no ready pod crashes nothing, and
// the header says chaos waits (pods still starting in the seed's first
// 15 s), instead of looking stuck; the next crash clears it.
func TestChaosWaitsForAReadyPod(t *testing.T) {
	c := t0.Add(-time.Minute)
	m, fa := newTestModel(t, 120, 30, kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(pod("a", c))}})
	press(t, m, "C", "enter")
	_, cmd := m.Update(chaosMsg{gen: m.chaos.gen})
	runCmd(m, cmd)
	if len(fa.Calls()) != 0 {
		t.Fatalf("chaos crashed with no ready pod: %v", fa.Calls())
	}
	mustContain(t, screen(t, m), "CHAOS every 10s (C stops): 0 crashed, no pod ready")
	m.Update(batchMsg(kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(pod("a", c, ready(t0)))}}))
	_, cmd = m.Update(chaosMsg{gen: m.chaos.gen})
	runCmd(m, cmd)
	s := screen(t, m)
	mustContain(t, s, "CHAOS every 10s (C stops): 1 crashed")
	if strings.Contains(s, "no pod ready") {
		t.Errorf("still waiting after a crash:\n%s", s)
	}
}

// TestDetailShowsRestartPolicies: why an exited container stays down (the
// pod's restartPolicy Never) or restarts anyway (its own rules).
func TestDetailShowsRestartPolicies(t *testing.T) {
	never := corev1.ContainerRestartPolicyNever
	p := pod("once", t0.Add(-time.Minute))
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Containers[0].RestartPolicy = &never
	p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{
		Action:    corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}},
	}}
	q := pod("seed", t0.Add(-time.Minute))
	q.Spec.RestartPolicy = corev1.RestartPolicyAlways
	tests := []struct {
		name     string
		pod      *corev1.Pod
		want     []string
		notWants []string
	}{
		{"Never, with a rule", p, []string{"phase Running   restartPolicy Never", "restartPolicy Never, except Restart on exit code In [42]"}, nil},
		{"Always: not worth a word", q, nil, []string{"restartPolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestModel(t, 120, 48, kube.Batch{Synced: true, Deltas: []kube.Delta{podDelta(tt.pod)}})
			press(t, m, "enter")
			s := screen(t, m)
			mustContain(t, s, tt.want...)
			for _, n := range tt.notWants {
				if strings.Contains(s, n) {
					t.Errorf("screen has %q:\n%s", n, s)
				}
			}
		})
	}
}
