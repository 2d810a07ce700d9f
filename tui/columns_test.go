package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/proberctl/proberctl/kube"
)

func colTitles(p *podsPane) (titles []string, nameW int) {
	for _, c := range p.cols {
		titles = append(titles, c.title)
		if c.id == colName {
			nameW = c.width
		}
	}
	return titles, nameW
}

// TestNarrowKeepsNames: on a narrow terminal the pod name keeps its room
// and lesser columns give way, wide ones first (kubectl's -o wide columns,
// then ours), as kubectl's narrow view has NAME READY STATUS RESTARTS AGE.
func TestNarrowKeepsNames(t *testing.T) {
	tests := []struct {
		w         int
		wantCols  string
		wantNameW int // at least
		wantText  []string
	}{
		{200, "NAME READY STATUS RESTARTS AGE VERSION IP NODE TIMELINE (5m)", 34, []string{"prober-foo-67b66bdbf7-hw78w", "CrashLoopBackOff", "2 (4s ago)", "node-1"}},
		{120, "NAME READY STATUS RESTARTS AGE VERSION IP NODE", 34, []string{"prober-foo-67b66bdbf7-hw78w", "10.44.0.3"}},
		{100, "NAME READY STATUS RESTARTS AGE VERSION IP", 29, []string{"prober-foo-67b66bdbf7-hw78w", "1 (2m8s ago)"}},
		{80, "NAME READY STATUS RESTARTS AGE VERSION", 27, []string{"prober-foo-67b66bdbf7-hw78w", "3 (38s ago)"}},
		{60, "NAME READY STATUS RESTARTS", 25, []string{"prober-foo-6…6bdbf7-hw78w", "CrashLoopBackOff"}},
		{40, "NAME READY STATUS", 19, []string{"prober-fo…bf7-hw78w", "CrashLoopB…"}},
	}
	for _, tt := range tests {
		m, _ := newTestModel(t, tt.w, 24, seedBatch())
		titles, nameW := colTitles(&m.pods)
		if got := strings.Join(titles, " "); got != tt.wantCols {
			t.Errorf("%d columns: %s, want %s", tt.w, got, tt.wantCols)
		}
		if nameW < tt.wantNameW {
			t.Errorf("%d columns: NAME is %d wide, want at least %d", tt.w, nameW, tt.wantNameW)
		}
		mustContain(t, screen(t, m), tt.wantText...)
	}
}

// TestNarrowRestartsKeepsCount: a RESTARTS column too narrow for
// "3 (38s ago)" shows the count whole, not a cut text.
func TestNarrowRestartsKeepsCount(t *testing.T) {
	m, _ := newTestModel(t, 70, 24, seedBatch())
	s := screen(t, m)
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "4bxjb") && strings.Contains(l, "Running") && !strings.Contains(l, " 3        ") {
			t.Errorf("row shows restarts cut, want the count 3: %q", l)
		}
	}
	if strings.Contains(s, "(38") {
		t.Errorf("a cut restart time is shown:\n%s", s)
	}
}

// TestTooSmallSaysTheMinimum: the message fits the screen it is on, the
// size it needs included.
func TestTooSmallSaysTheMinimum(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{39, 24}, {40, 8}, {30, 8}, {20, 5}, {80, 9}} {
		m, _ := newTestModel(t, sz.w, sz.h, seedBatch())
		s := screen(t, m)
		joined := strings.Join(strings.Fields(ansi.Strip(s)), " ")
		mustContain(t, joined, "proberctl needs at least 40x10")
		if strings.Contains(s, "…") {
			t.Errorf("%dx%d: the message is cut:\n%s", sz.w, sz.h, s)
		}
	}
}

// TestTableSaysRowsHidden: when the pods do not all fit, the table's title
// says which rows are shown and how many are above and below; when they
// all fit it says nothing of rows.
func TestTableSaysRowsHidden(t *testing.T) {
	b := kube.Batch{Synced: true}
	for i := range 40 {
		b.Deltas = append(b.Deltas, podDelta(pod(fmt.Sprintf("p-%02d", i), t0, ready(t0))))
	}
	m, _ := newTestModel(t, 80, 24, b)
	shown := m.pods.bodyRows()
	if shown >= 40 || shown < 3 {
		t.Fatalf("the table shows %d rows at 80x24, the test wants some but not all of 40", shown)
	}
	title := func() string { return strings.SplitN(screen(t, m), "\n", 4)[2] }
	mustContain(t, title(), fmt.Sprintf("PODS 40  rows 1-%d ↓%d more  sort:name", shown, 40-shown))
	press(t, m, "G")
	mustContain(t, title(), fmt.Sprintf("PODS 40  rows %d-40 ↑%d more  sort:name", 41-shown, 40-shown))
	for range shown + 2 {
		press(t, m, "up")
	}
	off := m.pods.offset
	if off == 0 || off+shown >= 40 {
		t.Fatalf("after moving up the table shows rows from %d, want some hidden both sides", off+1)
	}
	mustContain(t, title(), fmt.Sprintf("PODS 40  rows %d-%d ↑%d ↓%d more", off+1, off+shown, off, 40-off-shown))

	// All rows in view: no count of rows.
	m, _ = newTestModel(t, 80, 24, seedBatch())
	if s := title(); strings.Contains(s, "rows") || strings.Contains(s, "more") {
		t.Errorf("every pod is shown, yet the title says %q", s)
	}
}
