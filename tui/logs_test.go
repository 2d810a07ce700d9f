package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube"
)

// TestLogChoice: l shows the instance that says why a pod restarted, L the
// other one, and the hint says which one is shown.
func TestLogChoice(t *testing.T) {
	c := t0.Add(-5 * time.Minute)
	stopped := func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "Error", ExitCode: 1, FinishedAt: metav1.NewTime(t0)}}
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		other    bool
		wantPrev bool
		wantHint []string
	}{
		{"restarted and running: the one before", pod("a", c, restarts(3, t0.Add(-38*time.Second))), false, true,
			[]string{"the instance before the last restart (restarted 3 times)", "it ended Error, exit code 2, at ", "L shows the current one"}},
		{"restarted, L: the current one", pod("a", c, restarts(3, t0.Add(-38*time.Second))), true, false,
			[]string{"the current instance, started after the last restart (restarted 3 times); l shows the one before"}},
		{"crash loop: the one before", pod("a", c, restarts(1, t0), crashLoop()), false, true,
			[]string{"the instance before the last restart (restarted 1 time)", "L shows the current one"}},
		{"crash loop, L: the waiting one", pod("a", c, restarts(1, t0), crashLoop()), true, false,
			[]string{"the current instance, waiting (CrashLoopBackOff) after the last restart (restarted 1 time), so there may be none yet; l shows the one before"}},
		{"never restarted: the current one", pod("a", c), false, false,
			[]string{"the current instance; it has not restarted"}},
		{"never restarted, L: the previous, which may not exist", pod("a", c), true, true,
			[]string{"it has not restarted, so there may be none; l shows the current one"}},
		{"stopped, not started again: its own log", pod("a", c, restarts(2, t0.Add(-time.Minute)), stopped), false, false,
			[]string{"the current instance, which ended Error, exit code 1", "L shows the one before"}},
		{"exited, never restarted: the only one", pod("a", c, stopped), false, false,
			[]string{"the current instance, which ended Error, exit code 1", "it never restarted, so it is the only one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, hint := logChoice(tt.pod, tt.other)
			if prev != tt.wantPrev {
				t.Errorf("previous = %v, want %v", prev, tt.wantPrev)
			}
			for _, w := range tt.wantHint {
				if !strings.Contains(hint, w) {
					t.Errorf("hint %q lacks %q", hint, w)
				}
			}
		})
	}
}

// TestLogsKey: l fires Logs at the selected pod (in the detail view, at the
// pod shown) and shows the result, wrapped, in the output pane.
func TestLogsKey(t *testing.T) {
	target := func(pod string) kube.Target { return kube.Target{Namespace: "default", Pod: pod} }
	tests := []struct {
		name      string
		keys      []string
		want      []call
		wantFocus focus
		wantText  []string
	}{
		{"restarted pod: previous", []string{"l"}, []call{{"logs", target("prober-foo-67b66bdbf7-4bxjb"), "previous"}}, focusPods,
			[]string{"logs default/prober-foo-67b66bdbf7-4bxjb → 200 in 4ms", "the instance before the last restart (restarted 3 times)",
				"container prober-foo, previous instance", `level=ERROR msg="crashing on start"`}},
		{"restarted pod, L: current", []string{"L"}, []call{{"logs", target("prober-foo-67b66bdbf7-4bxjb"), "current"}}, focusPods,
			[]string{"l shows the one before"}},
		{"fresh pod: current", []string{"G", "l"}, []call{{"logs", target("prober-foo-764cf9f454-5pqcx"), "current"}}, focusPods,
			[]string{"it has not restarted"}},
		{"from the detail view", []string{"down", "down", "enter", "l"}, []call{{"logs", target("prober-foo-67b66bdbf7-hw78w"), "previous"}}, focusPods,
			[]string{"logs default/prober-foo-67b66bdbf7-hw78w"}},
		{"from the events pane", []string{"3", "l"}, []call{{"logs", target("prober-foo-67b66bdbf7-4bxjb"), "previous"}}, focusOutput, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, fa := newTestModel(t, 100, 40, seedBatch())
			press(t, m, tt.keys...)
			got := slices.DeleteFunc(fa.Calls(), func(c call) bool { return c.Action == "info" })
			if !slices.Equal(got, tt.want) {
				t.Fatalf("calls %v, want %v", got, tt.want)
			}
			if m.focus != tt.wantFocus || m.lower != focusOutput {
				t.Errorf("focus %d, lower pane %s; want focus %d and the output pane", m.focus, paneNames[m.lower], tt.wantFocus)
			}
			s := screen(t, m)
			mustContain(t, s, tt.wantText...)
			// The log line is longer than the pane: it wraps, whole.
			mustContain(t, strings.Join(strings.Fields(s), " "), `reason="CRASH_FACTOR=100 rolled 37 (crashes below 100)" exit_code=2`)
		})
	}
}

// TestLogsLongOpensOnTheEnd: a log longer than the pane opens on its last
// lines, where a crash's reason is, and the title says there is more.
func TestLogsLongOpensOnTheEnd(t *testing.T) {
	m, _ := newTestModel(t, 80, 24, seedBatch())
	var b strings.Builder
	for i := range 150 {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("\n")
	}
	b.WriteString("panic: the last words\n")
	m.lower = focusOutput
	m.Update(resultMsg{res: kube.Result{Action: "logs", Target: kube.Target{Namespace: "default", Pod: "p"}, Code: 200, Body: b.String()}})
	s := screen(t, m)
	mustContain(t, s, "panic: the last words", "↑ earlier")
	_, _ = m.Update(tea.KeyMsg{Type: tea.KeyTab}) // timeline
	press(t, m, "4", "g")
	mustContain(t, screen(t, m), "logs default/p → 200")
}

func TestNoPodLogs(t *testing.T) {
	m, fa := newTestModel(t, 80, 24, kube.Batch{Synced: true})
	press(t, m, "l", "L")
	if len(fa.Calls()) != 0 {
		t.Fatalf("logs fired with no pod: %v", fa.Calls())
	}
	mustContain(t, screen(t, m), "logs → FAILED: no pod selected")
}
