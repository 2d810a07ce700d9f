package termtest

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// TestLines writes known escape sequences and checks the rows a person
// would read.
func TestLines(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		in   string
		want []string
	}{
		{name: "blank", w: 4, h: 2, in: "", want: []string{"    ", "    "}},
		{name: "text and CR LF", w: 6, h: 3, in: "ab\r\ncd", want: []string{"ab    ", "cd    ", "      "}},
		{name: "cursor position is 1-based row;column", w: 5, h: 3, in: "\x1b[2;3Hx\x1b[1;1Hy",
			want: []string{"y    ", "  x  ", "     "}},
		{name: "erase to the end of the line", w: 5, h: 1, in: "hello\x1b[1;3H\x1b[K", want: []string{"he   "}},
		{name: "erase the screen", w: 3, h: 2, in: "abc\r\ndef\x1b[2J", want: []string{"   ", "   "}},
		{name: "a long line wraps (auto wrap is on by default)", w: 4, h: 2, in: "abcdef", want: []string{"abcd", "ef  "}},
		{name: "without auto wrap the last column is overwritten", w: 4, h: 2, in: "\x1b[?7labcdef", want: []string{"abcf", "    "}},
		{name: "a full screen scrolls up on LF", w: 2, h: 2, in: "a\r\nb\r\nc", want: []string{"b ", "c "}},
		// A wide character takes two cells and is written once.
		{name: "wide characters", w: 6, h: 1, in: "日本x", want: []string{"日本x "}},
		{name: "styles are not text", w: 4, h: 1, in: "\x1b[1;31mab\x1b[0m", want: []string{"ab  "}},
		{name: "the alternate screen starts blank", w: 3, h: 1, in: "abc" + ansi.SetModeAltScreenSaveCursor + "x", want: []string{"x  "}},
		{name: "leaving it shows the main screen again", w: 3, h: 1,
			in: "abc" + ansi.SetModeAltScreenSaveCursor + "x" + ansi.ResetModeAltScreenSaveCursor, want: []string{"abc"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.w, tc.h)
			if _, err := s.Write([]byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			if got := s.Lines(); !slices.Equal(got, tc.want) {
				t.Errorf("%q: screen\n%q\nwant\n%q", tc.in, got, tc.want)
			}
			// The function and the method read the same.
			emu := vt.NewEmulator(tc.w, tc.h)
			emu.WriteString(tc.in)
			if got := Lines(emu); !slices.Equal(got, tc.want) {
				t.Errorf("Lines(emulator) after %q:\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
}

// TestWritesInPieces: a sequence split across writes, as a pty hands
// them over, is still one sequence.
func TestWritesInPieces(t *testing.T) {
	in := "\x1b[2;2H\x1b[31m日x\x1b[0m"
	for cut := 1; cut < len(in); cut++ {
		s := New(5, 2)
		s.Write([]byte(in[:cut]))
		s.Write([]byte(in[cut:]))
		if got, want := s.Lines(), []string{"     ", " 日x "}; !slices.Equal(got, want) {
			t.Fatalf("cut at %d: %q, want %q", cut, got, want)
		}
		if n := s.Coloured(); n != 2 { // 日 counts once
			t.Fatalf("cut at %d: %d coloured cells, want 2", cut, n)
		}
	}
}

func TestColoured(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"plain", 0},
		{"\x1b[1mbold\x1b[0m \x1b[7mreverse\x1b[0m \x1b[4munder\x1b[0m", 0}, // NO_COLOR allows these
		{"\x1b[31mred\x1b[0m plain", 3},
		{"\x1b[38;5;202mabcd\x1b[0m", 4},      // 256 colours
		{"\x1b[38;2;1;2;3mab\x1b[0m", 2},      // true colour
		{"\x1b[44mxy\x1b[0m", 2},              // background only
		{"\x1b[31;42mx\x1b[39mx\x1b[49mx", 2}, // back to the defaults one at a time
		{"\x1b[31m\x1b[2J", 0},                // an erase in colour leaves default cells
	}
	for _, tc := range cases {
		s := New(20, 1)
		s.Write([]byte(tc.in))
		if got := s.Coloured(); got != tc.want {
			t.Errorf("%q: %d coloured cells, want %d", tc.in, got, tc.want)
		}
	}
}

// TestState follows what a full-screen program sets and must give back.
func TestState(t *testing.T) {
	s := New(10, 3)
	check := func(step string, alt, hidden bool, mouse []ansi.Mode, sgr bool) {
		t.Helper()
		if got := s.AltScreen(); got != alt {
			t.Errorf("%s: alternate screen %v, want %v", step, got, alt)
		}
		if got := s.CursorHidden(); got != hidden {
			t.Errorf("%s: cursor hidden %v, want %v", step, got, hidden)
		}
		if got := s.MouseReporting(); !slices.Equal(got, mouse) {
			t.Errorf("%s: mouse reporting %v, want %v", step, got, mouse)
		}
		if got := s.Mode(ansi.ModeMouseExtSgr); got != sgr {
			t.Errorf("%s: SGR mouse encoding %v, want %v", step, got, sgr)
		}
	}
	check("new", false, false, nil, false)
	for _, m := range []ansi.Mode{ansi.ModeAutoWrap, ansi.ModeTextCursorEnable} {
		if !s.Mode(m) {
			t.Errorf("new: mode %v is reset; it is on at power-on", m)
		}
	}
	if s.Mode(ansi.ModeBracketedPaste) {
		t.Error("new: bracketed paste on")
	}
	s.Write([]byte(ansi.SetModeAltScreenSaveCursor + ansi.HideCursor + ansi.SetModeMouseButtonEvent + ansi.SetModeMouseExtSgr))
	check("opened", true, true, []ansi.Mode{ansi.ModeMouseButtonEvent}, true)
	s.Write([]byte(ansi.SetModeMouseAnyEvent + ansi.SetModeMouseNormal))
	check("more mouse modes", true, true, []ansi.Mode{ansi.ModeMouseNormal, ansi.ModeMouseButtonEvent, ansi.ModeMouseAnyEvent}, true)
	s.Write([]byte(ansi.ResetModeMouseButtonEvent + ansi.ResetModeMouseAnyEvent + ansi.ResetModeMouseExtSgr))
	check("two of them off", true, true, []ansi.Mode{ansi.ModeMouseNormal}, false)
	s.Write([]byte(ansi.ResetModeMouseNormal + ansi.ShowCursor + ansi.ResetModeAltScreenSaveCursor))
	check("given back", false, false, nil, false)

	s.Write([]byte(ansi.SetModeMouseX10 + "\x1bc")) // RIS: everything to its default
	check("full reset", false, false, nil, false)
	if !s.Mode(ansi.ModeAutoWrap) {
		t.Error("full reset: auto wrap off")
	}

	s.Write([]byte("\x1b[3;5H"))
	if x, y := s.Cursor(); x != 4 || y != 2 {
		t.Errorf("cursor at %d,%d after CUP 3;5, want 4,2", x, y)
	}
}

func TestResize(t *testing.T) {
	s := New(4, 2)
	s.Write([]byte("abcd\r\nefgh"))
	s.Resize(6, 3)
	if got := s.Lines(); len(got) != 3 || len(got[0]) != 6 {
		t.Fatalf("after a resize to 6x3: %q", got)
	}
	s.Resize(2, 1)
	if got := s.Lines(); len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("after a resize to 2x1: %q", got)
	}
}

// TestAnswers: a program's query is answered through Read, as the
// terminal's answer arrives on the program's input.
func TestAnswers(t *testing.T) {
	s := New(10, 5)
	answers := bufio.NewReader(s)
	wrote := make(chan error, 1)
	// The answer is written inside Write, which waits for it to be read.
	go func() {
		_, err := s.Write([]byte("\x1b[3;4H" + ansi.RequestCursorPositionReport))
		wrote <- err
	}()
	got, err := answers.ReadString('R')
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x1b[3;4R"; got != want {
		t.Errorf("cursor position report %q, want %q", got, want)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// A query nobody reads the answer to holds its Write until Close.
	go func() {
		_, err := s.Write([]byte(ansi.RequestCursorPositionReport + "after"))
		wrote <- err
	}()
	s.Close()
	if err := <-wrote; err != nil {
		t.Fatalf("a write waiting on its answer: %v", err)
	}
	if n, err := answers.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read after Close: %d bytes, %v; want io.EOF", n, err)
	}
	if _, err := s.Write([]byte("!")); err != nil {
		t.Errorf("a write after Close: %v", err)
	}
	if got := s.Lines()[2]; !strings.HasPrefix(got, "   after!") {
		t.Errorf("row 3 after Close %q, want the writes after the query", got)
	}
}

// fakeTB records a failure instead of ending the goroutine.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestWaitFor(t *testing.T) {
	s := New(10, 2)
	// A frame drawn in pieces by another goroutine: the wait ends when the
	// screen shows all of it, not at the first piece.
	go func() {
		for _, piece := range []string{"lo", "ad", "ing", "\r\nd", "one"} {
			s.Write([]byte(piece))
		}
	}()
	s.WaitFor(t, 10*time.Second, "both rows", func(l []string) bool {
		return strings.HasPrefix(l[0], "loading") && strings.HasPrefix(l[1], "done")
	})

	// Already true: no write is needed.
	s.WaitFor(t, time.Nanosecond, "what is on the screen", func(l []string) bool { return strings.HasPrefix(l[1], "done") })

	// Never true: the failure names what was awaited and shows the screen.
	f := &fakeTB{TB: t}
	s.WaitFor(f, 10*time.Millisecond, "a row saying never", func(l []string) bool { return l[0] == "never" })
	for _, want := range []string{"waited 10ms for a row saying never", "loading", "done"} {
		if !strings.Contains(f.failed, want) {
			t.Errorf("failure %q lacks %q", f.failed, want)
		}
	}
}
