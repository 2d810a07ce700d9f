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
// frame is drawn here, right after the Update that changed it: Bubble
// Tea's event loop hands it to a writer goroutine (termWriter), which writes
// what changed. No ticker at all, an idle dashboard does nothing between
// its scheduled clock ticks, a key press reaches the screen without
// waiting for a frame period, and a slow terminal drops frames instead of
// slowing Update down.
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
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"
)

// frame is one screen's worth of text as the model drew it, with the
// terminal's size it was drawn for.
type frame struct {
	text string
	w, h int
	// resizes counts the terminal's size changes up to this frame. The
	// writer repaints everything when it differs from the last frame
	// written: the terminal may have reflowed or cut what was on it, even
	// when the size is back to the written frame's after frames for
	// another size were dropped.
	resizes uint64
}

// display turns frames into writes to the terminal, as little as it can:
// only the lines that differ from the frame the terminal shows, and the
// whole screen only after a resize. It runs on termWriter's writer
// goroutine, so what it compares against is what was written, never a
// frame that was dropped.
type display struct {
	out io.Writer
	// last is the last written frame's lines as the model gave them
	// (before they were cut to the width): a line equal to its old self
	// is not measured again.
	last    []string
	resizes uint64
	buf     bytes.Buffer
}

// draw writes the frame's changes in one write. Each changed line goes to
// its row (cursor position, the line cut to the width as lipgloss measures
// it, erase to the end of the row when it is shorter), inside a
// synchronized update (DEC mode 2026) so a terminal that knows it shows
// the frame at once; others ignore the mode.
func (d *display) draw(f frame) error {
	if f.w <= 0 || f.h <= 0 {
		return nil
	}
	lines := strings.Split(f.text, "\n")
	if len(lines) > f.h {
		// As Bubble Tea's renderer: the bottom of a frame taller than the
		// screen (the model sizes its frame to the screen, so this is a
		// frame built for an older size).
		lines = lines[len(lines)-f.h:]
	}
	repaint := f.resizes != d.resizes
	d.buf.Reset()
	d.buf.WriteString(ansi.SetModeSynchronizedOutput)
	if repaint {
		d.buf.WriteString(ansi.CursorHomePosition + ansi.EraseEntireScreen)
	}
	for i, line := range lines {
		if !repaint && i < len(d.last) && d.last[i] == line {
			continue
		}
		cut := ansi.Truncate(line, f.w, "")
		if repaint && cut == "" {
			continue // already blank
		}
		d.buf.WriteString(ansi.CursorPosition(1, i+1))
		d.buf.WriteString(cut)
		// Not on a full row: the cursor waits in the last column, where an
		// erase would take the row's last character.
		if ansi.StringWidth(cut) < f.w {
			d.buf.WriteString(ansi.EraseLineRight)
		}
	}
	if !repaint && len(d.last) > len(lines) {
		// A shorter frame: blank the rows the last one left below it.
		d.buf.WriteString(ansi.CursorPosition(1, len(lines)+1) + ansi.EraseScreenBelow)
	}
	d.last = append(d.last[:0], lines...)
	d.resizes = f.resizes
	if d.buf.Len() == len(ansi.SetModeSynchronizedOutput) {
		return nil // nothing changed
	}
	d.buf.WriteString(ansi.ResetModeSynchronizedOutput)
	_, err := d.out.Write(d.buf.Bytes())
	return err
}

// termWriter hands frames from Bubble Tea's event loop to a writer goroutine,
// so a slow terminal (ssh over a bad link) never holds up Update: the
// event loop only swaps the newest frame into place and goes on. While a
// write is under way, a newer frame replaces the one waiting (the frames
// in between are dropped; the last one is always written). Sequences that
// change the terminal's modes go through the same queue, so they stay in
// order with the frames around them.
//
// The first failed write ends the writing: the terminal is gone (its ssh
// connection or window closed without a SIGHUP reaching us), gone is
// told, and nothing more is written.
type termWriter struct {
	disp display // the writer goroutine's

	mu sync.Mutex
	// wake (on mu) tells the writer there is work, and those waiting in
	// flush that the writer finished a write.
	wake sync.Cond
	// The event loop's side: the size frames are drawn for now, and how
	// many times it changed.
	w, h    int
	resizes uint64
	// queue is what the writer has still to write, in order: mode
	// sequences and frames; a frame at its end is replaced by a newer one.
	queue   []job
	writing bool // the writer is in a write, mu not held
	started bool // the writer goroutine was started
	// closed is set once the terminal is given back: no frame may land on
	// the person's shell after that.
	closed bool
	err    error       // the first failed write
	gone   func(error) // told of it, once
	// queued is the last frame queued: the dashboard's View returns its
	// cached frame when nothing changed, and the same frame again (the
	// same string: compared without reading it) need not wake the writer.
	queued frame
}

// job is one write: a frame, or a mode sequence when frame is nil.
type job struct {
	frame *frame
	seq   string
}

func newTermWriter(out io.Writer) *termWriter {
	s := &termWriter{disp: display{out: out}}
	s.wake.L = &s.mu
	return s
}

// resize takes the terminal's new size; the next frame repaints it all, as
// the terminal may have reflowed or cut what was on it. The same size
// again (a SIGWINCH that changed nothing, or Bubble Tea's own repeat)
// changes nothing, and the next frame writes only what changed.
func (s *termWriter) resize(w, h int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w == s.w && h == s.h {
		return
	}
	s.w, s.h = w, h
	s.resizes++
}

// draw hands the frame to the writer and returns at once.
func (s *termWriter) draw(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil || s.w <= 0 || s.h <= 0 {
		return
	}
	f := frame{text: text, w: s.w, h: s.h, resizes: s.resizes}
	if f == s.queued {
		return // queued or written already
	}
	s.queued = f
	if n := len(s.queue); n > 0 && s.queue[n-1].frame != nil {
		*s.queue[n-1].frame = f // latest wins: the waiting frame is dropped
		return
	}
	s.push(job{frame: &f})
}

// push queues a job and wakes the writer, starting it the first time.
func (s *termWriter) push(j job) {
	s.queue = append(s.queue, j)
	if !s.started {
		s.started = true
		go s.write()
	}
	s.wake.Broadcast()
}

// write is the writer goroutine: it writes the queue's jobs in order until
// the terminal is given back or a write fails. Waiting for work, it
// sleeps on a condition: no timer, no CPU while the dashboard is idle.
func (s *termWriter) write() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.queue) == 0 {
			if s.closed {
				return
			}
			s.wake.Wait()
		}
		j := s.queue[0]
		s.queue[0] = job{}
		s.queue = s.queue[1:]
		var f frame
		if j.frame != nil {
			f = *j.frame // taken out of the queue: no newer frame replaces it now
		}
		s.writing = true
		s.mu.Unlock()
		var err error
		if j.frame != nil {
			err = s.disp.draw(f)
		} else {
			_, err = io.WriteString(s.disp.out, j.seq)
		}
		s.mu.Lock()
		s.writing = false
		if err != nil {
			s.err, s.queue = err, nil
			s.wake.Broadcast()
			if s.gone != nil {
				s.mu.Unlock()
				s.gone(err)
				s.mu.Lock()
			}
			return
		}
		s.wake.Broadcast()
	}
}

// failure is the first failed write's error, nil while writes succeed.
func (s *termWriter) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// flush waits until the terminal has taken everything handed so far, a
// write failed, or limit passed (0: no limit). It reports a write's
// failure or that the limit passed.
func (s *termWriter) flush(limit time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked(limit)
}

func (s *termWriter) flushLocked(limit time.Duration) error {
	late := false
	if limit > 0 {
		t := time.AfterFunc(limit, func() {
			s.mu.Lock()
			late = true
			s.wake.Broadcast()
			s.mu.Unlock()
		})
		defer t.Stop()
	}
	for (len(s.queue) > 0 || s.writing) && s.err == nil && !late {
		s.wake.Wait()
	}
	switch {
	case s.err != nil:
		return s.err
	case late:
		return fmt.Errorf("the terminal did not take the output within %v", limit)
	}
	return nil
}

// send queues a mode sequence after the frames handed before it.
func (s *termWriter) send(seq string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return
	}
	s.push(job{seq: seq})
}

// close queues seq after every frame handed before it, takes no frame
// after it, and waits as flush does. After a failed write nothing is
// queued: the terminal is gone.
func (s *termWriter) close(seq string, limit time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		if s.err == nil {
			s.push(job{seq: seq})
		}
	}
	return s.flushLocked(limit)
}

// screenModel is the program's model: the dashboard's model, drawn on the
// screen after each Update. The dashboard's model stays a plain tea.Model
// (tests drive it through teatest with Bubble Tea's own renderer).
type screenModel struct {
	tea.Model
	scr  *termWriter
	term *terminal
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

// View hands the frame to the termWriter and gives Bubble Tea's
// renderer, which is off, nothing. Bubble Tea calls it after every
// Update; the dashboard's View returns its cached frame when nothing
// changed, and draw then does nothing. A failed write is termWriter's to
// report (termWriter.gone).
func (s *screenModel) View() string {
	defer s.restoreOnPanic()
	s.scr.draw(s.Model.View())
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
	outFd int      // -1 when output is not a terminal
	mouse bool
	scr   *termWriter
	// limit is how long open and restore wait for the terminal to take
	// their sequences (0: no limit). A terminal that takes nothing (a
	// stalled ssh link) must not keep Run from returning, or the lab
	// from stopping its pods.
	limit time.Duration

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
	t.scr.send(seq)
	if err := t.scr.flush(t.limit); err != nil {
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
// program ends: the frames handed before written, no more frames after,
// mouse and paste modes off, the cursor shown, the main screen back, and
// the line discipline's old settings (cooked mode, echo). It returns once
// the terminal took it all (or t.limit passed), so nothing the program
// drew lands on the person's shell after it.
func (t *terminal) restore() error {
	t.once.Do(func() {
		seq := ansi.ResetModeBracketedPaste + ansi.ShowCursor + ansi.ResetModeAltScreenSaveCursor
		if t.mouse {
			seq = mouseOff + seq
		}
		if err := t.scr.close(seq, t.limit); err != nil {
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
