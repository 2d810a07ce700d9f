package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

// TestNoticesOpenTheOutputPane: what the caller says before the first
// screen (the lab's skipped manifests) is in the output pane, whole, and
// the status line, not lost on stderr under the alternate screen.
func TestNoticesOpenTheOutputPane(t *testing.T) {
	skipped := `skipped ConfigMap "settings" (v1) in app/config.yaml: the lab does not run this kind`
	builtIn := "demo/foo-1.0.1.yaml is not in /home/someone: read the copy built into proberctl"
	m := newModel(context.Background(), Options{
		Source: newFakeSource(), Actions: &fakeActions{}, Context: "lab", Namespace: "default",
		Now: fixedNow, Notices: []string{builtIn, skipped},
	}, false, nil)
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(batchMsg(seedBatch()))

	if m.lower != focusOutput {
		t.Fatalf("the pane under the table is %v, want the output pane", m.lower)
	}
	s := screen(t, m)
	// At 80 columns the notice wraps: its words are all there, in order.
	flat := strings.Join(strings.Fields(s), " ")
	for _, n := range []string{skipped, builtIn} {
		if !strings.Contains(flat, n) {
			t.Errorf("the screen lacks the notice %q:\n%s", n, s)
		}
	}
	if strings.Index(flat, skipped) > strings.Index(flat, builtIn) {
		t.Errorf("the newest notice is not first:\n%s", s)
	}
	// The status line (the second last) shows the newest.
	lines := strings.Split(s, "\n")
	mustContain(t, lines[len(lines)-2], "skipped ConfigMap")
}

// TestApplyWarningsStayInView: an apply opens the rollout it starts, but
// one that warns (a kind the lab skipped) keeps the output pane, where its
// "see the warnings" points, as does one that starts no rollout.
func TestApplyWarningsStayInView(t *testing.T) {
	tests := []struct {
		name string
		body string
		want focus
	}{
		{"clean apply: the rollout", "deployment.apps/prober-foo configured\n", focusRollout},
		{"a warning: the output", "deployment.apps/withcm created\nWarning: skipped ConfigMap \"cfg\" (v1) in dir/cm.yaml: the lab does not run this kind\n", focusOutput},
		{"no Deployment, no rollout: the output", "pod/elsewhere created\n", focusOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestModel(t, 100, 30, seedBatch())
			m.lower = focusOutput
			m.Update(resultMsg{res: kube.Result{Action: "apply", Code: 200, Body: tt.body}})
			if m.lower != tt.want {
				t.Errorf("the pane under the table is %s, want %s", paneNames[m.lower], paneNames[tt.want])
			}
		})
	}
}
