package tui

import (
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

// TestPromptPrefillReplacedByTyping: a prompt opens with a suggested value
// (the last apply path, the chaos interval, the first Service); the first
// printable key replaces it, an editing key keeps it for editing, enter
// takes it as it is.
func TestPromptPrefillReplacedByTyping(t *testing.T) {
	sel := kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-4bxjb"}
	left := tea.KeyMsg{Type: tea.KeyLeft}
	ctrlE := tea.KeyMsg{Type: tea.KeyCtrlE}
	back := tea.KeyMsg{Type: tea.KeyBackspace}
	paste := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("demo/pasted.yaml"), Paste: true}
	tests := []struct {
		name string
		keys []any // string for press, tea.KeyMsg sent as is
		want []call
	}{
		{"apply: typing after a failed apply replaces the old path",
			[]any{"a", "/", "n", "o", "enter", "a", "d", "e", "m", "o", "/", "f", ".", "y", "a", "m", "l", "enter"},
			[]call{{"apply", kube.Target{}, "/no"}, {"apply", kube.Target{}, "demo/f.yaml"}}},
		{"apply: enter keeps the suggestion",
			[]any{"a", "x", "enter", "a", "enter"},
			[]call{{"apply", kube.Target{}, "x"}, {"apply", kube.Target{}, "x"}}},
		{"apply: ctrl+e then typing appends",
			[]any{"a", "x", "enter", "a", ctrlE, "2", "enter"},
			[]call{{"apply", kube.Target{}, "x"}, {"apply", kube.Target{}, "x2"}}},
		{"apply: backspace edits the suggestion",
			[]any{"a", "x", "y", "enter", "a", back, "z", "enter"},
			[]call{{"apply", kube.Target{}, "xy"}, {"apply", kube.Target{}, "xz"}}},
		{"apply: a paste replaces the suggestion",
			[]any{"a", "x", "enter", "a", paste, "enter"},
			[]call{{"apply", kube.Target{}, "x"}, {"apply", kube.Target{}, "demo/pasted.yaml"}}},
		{"resolve: typing replaces the default Service",
			[]any{"r", "k", "u", "b", "e", "-", "d", "n", "s", "enter"},
			[]call{{"resolve", sel, "kube-dns"}}},
		{"resolve: left arrow then typing inserts",
			[]any{"r", left, left, left, "x", "enter"},
			[]call{{"resolve", sel, "foo-nodeport-xsvc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, fa := newTestModel(t, 120, 30, seedBatch())
			for _, k := range tt.keys {
				switch k := k.(type) {
				case string:
					press(t, m, k)
				case tea.KeyMsg:
					_, cmd := m.Update(k)
					runCmd(m, cmd)
				}
			}
			if got := fa.Calls(); !slices.Equal(got, tt.want) {
				t.Fatalf("calls %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPromptChaosPrefill(t *testing.T) {
	m, _ := newTestModel(t, 120, 30, seedBatch())
	press(t, m, "C")
	mustContain(t, screen(t, m), "every: 10s", "enter ok • esc cancel • type replace • ←/→ edit")
	press(t, m, "3")
	// The hint goes once the suggestion is replaced.
	s := screen(t, m)
	mustContain(t, s, "every: 3")
	if strings.Contains(s, "type replace") {
		t.Errorf("the help still says typing replaces:\n%s", s)
	}
	if m.prompt.input.Value() != "3" {
		t.Fatalf("typing 3 over the suggested 10s gave %q, want 3", m.prompt.input.Value())
	}
	press(t, m, "enter")
	if !m.chaos.on || m.chaos.every != 3e9 {
		t.Fatalf("chaos = %+v, want on every 3s", m.chaos)
	}
}
