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
	// A notch scrolls a text pane three lines.
	ex, ey := at(t, m, "EVENTS")
	for notch := 1; notch <= 2; notch++ {
		wheel(m, ex, ey+2, true)
		if got := m.events.scroll.offset; got != notch*wheelLines {
			t.Fatalf("after %d notches down over the events pane it is scrolled %d lines, want %d (%d lines, %d high)",
				notch, got, notch*wheelLines, len(m.events.scroll.lines), m.events.scroll.h)
		}
	}
	wheel(m, ex, ey+2, false)
	if got := m.events.scroll.offset; got != wheelLines {
		t.Fatalf("a notch up over the events pane left it scrolled %d lines, want %d", got, wheelLines)
	}
	if m.focus != focusPods {
		t.Fatalf("the wheel over events moved the focus to %v", m.focus)
	}
	if got := selectedName(m); got != names[1] {
		t.Fatalf("the wheel over events moved the table's selection to %q", got)
	}

	// A click in the lower pane focuses it.
	click(m, ex, ey+2)
	if m.focus != focusEvents {
		t.Fatalf("click in the events pane: focus %v", m.focus)
	}

	// Help is full screen: clicks do nothing there (TestWheelSteps scrolls
	// it).
	press(t, m, "?")
	click(m, 3, 5)
	if m.focus != focusHelp {
		t.Fatalf("a click in help left it (focus %v)", m.focus)
	}
}

// TestWheelSteps: a notch scrolls the detail view and the output and
// rollout panes three lines, and moves the table's selection one row,
// over the table and over the timeline (whose rows are the table's).
func TestWheelSteps(t *testing.T) {
	m, _ := newTestModel(t, 100, 20, seedBatch())
	// Output: enough results to scroll.
	for range 12 {
		press(t, m, "h")
	}
	press(t, m, "4")
	ox, oy := at(t, m, "OUTPUT")
	wheel(m, ox, oy+2, true)
	if got := m.output.scroll.offset; got != wheelLines {
		t.Fatalf("a notch over the output pane scrolled it %d lines, want %d (%d lines, %d high)", got, wheelLines, len(m.output.scroll.lines), m.output.scroll.h)
	}
	press(t, m, "5")
	rx, ry := at(t, m, "ROLLOUT")
	wheel(m, rx, ry+2, true)
	if got, most := m.rollout.scroll.offset, len(m.rollout.scroll.lines)-m.rollout.scroll.h; got != min(wheelLines, most) || most < 1 {
		t.Fatalf("a notch over the rollout pane scrolled it %d lines, want %d (%d lines, %d high)", got, min(wheelLines, most), len(m.rollout.scroll.lines), m.rollout.scroll.h)
	}

	// The timeline and the table: one row per notch.
	press(t, m, "2", "g")
	first := selectedName(m)
	tx, ty := at(t, m, "2:timeline")
	wheel(m, tx, ty+2, true)
	if got := m.pods.cursor; got != 1 {
		t.Fatalf("a notch over the timeline moved the selection from %s to row %d, want row 1", first, got)
	}
	px, py := at(t, m, "NAME")
	wheel(m, px, py+1, true)
	if got := m.pods.cursor; got != 2 {
		t.Fatalf("a notch over the table moved the selection to row %d, want row 2", got)
	}

	// The detail view: three lines.
	press(t, m, "enter")
	wheel(m, 3, 5, true)
	if got := m.detail.scroll.offset; got != wheelLines {
		t.Fatalf("a notch over the detail view scrolled it %d lines, want %d (%d lines, %d high)", got, wheelLines, len(m.detail.scroll.lines), m.detail.scroll.h)
	}

	// Help: three lines.
	press(t, m, "?")
	wheel(m, 3, 5, true)
	if got := m.helpText.offset; got != wheelLines {
		t.Fatalf("a notch down over help scrolled it %d lines, want %d (%d lines, %d high)", got, wheelLines, len(m.helpText.lines), m.helpText.h)
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
