package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"

	"github.com/proberctl/proberctl/kube"
)

// gateTerm is a terminal that takes writes at once until hold, then keeps
// the next write waiting until release: a terminal behind a stalled link.
// Before it takes the restoration (the main screen back) it keeps what the
// screen showed, the frame the person would see last.
type gateTerm struct {
	vt *vtTerm

	mu      sync.Mutex
	changed sync.Cond // on mu: a write began or ended
	held    bool      // writes wait
	waiting bool      // a write is waiting
	writes  int       // writes begun since hold
	last    []string  // the screen before the restoration
}

func newGateTerm(w, h int) *gateTerm {
	g := &gateTerm{vt: newVTTerm(w, h)}
	g.changed.L = &g.mu
	return g
}

func (g *gateTerm) Write(p []byte) (int, error) {
	g.mu.Lock()
	g.writes++
	for g.held {
		g.waiting = true
		g.changed.Broadcast()
		g.changed.Wait()
	}
	g.waiting = false
	if strings.Contains(string(p), ansi.ResetModeAltScreenSaveCursor) {
		g.last = g.vt.lines()
	}
	g.mu.Unlock()
	return g.vt.Write(p)
}

func (g *gateTerm) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.writes = true, 0
}

func (g *gateTerm) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	g.changed.Broadcast()
}

// waitWaiting waits until a write waits at the gate.
func (g *gateTerm) waitWaiting(t *testing.T) {
	t.Helper()
	waitFor(t, "a write waiting for the terminal", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.waiting
	})
}

func (g *gateTerm) begun() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

// waitFor polls ok until it holds, failing the test after 10 s (a
// deadline for a condition, not a timing the test measures).
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recorder is the dashboard's model as the program runs it, counting its
// Updates and keeping its last frame, so a test can tell what the screen
// must show without touching the model from another goroutine.
type recorder struct {
	tea.Model
	mu      sync.Mutex
	updates int
	views   int // Bubble Tea asks for the frame after each Update
	view    string
}

func (r *recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := r.Model.Update(msg)
	r.mu.Lock()
	r.Model = m
	r.updates++
	r.mu.Unlock()
	return r, cmd
}

func (r *recorder) View() string {
	v := r.Model.View()
	r.mu.Lock()
	r.view = v
	r.views++
	r.mu.Unlock()
	return v
}

func (r *recorder) state() (updates int, view string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updates, r.view
}

// drawn is how many frames the program asked for so far.
func (r *recorder) drawn() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.views
}

// startTestProgram runs the dashboard's program on the seed's pods, a pipe
// for input and out for output, at w x h, with the clock standing still.
// done gets run's result.
func startTestProgram(t *testing.T, out io.Writer, w, h int) (*program, *recorder, <-chan error) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inW.Close(); inR.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	opts := Options{Source: newFakeSource(seedBatch()), Actions: &fakeActions{}, Context: "test", Namespace: "default",
		Now: fixedNow, Input: inR, Output: out}
	m := newModel(ctx, opts, false, nil)
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	rec := &recorder{Model: m}
	p := newProgram(ctx, rec, opts)
	done := make(chan error, 1)
	ended := make(chan struct{})
	go func() {
		done <- p.run()
		close(ended)
	}()
	// Cleanups run last first: the program ends before its input closes
	// (Bubble Tea's reader must not read a closed file).
	t.Cleanup(func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Error("the program did not end within 10 s of its context")
		}
	})
	p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	return p, rec, done
}

// TestSlowTerminalDropsFrames stalls the terminal in the middle of a
// write and keeps the dashboard busy meanwhile: every Update still runs
// (none waits for the terminal), the frames in between are dropped, and
// once the terminal takes bytes again it shows exactly the last frame,
// drawn as a diff against what it really shows. Then it stalls the
// terminal again and quits: run returns only after the last frame and the
// restoration were written, in that order.
func TestSlowTerminalDropsFrames(t *testing.T) {
	const w, h = 120, 40
	g := newGateTerm(w, h)
	p, rec, done := startTestProgram(t, g, w, h)
	waitFor(t, "first screen with the pods", func() bool {
		return strings.Contains(strings.Join(g.vt.lines(), "\n"), "prober-foo-764cf9f454-5pqcx")
	})

	// Keys that move the selection and switch panes: the last frame
	// differs from the one stuck in the terminal's write, and in places
	// from the dropped ones.
	walk := []string{"down", "down", "2", "up", "?", "?", "3", "down", "1", "down", "4", "up", "2", "down"}
	press := func(n int) {
		for i := range n {
			p.Send(keyMsg(walk[i%len(walk)]))
		}
	}

	g.hold()
	before := rec.drawn()
	press(1)
	g.waitWaiting(t)
	// 300 more Updates while the write waits. Send returns once the event
	// loop took the message; waiting for the count of frames (asked for
	// after each Update) proves it handled them all and handed each
	// frame over with the terminal stalled.
	const n = 300
	press(n)
	waitFor(t, fmt.Sprintf("%d Updates with the terminal stalled", n), func() bool {
		return rec.drawn() >= before+1+n
	})
	if got := g.begun(); got != 1 {
		t.Fatalf("%d writes began while the first waited, want 1 (the writer is one goroutine)", got)
	}
	g.release()
	// The newest frame: read again while waiting, in case a message of
	// the model's own (a command's result) came after the keys.
	waitFor(t, "the last frame on the screen", func() bool {
		_, last := rec.state()
		return equalLines(g.vt.lines(), want(last, w, h))
	})
	// The stalled write and the newest frame: nothing in between.
	if got := g.begun(); got > 2 {
		t.Errorf("%d writes after the stall, want at most 2 (the stalled frame and the newest)", got)
	}

	// Stalled again, then quit: run must not return before the terminal
	// took the last frame and its restoration.
	g.hold()
	press(1)
	g.waitWaiting(t)
	press(17)
	p.Quit()
	waitFor(t, "the restoration queued", func() bool {
		p.model.scr.mu.Lock()
		defer p.model.scr.mu.Unlock()
		return p.model.scr.closed
	})
	select {
	case err := <-done:
		t.Fatalf("run returned (%v) before the stalled terminal took the last frame", err)
	default:
	}
	g.release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10 s of the terminal taking bytes again")
	}
	_, last := rec.state()
	g.mu.Lock()
	shown := g.last
	g.mu.Unlock()
	if shown == nil {
		t.Fatal("the terminal was not restored")
	}
	sameScreen(t, "the screen before the restoration", shown, want(last, w, h))
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var errBroken = errors.New("broken link")

// failAfter is a terminal that takes n bytes and then fails every write
// (the rest of the write it fails in is lost, as on a closed connection).
type failAfter struct {
	mu    sync.Mutex
	n     int
	after int // writes tried after the first failure
	sawIt bool
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sawIt {
		f.after++
		return 0, errBroken
	}
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	took := f.n
	f.n, f.sawIt = 0, true
	return took, errBroken
}

// TestTerminalGoneEndsProgram cuts the terminal after n bytes: during the
// setup, in the first frame, and in a later frame. The program ends by
// itself (nobody quits it) with an error that says the terminal went away
// and carries the write's own, and nothing is written after the failure.
func TestTerminalGoneEndsProgram(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		setup bool // the failure is in the setup: run never starts the program
	}{
		{name: "setup", n: 0, setup: true},
		{name: "first frame", n: 100},
		// The first frame at 120x40 is a few kB; resizes repaint all.
		{name: "later frame", n: 20000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := &failAfter{n: tc.n}
			p, _, done := startTestProgram(t, out, 120, 40)
			var err error
			sizes := []tea.WindowSizeMsg{{Width: 100, Height: 30}, {Width: 120, Height: 40}}
			deadline := time.Now().Add(10 * time.Second)
		loop:
			for i := 0; ; i++ {
				select {
				case err = <-done:
					break loop
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("run did not return within 10 s of the terminal failing")
				}
				// Keep the screen changing until a write fails; Send
				// after the program ended is a no-op.
				p.Send(sizes[i%2])
			}
			if err == nil {
				t.Fatal("run returned no error")
			}
			if !errors.Is(err, errBroken) {
				t.Errorf("error %q does not carry the write's error", err)
			}
			if tc.setup {
				if !strings.Contains(err.Error(), "set up the terminal") {
					t.Errorf("error %q does not say the setup failed", err)
				}
			} else if !errors.Is(err, errTerminalGone) || !strings.Contains(err.Error(), "the terminal went away") {
				t.Errorf("error %q does not say the terminal went away", err)
			}
			out.mu.Lock()
			defer out.mu.Unlock()
			if out.after > 0 {
				t.Errorf("%d writes after the first failed one", out.after)
			}
		})
	}
}

// TestRunEndsWhenTerminalVanishes runs the dashboard on a real
// pseudo-terminal and closes the terminal's side (what an ssh server or a
// terminal window does when it goes away). Without a SIGHUP (the
// pseudo-terminal is not the test's controlling terminal, so the kernel
// sends none) the next frame's write fails, and Run ends by itself with
// an error that says the terminal went away, and logs it. With the signal
// too (a closed window sends SIGHUP; Run's context ending stands for it
// here) it is a normal way to leave, whichever comes first.
func TestRunEndsWhenTerminalVanishes(t *testing.T) {
	for _, signalled := range []bool{false, true} {
		t.Run(fmt.Sprintf("signal=%v", signalled), func(t *testing.T) {
			runOnVanishingTerminal(t, signalled)
		})
	}
}

func runOnVanishingTerminal(t *testing.T, signalled bool) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 100, Rows: 30}); err != nil {
		t.Fatal(err)
	}
	// The terminal's side: what the dashboard writes.
	var mu sync.Mutex
	var shown strings.Builder
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			shown.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()

	src := newFakeSource(seedBatch())
	logFile := filepath.Join(t.TempDir(), "tui.log")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Source: src, Actions: &fakeActions{}, Context: "test", Now: fixedNow,
			Input: tty, Output: tty, LogFile: logFile})
	}()
	waitFor(t, "first screen with the pods", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(shown.String(), "prober-foo-764cf9f454-5pqcx")
	})
	if err := ptmx.Close(); err != nil {
		t.Fatal(err)
	}
	if signalled {
		cancel()
	}

	// New pods, one a batch, give the dashboard something to draw.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		select {
		case err = <-done:
		default:
			if time.Now().After(deadline) {
				t.Fatal("Run did not return within 10 s of the terminal going away")
			}
			b := kube.Batch{Deltas: []kube.Delta{podDelta(pod(fmt.Sprintf("prober-foo-764cf9f454-new%02d", i), t0))}}
			select {
			case src.ch <- b:
			default:
			}
			time.Sleep(5 * time.Millisecond) // a pace for the batches, not a wait for a result
			continue
		}
		break
	}
	t.Logf("Run: %v", err)
	log, rerr := os.ReadFile(logFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if signalled {
		if err != nil {
			t.Errorf("Run returned %v, want nil: the signal is a way to leave", err)
		}
		if !strings.Contains(string(log), "dashboard stopped") {
			t.Errorf("the log does not say the dashboard stopped:\n%s", log)
		}
		return
	}
	if err == nil || !errors.Is(err, errTerminalGone) || !strings.Contains(err.Error(), "the terminal went away") {
		t.Fatalf("Run returned %v, want an error that says the terminal went away", err)
	}
	// Linux answers a write to, or a read from, a hung-up terminal with EIO.
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("Run's error %q does not carry the terminal's EIO", err)
	}
	if !strings.Contains(string(log), "the terminal went away") {
		t.Errorf("the log does not say the terminal went away:\n%s", log)
	}
}

// TestWriterDiffsAgainstWritten drops frames behind a stalled write and
// checks the newest is drawn against what the terminal shows, not against
// a frame it never got: row 2 of the dropped frame equals the newest's, and
// only a diff against the written frame redraws it.
func TestWriterDiffsAgainstWritten(t *testing.T) {
	frames := []string{
		"head\nrow a\nfoot",
		"head\nrow b\nfoot", // stalled in its write
		"head\nrow c\nfoot", // replaced while it waits, as is the next
		"HEAD\nrow c\nfoot",
		"head\nrow c\nfoot!", // the newest
	}
	g := newGateTerm(20, 4)
	s := newTermWriter(g)
	s.resize(20, 4)
	s.draw(frames[0])
	if err := s.flush(0); err != nil {
		t.Fatal(err)
	}
	g.hold()
	s.draw(frames[1])
	g.waitWaiting(t)
	for _, f := range frames[2:] {
		s.draw(f)
	}
	g.release()
	if err := s.flush(0); err != nil {
		t.Fatal(err)
	}
	if got := g.begun(); got != 2 {
		t.Errorf("%d writes after the stall, want 2 (the stalled frame and the newest)", got)
	}
	sameScreen(t, "after the stall", g.vt.lines(), want(frames[len(frames)-1], 20, 4))
}

// TestRestoreGivesUpOnStalledTerminal stalls the terminal for good: the
// restoration cannot be written, and restore returns after its limit with
// an error that says so, so Run (and the lab's stop after it) does not
// wait for a terminal that takes nothing.
func TestRestoreGivesUpOnStalledTerminal(t *testing.T) {
	g := newGateTerm(20, 4)
	defer g.release()
	s := newTermWriter(g)
	s.resize(20, 4)
	tm := &terminal{outFd: -1, scr: s, limit: 50 * time.Millisecond}
	g.hold()
	s.draw("a frame")
	g.waitWaiting(t)
	err := tm.restore()
	if err == nil || !strings.Contains(err.Error(), "did not take the output within 50ms") {
		t.Fatalf("restore = %v, want an error that the terminal took nothing in time", err)
	}
}
