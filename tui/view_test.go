package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/proberctl/proberctl/kube"
)

// newTestModel is the root model on fakes at a fixed clock, sized w x h,
// with the given batches applied.
func newTestModel(t testing.TB, w, h int, batches ...kube.Batch) (*model, *fakeActions) {
	t.Helper()
	fa := &fakeActions{}
	m := newModel(context.Background(), Options{
		Source: newFakeSource(), Actions: fa, Context: "kind-lab", Namespace: "default", Selector: "app=prober-foo",
		Now: fixedNow,
	}, true, nil)
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	for _, b := range batches {
		m.Update(batchMsg(b))
	}
	return m, fa
}

// screen is the plain text of the view, checked for size on the way.
func screen(t testing.TB, m *model) string {
	t.Helper()
	v := ansi.Strip(m.View())
	lines := strings.Split(v, "\n")
	if len(lines) != m.h {
		t.Fatalf("view has %d lines, want %d (the terminal height)", len(lines), m.h)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != m.w {
			t.Fatalf("line %d is %d cells wide, want %d: %q", i+1, w, m.w, l)
		}
	}
	return v
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// press sends keys and runs the commands they return, except the ones that
// wait (source, clock), so action results land before the next key.
func press(t testing.TB, m *model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		runCmd(m, cmd)
	}
}

func runCmd(m *model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			runCmd(m, c)
		}
	case resultMsg, filterChangedMsg:
		_, next := m.Update(msg)
		runCmd(m, next)
	}
}

// TestGolden pins whole screens at the two sizes the issue names, in each
// pane, so a layout change is a reviewed diff. Regenerate with -update.
func TestGolden(t *testing.T) {
	sizes := []struct{ w, h int }{{80, 24}, {160, 48}}
	views := []struct {
		name string
		keys []string
	}{
		{"events", nil},
		{"timeline", []string{"2"}},
		{"output", []string{"h", "4"}},
		{"logs", []string{"down", "down", "l"}},
		{"rollout", []string{"5"}},
		{"detail", []string{"down", "down", "enter"}},
		{"help", []string{"?"}},
		{"loading", nil},
	}
	for _, sz := range sizes {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, sz.w, sz.h), func(t *testing.T) {
				var m *model
				if v.name == "loading" {
					m, _ = newTestModel(t, sz.w, sz.h, kube.Batch{Conn: &kube.Conn{State: kube.Connecting}})
				} else {
					m, _ = newTestModel(t, sz.w, sz.h, seedBatch())
				}
				press(t, m, v.keys...)
				golden.RequireEqual(t, []byte(screen(t, m)))
			})
		}
	}
}
