// Package termtest is a terminal for tests to look at: a VT emulator that a
// program's output is written to, read back as the rows of text a person
// would see, with the state a program must give back when it leaves (the
// alternate screen, the cursor, the modes it set such as mouse reporting).
//
// Tests of a program on a pseudo-terminal copy the pty's output into a
// Screen and the Screen's answers (to the program's queries) back into the
// pty, then wait for the screen to show what they expect: a program's
// writes arrive in pieces, and a frame may be half drawn at any instant.
package termtest

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// Screen is a w x h terminal. Its methods are safe for concurrent use;
// WaitFor is meant for one waiting goroutine at a time.
type Screen struct {
	mu    sync.Mutex
	emu   *vt.Emulator
	modes map[ansi.Mode]bool
	// changed gets a value after a write, for WaitFor; it holds one so a
	// write between WaitFor's look and its wait is not missed.
	changed chan struct{}
}

// New returns a blank w x h screen with the terminal's power-on modes.
func New(w, h int) *Screen {
	s := &Screen{emu: vt.NewEmulator(w, h), modes: map[ansi.Mode]bool{}, changed: make(chan struct{}, 1)}
	// The emulator tells set and reset modes only through callbacks; its
	// callers under Write hold mu.
	s.emu.SetCallbacks(vt.Callbacks{
		EnableMode:  func(m ansi.Mode) { s.modes[m] = true },
		DisableMode: func(m ansi.Mode) { s.modes[m] = false },
	})
	// A full reset (RIS) sets every mode the emulator knows to its default
	// again, through the callbacks, so Mode knows the defaults too (auto
	// wrap and the visible cursor are on from the start) without a copy of
	// the emulator's table here. On a blank new screen it changes nothing
	// else.
	s.emu.WriteString(ansi.ResetInitialState)
	return s
}

// Write is the program's output arriving at the terminal.
func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	n, err := s.emu.Write(p)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return n, err
}

// Read returns what the terminal sends to the program: its answers to the
// program's queries (a cursor position report, the background colour).
// Copy it to the program's input whenever the program may ask: the
// emulator answers inside Write, which blocks until the answer is read.
func (s *Screen) Read(p []byte) (int, error) {
	// Not under mu: Write holds it while it waits for this read.
	return s.emu.Read(p)
}

// Close ends Read with io.EOF: the terminal sends nothing more, and an
// answer the emulator is writing in a Write is dropped. The screen still
// takes writes. Call it when the program is gone so a goroutine copying
// Read to it ends.
func (s *Screen) Close() error {
	// Not under mu, and not the emulator's Close: a Write may hold mu
	// while it waits for a reader, and closing the pipe is what ends that
	// wait.
	if c, ok := s.emu.InputPipe().(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Resize makes the screen w x h, as a terminal window resized by a person.
// The program learns it from the pty (pty.Setsize), not from here.
func (s *Screen) Resize(w, h int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emu.Resize(w, h)
}

// Lines is the screen as text, one string per row (see the function Lines).
func (s *Screen) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Lines(s.emu)
}

// Lines is emu's screen as text, one string per row, each exactly as wide
// as the screen: a blank cell is a space, and a wide character is written
// once, not once per cell it covers.
func Lines(emu *vt.Emulator) []string {
	out := make([]string, emu.Height())
	var b strings.Builder
	for y := range out {
		b.Reset()
		for x := 0; x < emu.Width(); x++ {
			c := emu.CellAt(x, y)
			switch {
			case c == nil || c.Content == "" && c.Width == 0:
				// the second cell of a wide character
			case c.Content == "":
				b.WriteByte(' ')
			default:
				b.WriteString(c.Content)
			}
		}
		out[y] = b.String()
	}
	return out
}

// Coloured counts the cells drawn in a foreground or background colour
// other than the terminal's default; a wide character counts once. Bold, reverse and the like without a
// colour do not count: NO_COLOR allows them.
func (s *Screen) Coloured() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for y := 0; y < s.emu.Height(); y++ {
		for x := 0; x < s.emu.Width(); x++ {
			if c := s.emu.CellAt(x, y); c != nil && (c.Style.Fg != nil || c.Style.Bg != nil) {
				n++
			}
		}
	}
	return n
}

// AltScreen says whether the alternate screen is shown (a full-screen
// program's; the shell's main screen comes back when it leaves).
func (s *Screen) AltScreen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emu.IsAltScreen()
}

// CursorHidden says whether the program hid the cursor (DECTCEM reset).
func (s *Screen) CursorHidden() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emu.CursorHidden()
}

// Cursor is the cursor's cell, 0-based.
func (s *Screen) Cursor() (x, y int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.emu.CursorPosition()
	return p.X, p.Y
}

// Mode says whether mode m is set: its power-on default until the program
// sets or resets it (e.g. ansi.ModeMouseButtonEvent, off until a program
// asks for mouse reports). A mode the emulator does not know is reset
// until a program sets it.
func (s *Screen) Mode(m ansi.Mode) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modes[m]
}

// MouseReporting lists the mouse reporting modes that are set (X10, 1000,
// 1001, 1002, 1003); none means the terminal sends no mouse events, and
// the terminal's own text selection works again.
func (s *Screen) MouseReporting() []ansi.Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	var on []ansi.Mode
	for _, m := range []ansi.Mode{ansi.ModeMouseX10, ansi.ModeMouseNormal, ansi.ModeMouseHighlight,
		ansi.ModeMouseButtonEvent, ansi.ModeMouseAnyEvent} {
		if s.modes[m] {
			on = append(on, m)
		}
	}
	return on
}

// WaitFor waits until ok accepts the screen's rows, looking again after
// each write, and fails tb with what it waited for and the last screen
// once limit has passed. ok may look at the rest of the screen's state
// (Mode, AltScreen) too: all of it changes only in writes.
func (s *Screen) WaitFor(tb testing.TB, limit time.Duration, what string, ok func(lines []string) bool) {
	tb.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		if ok(s.Lines()) {
			return
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			tb.Fatalf("waited %v for %s; the screen:\n%s", limit, what, strings.Join(s.Lines(), "\n"))
			return // for a tb whose Fatalf returns
		}
	}
}
