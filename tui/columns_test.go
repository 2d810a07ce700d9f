package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	corev1 "k8s.io/api/core/v1"

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

func waitingAs(reason string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	}
}

func initCrashLoop() podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "proberctl:dev"}}
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", RestartCount: 2,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	}
}

// TestStatusFitsItsValues: STATUS is as wide as its longest value (at least
// CrashLoopBackOff's 16, at most statusMax), so "ContainerCreating" and
// "Init:CrashLoopBackOff" show whole where the terminal has room, and the
// narrow steps still keep NAME readable.
func TestStatusFitsItsValues(t *testing.T) {
	creating := podDelta(pod("prober-foo-764cf9f454-x2k9p", t0.Add(-2*time.Second), version("1.0.2"), waitingAs("ContainerCreating")))
	initCrash := podDelta(pod("prober-foo-764cf9f454-q7r4m", t0.Add(-time.Minute), version("1.0.2"), initCrashLoop()))
	tests := []struct {
		name      string
		w         int
		add       []kube.Delta
		wantCols  string
		wantNameW int // at least
		wantText  []string
		wantNot   []string
	}{
		{"80 creating", 80, []kube.Delta{creating}, "NAME READY STATUS RESTARTS AGE VERSION", 27,
			[]string{"prober-foo-764cf9f454-x2k9p 0/1   ContainerCreating ", "prober-foo-67b66bdbf7-hw78w 0/1   CrashLoopBackOff  ", "1.0.2"}, []string{"ContainerCreati…"}},
		{"100 init crash", 100, []kube.Delta{creating, initCrash}, "NAME READY STATUS RESTARTS AGE VERSION", 27,
			[]string{"Init:CrashLoopBackOff ", "ContainerCreating ", "prober-foo-764cf9f454-q7r4m"}, []string{"CrashLoopBa…", "ContainerCreati…"}},
		// Narrow: the name has the room first, as without the longer status.
		{"60 creating", 60, []kube.Delta{creating}, "NAME READY STATUS RESTARTS", 25,
			[]string{"ContainerCreati…", "CrashLoopBackOff"}, nil},
		{"40 creating", 40, []kube.Delta{creating}, "NAME READY STATUS", 19,
			[]string{"ContainerC…", "CrashLoopB…"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := seedBatch()
			b.Deltas = append(b.Deltas, tt.add...)
			m, _ := newTestModel(t, tt.w, 24, b)
			titles, nameW := colTitles(&m.pods)
			if got := strings.Join(titles, " "); got != tt.wantCols {
				t.Errorf("columns %s, want %s", got, tt.wantCols)
			}
			if nameW < tt.wantNameW {
				t.Errorf("NAME is %d wide, want at least %d", nameW, tt.wantNameW)
			}
			s := screen(t, m)
			mustContain(t, s, tt.wantText...)
			for _, n := range tt.wantNot {
				if strings.Contains(s, n) {
					t.Errorf("the screen has %q:\n%s", n, s)
				}
			}
		})
	}
}

// TestStatusWidthFollowsPods: the column grows when a longer status comes
// and goes back to its usual width when it is gone, and a status longer
// than the cap is cut, not given the name's room.
func TestStatusWidthFollowsPods(t *testing.T) {
	m, _ := newTestModel(t, 120, 24, seedBatch())
	statusW := func() int {
		for _, c := range m.pods.cols {
			if c.id == colStatus {
				return c.width
			}
		}
		t.Fatal("no STATUS column")
		return 0
	}
	steps := []struct {
		what string
		pod  *corev1.Pod
		want int
	}{
		{"seed", nil, statusMin},
		{"creating", pod("prober-foo-764cf9f454-x2k9p", t0, waitingAs("ContainerCreating")), len("ContainerCreating")},
		{"init crash", pod("prober-foo-764cf9f454-x2k9p", t0, initCrashLoop()), len("Init:CrashLoopBackOff")},
		{"long reason", pod("prober-foo-764cf9f454-x2k9p", t0, waitingAs("CreateContainerConfigError")), statusMax},
		{"running", pod("prober-foo-764cf9f454-x2k9p", t0), statusMin},
	}
	for _, st := range steps {
		if st.pod != nil {
			m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{podDelta(st.pod)}}))
		}
		if got := statusW(); got != st.want {
			t.Errorf("%s: STATUS is %d wide, want %d", st.what, got, st.want)
		}
		screen(t, m) // every line still exactly the terminal's width
	}
	mustContain(t, screen(t, m), "prober-foo-764cf9f454-x2k9p")
}
