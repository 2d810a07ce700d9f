package tui

// Why the dashboard draws its own screen.
//
// Bubble Tea v1's standard renderer writes frames from a time.Ticker at the
// program's frame rate, and the ticker runs whether or not anything
// changed. Issue 4 asks for no measurable CPU when idle, and on the build
// machine each wake-up of a Go timer costs about 0.2 ms of CPU: 20 frames a
// second were 4.3 to 5.1 ms of CPU per second (0.4 to 0.5% of a core)
// with nothing on the screen changing, all of it the ticker
// (BenchmarkIdle, BENCHMARKS.md). v1 has no way to pause it, and a lower
// rate only trades CPU for the time from a key press to the screen (up to
// one frame period). So the program runs with tea.WithoutRenderer and the
// frame is drawn here, right after the Update that changed it, on Bubble
// Tea's own event-loop goroutine: no ticker at all, an idle dashboard does
// nothing between its scheduled clock ticks, and a key press reaches the
// screen without waiting for a frame period.
//
// tea.WithoutRenderer also turns off what Bubble Tea v1.3.10 does for a
// terminal only when it has a renderer (tea.go Run, tty.go initTerminal,
// restoreTerminalState, handleResize): raw mode and its restoration, the
// alternate screen, hiding the cursor, bracketed paste, mouse reporting,
// and the window size (first size and SIGWINCH). terminal does those
// here. Bubble Tea still reads and parses the keys; SIGINT and SIGTERM
// end Run's context instead of going through Bubble Tea (see Run).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"
)

// display writes frames to the terminal, as little as it can: only the lines
// that differ from the last frame, and the whole screen only after a
// resize.
type display struct {
	out  io.Writer
	w, h int
	// last is the last frame's lines as the model gave them (before they
	// were cut to the width): a line equal to its old self is not
	// measured again.
	last    []string
	repaint bool
	buf     bytes.Buffer
	// mu orders a frame's write and the terminal's restoration, which a
	// panicking command does from its own goroutine; closed is set once
	// the terminal is given back: no frame may land on the person's shell
	// after that.
	mu     sync.Mutex
	closed bool
}

// resize takes the terminal's new size; the next frame repaints it all, as
// the terminal may have reflowed or cut what was on it.
func (s *display) resize(w, h int) {
	s.w, s.h = w, h
	s.repaint = true
}

// draw writes the frame's changes in one write. Each changed line goes to
// its row (cursor position, the line cut to the width as lipgloss measures
// it, erase to the end of the row when it is shorter), inside a
// synchronized update (DEC mode 2026) so a terminal that knows it shows
// the frame at once; others ignore the mode.
func (s *display) draw(frame string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w <= 0 || s.h <= 0 || s.closed {
		return nil
	}
	lines := strings.Split(frame, "\n")
	if len(lines) > s.h {
		// As Bubble Tea's renderer: the bottom of a frame taller than the
		// screen (the model sizes its frame to the screen, so this is a
		// frame built for an older size).
		lines = lines[len(lines)-s.h:]
	}
	s.buf.Reset()
	s.buf.WriteString(ansi.SetModeSynchronizedOutput)
	if s.repaint {
		s.buf.WriteString(ansi.CursorHomePosition + ansi.EraseEntireScreen)
	}
	for i, line := range lines {
		if !s.repaint && i < len(s.last) && s.last[i] == line {
			continue
		}
		cut := ansi.Truncate(line, s.w, "")
		if s.repaint && cut == "" {
			continue // already blank
		}
		s.buf.WriteString(ansi.CursorPosition(1, i+1))
		s.buf.WriteString(cut)
		// Not on a full row: the cursor waits in the last column, where an
		// erase would take the row's last character.
		if ansi.StringWidth(cut) < s.w {
			s.buf.WriteString(ansi.EraseLineRight)
		}
	}
	if !s.repaint && len(s.last) > len(lines) {
		// A shorter frame: blank the rows the last one left below it.
		s.buf.WriteString(ansi.CursorPosition(1, len(lines)+1) + ansi.EraseScreenBelow)
	}
	s.last = append(s.last[:0], lines...)
	s.repaint = false
	if s.buf.Len() == len(ansi.SetModeSynchronizedOutput) {
		return nil // nothing changed
	}
	s.buf.WriteString(ansi.ResetModeSynchronizedOutput)
	_, err := s.out.Write(s.buf.Bytes())
	return err
}

// screenModel is the program's model: the dashboard's model, drawn on the
// screen after each Update. The dashboard's model stays a plain tea.Model
// (tests drive it through teatest with Bubble Tea's own renderer).
type screenModel struct {
	tea.Model
	scr  *display
	term *terminal
	err  error // the first failed write to the terminal
}

func (s *screenModel) Init() tea.Cmd {
	return s.guard(s.Model.Init())
}

func (s *screenModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	defer s.restoreOnPanic()
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		s.scr.resize(ws.Width, ws.Height)
	}
	m, cmd := s.Model.Update(msg)
	s.Model = m
	return s, s.guard(cmd)
}

// View draws the frame and gives Bubble Tea's renderer, which is off,
// nothing. Bubble Tea calls it after every Update; the dashboard's View
// returns its cached frame when nothing changed, and draw then writes
// nothing.
func (s *screenModel) View() string {
	defer s.restoreOnPanic()
	if err := s.scr.draw(s.Model.View()); err != nil && s.err == nil {
		s.err = fmt.Errorf("draw on the terminal: %w", err)
	}
	return ""
}

// restoreOnPanic gives the terminal back before a panic goes on to Bubble
// Tea, which prints it: printed on the alternate screen in raw mode, it
// would be wiped when the screen is left.
func (s *screenModel) restoreOnPanic() {
	if r := recover(); r != nil {
		s.term.restore()
		panic(r)
	}
}

// guard does the same for a command, which Bubble Tea runs on a goroutine
// of its own, and for the commands of a batch it returns. (The dashboard
// does not use tea.Sequence, whose message type is not exported.)
func (s *screenModel) guard(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		defer s.restoreOnPanic()
		msg := cmd()
		if batch, ok := msg.(tea.BatchMsg); ok {
			for i := range batch {
				batch[i] = s.guard(batch[i])
			}
		}
		return msg
	}
}

// terminal is the terminal's state around the program: raw mode, the
// alternate screen, the hidden cursor, bracketed paste and, when asked,
// mouse reporting, all undone by restore.
type terminal struct {
	in    *os.File // nil when input is not a terminal (tests)
	out   io.Writer
	outFd int // -1 when output is not a terminal
	mouse bool
	scr   *display

	saved *term.State
	once  sync.Once
	err   error
}

// Mouse reporting as tea.WithMouseCellMotion asks for it: button events and
// drags (1002), in SGR encoding (1006), which Bubble Tea's input parser
// reads.
const (
	mouseOn  = ansi.SetModeMouseButtonEvent + ansi.SetModeMouseExtSgr
	mouseOff = ansi.ResetModeMouseButtonEvent + ansi.ResetModeMouseAnyEvent + ansi.ResetModeMouseExtSgr
)

// open puts the terminal in the state the dashboard needs. On an error
// it has given back what it took.
func (t *terminal) open() error {
	if t.in != nil {
		saved, err := term.MakeRaw(int(t.in.Fd()))
		if err != nil {
			return fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		t.saved = saved
	}
	seq := ansi.SetModeAltScreenSaveCursor + ansi.EraseEntireScreen + ansi.CursorHomePosition +
		ansi.HideCursor + ansi.SetModeBracketedPaste
	if t.mouse {
		seq += mouseOn
	}
	if _, err := io.WriteString(t.out, seq); err != nil {
		t.restore()
		return fmt.Errorf("set up the terminal: %w", err)
	}
	return nil
}

// size is the terminal's size now; ok is false when output is not a
// terminal.
func (t *terminal) size() (w, h int, ok bool) {
	if t.outFd < 0 {
		return 0, 0, false
	}
	w, h, err := term.GetSize(t.outFd)
	return w, h, err == nil
}

// restore gives the terminal back as it was found, once, whichever way the
// program ends: no more frames, mouse and paste modes off, the cursor
// shown, the main screen back, and the line discipline's old settings
// (cooked mode, echo).
func (t *terminal) restore() error {
	t.once.Do(func() {
		t.scr.mu.Lock()
		defer t.scr.mu.Unlock()
		t.scr.closed = true
		seq := ansi.ResetModeBracketedPaste + ansi.ShowCursor + ansi.ResetModeAltScreenSaveCursor
		if t.mouse {
			seq = mouseOff + seq
		}
		if _, err := io.WriteString(t.out, seq); err != nil {
			t.err = fmt.Errorf("restore the terminal: %w", err)
		}
		if t.saved != nil {
			if err := term.Restore(int(t.in.Fd()), t.saved); err != nil && t.err == nil {
				t.err = fmt.Errorf("restore the terminal's mode: %w", err)
			}
		}
	})
	return t.err
}

// watchSize tells the program the terminal's size now and after every
// resize (SIGWINCH), until ctx ends. Bubble Tea does this only with its
// renderer on.
func watchSize(ctx context.Context, t *terminal, send func(tea.Msg)) {
	if t.outFd < 0 {
		return
	}
	sig := make(chan os.Signal, 1)
	if len(resizeSignals) > 0 {
		signal.Notify(sig, resizeSignals...)
		defer signal.Stop(sig)
	}
	for {
		if w, h, ok := t.size(); ok {
			send(tea.WindowSizeMsg{Width: w, Height: h})
		}
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
	}
}
