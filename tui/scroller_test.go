package tui

import (
	"fmt"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// Every text pane scrolls through scroller.handleKey: one table covers them.
func TestScrollerKeys(t *testing.T) {
	keys := newKeyMap()
	s := &scroller{}
	lines := make([]string, 10)
	for i := range lines {
		lines[i] = fmt.Sprint(i)
	}
	s.setSize(20, 3)
	s.setLines(lines)
	steps := []struct {
		msg     tea.KeyMsg
		handled bool
		offset  int
	}{
		{tea.KeyMsg{Type: tea.KeyDown}, true, 1},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("j")}, true, 2},
		{tea.KeyMsg{Type: tea.KeyPgDown}, true, 5},
		{tea.KeyMsg{Type: tea.KeyPgDown}, true, 7}, // clamped: the last 3 lines stay in view
		{tea.KeyMsg{Type: tea.KeyUp}, true, 6},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")}, true, 0},
		{tea.KeyMsg{Type: tea.KeyUp}, true, 0}, // clamped at the top
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")}, true, 7},
		{tea.KeyMsg{Type: tea.KeyPgUp}, true, 4},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("c")}, false, 4}, // not a scrolling key
	}
	for i, st := range steps {
		if got := s.handleKey(st.msg, &keys); got != st.handled {
			t.Errorf("step %d %q: handled %v, want %v", i, st.msg, got, st.handled)
		}
		if s.offset != st.offset {
			t.Errorf("step %d %q: offset %d, want %d", i, st.msg, s.offset, st.offset)
		}
	}
}
