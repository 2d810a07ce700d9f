package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// at finds text on the drawn screen and returns its cell: the mouse tests
// aim where a person would, at what they see.
func at(t *testing.T, m *model, text string) (x, y int) {
	t.Helper()
	for y, l := range strings.Split(screen(t, m), "\n") {
		if x := strings.Index(l, text); x >= 0 {
			return len([]rune(l[:x])), y
		}
	}
	t.Fatalf("%q is not on the screen:\n%s", text, screen(t, m))
	return 0, 0
}

func click(m *model, x, y int) {
	m.Update(tea.MouseMsg{X: x, Y: y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
}

func wheel(m *model, x, y int, down bool) {
	b := tea.MouseButtonWheelUp
	if down {
		b = tea.MouseButtonWheelDown
	}
	m.Update(tea.MouseMsg{X: x, Y: y, Action: tea.MouseActionPress, Button: b})
}

func selectedName(m *model) string {
	if r := m.pods.selected(); r != nil {
		return r.pod.Name
	}
	return ""
}

// TestMouseActsWhereItPoints: with --mouse a click on a pod row selects
// that pod, a click on a tab opens the pane, and the wheel scrolls the pane
// under the pointer, whichever pane has the focus.
func TestMouseActsWhereItPoints(t *testing.T) {
	b := seedBatch()
	// More events than the pane shows, so it has something to scroll.
	for i := range 40 {
		b.Deltas = append(b.Deltas, event(fmt.Sprintf("probe-%d", i), "prober-foo-67b66bdbf7-hw78w", "Warning", "Unhealthy",
			"Readiness probe failed: HTTP probe failed with statuscode: 500", 1, t0.Add(-time.Duration(i)*time.Second)))
	}
	m, _ := newTestModel(t, 100, 30, b)
	names := make([]string, len(m.pods.rows))
	for i, r := range m.pods.rows {
		names[i] = r.pod.Name
	}
	if len(names) < 3 {
		t.Fatalf("the seed batch has %d pods, want at least 3", len(names))
	}

	// A click on the third row selects it and leaves the others alone.
	x, y := at(t, m, names[2])
	click(m, x, y)
	if got := selectedName(m); got != names[2] {
		t.Fatalf("click on %s selected %q", names[2], got)
	}
	mustContain(t, screen(t, m), "EVENTS for default/"+names[2])

	// A click on the column header or the title selects nothing new.
	_, hy := at(t, m, "NAME")
	click(m, 5, hy)
	click(m, 5, hy-1)
	if got := selectedName(m); got != names[2] {
		t.Fatalf("click on the table's header moved the selection to %q", got)
	}

	// The wheel over the table moves the selection.
	wheel(m, x, y, false)
	if got := selectedName(m); got != names[1] {
		t.Fatalf("wheel up over the table selected %q, want %q", got, names[1])
	}

	// A click on a tab opens its pane; the table keeps its selection.
	tx, ty := at(t, m, "4:output")
	click(m, tx+2, ty)
	if m.focus != focusOutput || m.lower != focusOutput {
		t.Fatalf("click on the output tab: focus %v, lower %v", m.focus, m.lower)
	}
	tx, ty = at(t, m, "3:events")
	click(m, tx, ty)
	if m.focus != focusEvents {
		t.Fatalf("click on the events tab: focus %v", m.focus)
	}

	// Back on the table, the wheel over the events pane scrolls the events,
	// not the table.
	press(t, m, "1", "e") // e: events of all pods
	ex, ey := at(t, m, "EVENTS")
	for range 3 {
		wheel(m, ex, ey+2, true)
	}
	if m.focus != focusPods {
		t.Fatalf("the wheel over events moved the focus to %v", m.focus)
	}
	if got := selectedName(m); got != names[1] {
		t.Fatalf("the wheel over events moved the table's selection to %q", got)
	}
	if m.events.scroll.offset == 0 {
		t.Fatalf("the wheel over the events pane did not scroll it (%d lines, %d high)", len(m.events.scroll.lines), m.events.scroll.h)
	}

	// A click in the lower pane focuses it.
	click(m, ex, ey+2)
	if m.focus != focusEvents {
		t.Fatalf("click in the events pane: focus %v", m.focus)
	}

	// Help is full screen: the wheel scrolls it, clicks do nothing there.
	press(t, m, "?")
	click(m, 3, 5)
	if m.focus != focusHelp {
		t.Fatalf("a click in help left it (focus %v)", m.focus)
	}
}

// TestTabsReadAsKeys: the tab bar names each pane with its key ("1:pods",
// not "[1 pods]", which read as a count of one pod), and a click on any
// cell of a drawn tab opens that pane, so tabAt and tabsView agree.
func TestTabsReadAsKeys(t *testing.T) {
	m, _ := newTestModel(t, 100, 30, seedBatch())
	mustContain(t, screen(t, m), "[1:pods]  2:timeline   3:events   4:output   5:rollout")
	for i, name := range paneNames {
		label := fmt.Sprintf("%d:%s", i+1, name)
		tx, ty := at(t, m, label)
		for _, x := range []int{tx, tx + len(label) - 1} {
			press(t, m, "1")
			click(m, x, ty)
			if m.focus != focus(i) {
				t.Errorf("click at column %d of %q: focus %v, want %v", x, label, m.focus, focus(i))
			}
		}
		if want := "[" + label + "]"; !strings.Contains(screen(t, m), want) {
			t.Errorf("after a click on %q the bar does not mark it %s", label, want)
		}
	}
}
