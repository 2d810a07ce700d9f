package tui

import (
	"bytes"
	"slices"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/proberctl/proberctl/kube"
)

// startFlow runs the whole program, as a person would see it, at 80x24 on
// the seed batch.
func startFlow(t *testing.T, opts ...func(*Options)) (*teatest.TestModel, *fakeActions) {
	t.Helper()
	fa := &fakeActions{}
	o := Options{
		Source: newFakeSource(seedBatch()), Actions: fa,
		Context: "kind-lab", Namespace: "default", Selector: "app=prober-foo", Now: fixedNow,
	}
	for _, f := range opts {
		f(&o)
	}
	m := newModel(t.Context(), o, false, nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "prober-foo-764cf9f454-5pqcx")
	return tm, fa
}

// waitText waits until the screen output shows every text.
func waitText(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, s := range texts {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

func quit(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// waitCalls waits until the fake has recorded n calls (actions run in
// commands, off the update loop).
func waitCalls(t *testing.T, fa *fakeActions, n int) []call {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c := fa.Calls(); len(c) >= n {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("want %d action calls, have %v", n, fa.Calls())
	return nil
}

func TestFlowSelectAndCrash(t *testing.T) {
	tm, fa := startFlow(t)
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	tm.Type("c")
	waitText(t, tm, "crash prober-foo-67b66bdbf7-hw78w → ok")
	want := call{"crash", kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-hw78w"}, ""}
	if got := waitCalls(t, fa, 1); got[0] != want {
		t.Fatalf("crashed %v, want %v", got[0], want)
	}
	// The output pane has the whole result, note included.
	tm.Type("4")
	waitText(t, tm, "connection closed: the container exited")
	// The timeline shows the crash the person fired.
	tm.Type("2")
	waitText(t, tm, "X you crashed", "KX")
	quit(t, tm)
}

func TestFlowResolvePrompt(t *testing.T) {
	tm, fa := startFlow(t)
	tm.Type("r")
	waitText(t, tm, "host: foo-nodeport-svc")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type("checkip.dyndns.org")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitText(t, tm, "resolve prober-foo-67b66bdbf7-4bxjb → 200")
	want := call{"resolve", kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-4bxjb"}, "checkip.dyndns.org"}
	if got := waitCalls(t, fa, 1); got[0] != want {
		t.Fatalf("resolve call %v, want %v", got[0], want)
	}
	tm.Type("4")
	waitText(t, tm, "Service hostname = checkip.dyndns.org")
	quit(t, tm)
}

func TestFlowApplyPrompt(t *testing.T) {
	tm, fa := startFlow(t)
	tm.Type("a")
	waitText(t, tm, "apply manifest (file or directory):")
	tm.Type("demo/foo-1.0.2.yaml")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	// The result lands, and the rollout it starts is shown under the table.
	waitText(t, tm, "apply", "200", "ROLLOUT")
	if got := waitCalls(t, fa, 1); got[0] != (call{"apply", kube.Target{}, "demo/foo-1.0.2.yaml"}) {
		t.Fatalf("apply call %v", got[0])
	}
	quit(t, tm)
}

func TestFlowFilter(t *testing.T) {
	tm, fa := startFlow(t)
	tm.Type("/")
	tm.Type("hw7")
	waitText(t, tm, "PODS 1 of 4")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitText(t, tm, "filter:hw7")
	// Actions now go to the one pod left.
	tm.Type("h")
	waitText(t, tm, "healthz prober-foo-67b66bdbf7-hw78w")
	got := waitCalls(t, fa, 1)
	if !slices.Equal(got, []call{{"healthz", kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-hw78w"}, ""}}) {
		t.Fatalf("calls %v", got)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitText(t, tm, "PODS 4 ")
	quit(t, tm)
}

func TestFlowHelp(t *testing.T) {
	tm, _ := startFlow(t)
	tm.Type("?")
	waitText(t, tm, "KEYS", "chaos on/off", "crash pod (or marked)", "apply manifest")
	tm.Type("?")
	waitText(t, tm, "NAME")
	quit(t, tm)
}

// TestFlowClockMovesAge runs the program on the real clock: the AGE of a
// pod created 10m57s ago reads "10m" (minutes, no seconds, from 10 minutes
// on) and turns "11m" when the tick scheduled for that moment comes.
func TestFlowClockMovesAge(t *testing.T) {
	now := time.Now()
	b := kube.Batch{Synced: true, Conn: &kube.Conn{State: kube.Connected}, Deltas: []kube.Delta{
		podDelta(pod("young", now.Add(-11*time.Minute+3*time.Second))),
	}}
	m := newModel(t.Context(), Options{Source: newFakeSource(b), Actions: &fakeActions{}, Namespace: "default"}, false, nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "young", " 10m ")
	waitText(t, tm, " 11m ")
	quit(t, tm)
}

// TestFlowWhyRestarted: a newcomer asks why a crash-looping pod restarted;
// one key shows the log of the instance that died.
func TestFlowWhyRestarted(t *testing.T) {
	tm, fa := startFlow(t)
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	tm.Type("l")
	waitText(t, tm, "logs prober-foo-67b66bdbf7-hw78w → 200", "the instance before the last restart", "crashing on start")
	hw := kube.Target{Namespace: "default", Pod: "prober-foo-67b66bdbf7-hw78w"}
	if got := waitCalls(t, fa, 1); got[0] != (call{"logs", hw, "previous"}) {
		t.Fatalf("logs call %v, want the previous instance of hw78w", got[0])
	}
	tm.Type("L")
	waitText(t, tm, "the current instance, waiting (CrashLoopBackOff)")
	if got := waitCalls(t, fa, 2); got[1] != (call{"logs", hw, "current"}) {
		t.Fatalf("second logs call %v, want the current instance", got[1])
	}
	tm.Type("?")
	waitText(t, tm, "logs (crashed one first)", "logs of the other instance")
	quit(t, tm)
}

// TestFlowApplyAfterFailure: the review's case: after a failed apply the
// prompt offers the old path, and typing the right one replaces it.
func TestFlowApplyAfterFailure(t *testing.T) {
	tm, fa := startFlow(t)
	tm.Type("a")
	waitText(t, tm, "apply manifest (file or directory):")
	tm.Type("missing.yaml")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitText(t, tm, "apply → FAILED")
	tm.Type("a")
	waitText(t, tm, "type replace")
	tm.Type("demo/foo-1.0.2.yaml")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	got := waitCalls(t, fa, 2)
	if want := (call{"apply", kube.Target{}, "demo/foo-1.0.2.yaml"}); got[1] != want {
		t.Fatalf("second apply %v, want %v", got[1], want)
	}
	quit(t, tm)
}
