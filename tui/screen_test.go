package tui

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"github.com/proberctl/proberctl/internal/termtest"
)

// vtTerm is a terminal for the display to draw on: a VT emulator, and a
// count of the writes it got. The writer goroutine writes while a test
// looks: mu keeps them apart.
type vtTerm struct {
	mu     sync.Mutex
	emu    *vt.Emulator
	writes int
	bytes  int
}

func newVTTerm(w, h int) *vtTerm {
	emu := vt.NewEmulator(w, h)
	// The emulator answers queries through a pipe nobody reads here; the
	// display sends none.
	return &vtTerm{emu: emu}
}

func (v *vtTerm) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.writes++
	v.bytes += len(p)
	return v.emu.Write(p)
}

func (v *vtTerm) resize(w, h int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.emu.Resize(w, h)
}

// counts is how many writes and bytes the terminal got so far.
func (v *vtTerm) counts() (writes, bytes int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.writes, v.bytes
}

// lines is the emulator's screen, one string per row.
func (v *vtTerm) lines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return termtest.Lines(v.emu)
}

// want is what a frame must look like on a w x h terminal: its plain text,
// each line cut to the width and padded to it, blank rows below.
func want(frame string, w, h int) []string {
	lines := strings.Split(ansi.Strip(frame), "\n")
	if len(lines) > h {
		lines = lines[len(lines)-h:]
	}
	out := make([]string, h)
	for i := range out {
		l := ""
		if i < len(lines) {
			l = ansi.Truncate(lines[i], w, "")
		}
		out[i] = l + strings.Repeat(" ", w-ansi.StringWidth(l))
	}
	return out
}

func sameScreen(t *testing.T, step string, got, want []string) {
	t.Helper()
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Fatalf("%s: row %d is\n%q\nwant\n%q\nscreen:\n%s", step, i+1, g, want[i], strings.Join(got, "\n"))
		}
	}
}

// TestDisplayDraws draws frames chosen for the cases a line-by-line
// renderer gets wrong, and checks the terminal shows each frame exactly.
func TestDisplayDraws(t *testing.T) {
	type step struct {
		name  string
		w, h  int // a resize before the frame; 0 keeps the size
		frame string
		// writes is how many writes the frame may take: 0 when nothing
		// changed, 1 otherwise (one write per frame).
		writes int
	}
	full := strings.Repeat("x", 19) + "Z" // exactly 20 cells: the last one must stay
	steps := []step{
		{name: "first frame", w: 20, h: 5, frame: "header\nrow one\nrow two\n\nfooter", writes: 1},
		{name: "same frame: nothing written", frame: "header\nrow one\nrow two\n\nfooter", writes: 0},
		{name: "one line shorter: its tail erased", frame: "header\nrow\nrow two\n\nfooter", writes: 1},
		{name: "a line exactly as wide as the screen", frame: "header\n" + full + "\nrow two\n\nfooter", writes: 1},
		{name: "lines wider than the screen are cut, not wrapped",
			frame: "header\n" + strings.Repeat("abcdefghij", 5) + "\n\x1b[1m" + strings.Repeat("é", 30) + "\x1b[0m\n\nfooter", writes: 1},
		{name: "wide characters", frame: "日本語のテキスト、全角の文字が十個以上\n█░▒ ● → …\n\n\nend", writes: 1},
		{name: "a shorter frame blanks the rows below it", frame: "only\ntwo", writes: 1},
		{name: "a longer frame again", frame: "1\n2\n3\n4\n5", writes: 1},
		{name: "a frame taller than the screen shows its bottom", frame: "a\nb\nc\nd\ne\nf\ng", writes: 1},
		{name: "shrunk: all repainted", w: 10, h: 3, frame: "header line that is long\nx\nfooter", writes: 1},
		{name: "grown: all repainted, nothing old left", w: 30, h: 6, frame: "h\n\n\n\n\nf", writes: 1},
		{name: "empty frame", frame: "", writes: 1},
	}
	term := newVTTerm(20, 5)
	d := newTermWriter(term)
	w, h := 0, 0
	for _, s := range steps {
		if s.w > 0 {
			w, h = s.w, s.h
			term.resize(w, h)
			d.resize(w, h)
		}
		before, _ := term.counts()
		d.draw(s.frame)
		if err := d.flush(0); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got, _ := term.counts(); got-before != s.writes {
			t.Errorf("%s: %d writes, want %d", s.name, got-before, s.writes)
		}
		sameScreen(t, s.name, term.lines(), want(s.frame, w, h))
	}
}

// TestSameSizeDrawsNothing sends the dashboard window sizes as the
// terminal reports them, some twice (a SIGWINCH that changed nothing):
// the same size again writes nothing at all, another size repaints the
// screen to exactly the new frame.
func TestSameSizeDrawsNothing(t *testing.T) {
	steps := []struct {
		w, h  int
		bytes bool // whether anything may be written
	}{
		{120, 40, true},
		{120, 40, false},
		{100, 30, true},
		{100, 30, false},
		{100, 30, false},
		{80, 24, true},
		{120, 40, true},
		{120, 40, false},
	}
	m, _ := newTestModel(t, 120, 40, seedBatch())
	term := newVTTerm(120, 40)
	scr := newTermWriter(term)
	s := &screenModel{Model: m, scr: scr, term: &terminal{outFd: -1, scr: scr}}
	for i, st := range steps {
		term.resize(st.w, st.h)
		_, before := term.counts()
		s.Update(tea.WindowSizeMsg{Width: st.w, Height: st.h})
		s.View()
		if err := scr.flush(0); err != nil {
			t.Fatal(err)
		}
		_, after := term.counts()
		name := fmt.Sprintf("step %d (%dx%d)", i+1, st.w, st.h)
		if n := after - before; (n > 0) != st.bytes {
			t.Errorf("%s: %d bytes written, want any: %v", name, n, st.bytes)
		}
		sameScreen(t, name, term.lines(), want(m.View(), st.w, st.h))
	}
}

// TestDisplayFollowsModel draws the dashboard's own frames through a walk
// over its panes, keys and sizes, and checks after each that the terminal
// shows exactly the frame: nothing stale from a pane left, nothing
// wrapped.
func TestDisplayFollowsModel(t *testing.T) {
	type step struct {
		keys []string
		w, h int // a resize first; 0 keeps the size
	}
	steps := []step{
		{w: 160, h: 48},
		{keys: []string{"?"}}, {keys: []string{"?"}},
		{keys: []string{"2"}}, {keys: []string{"?"}}, {keys: []string{"?"}}, {keys: []string{"1"}},
		{keys: []string{"down"}}, {keys: []string{"enter"}}, {keys: []string{"esc"}},
		{keys: []string{"3"}}, {keys: []string{"e"}}, {keys: []string{"5"}}, {keys: []string{"4"}},
		{w: 80, h: 24},
		{keys: []string{"?"}}, {keys: []string{"down", "down", "down"}},
		{w: 120, h: 40},
		{keys: []string{"?"}}, {keys: []string{"/"}}, {keys: []string{"7"}}, {keys: []string{"esc"}},
		{keys: []string{"s"}}, {keys: []string{"s"}}, {keys: []string{"2"}},
		{w: 60, h: 10}, // below the minimum: the model says so
		{w: 100, h: 30},
		{keys: []string{"enter"}}, {keys: []string{"up"}},
	}
	m, _ := newTestModel(t, 160, 48, seedBatch())
	term := newVTTerm(160, 48)
	d := newTermWriter(term)
	d.resize(160, 48)
	w, h := 160, 48
	for i, s := range steps {
		name := strings.Join(s.keys, " ")
		if s.w > 0 {
			w, h = s.w, s.h
			term.resize(w, h)
			d.resize(w, h)
			m.Update(tea.WindowSizeMsg{Width: w, Height: h})
			name = "resize"
		}
		press(t, m, s.keys...)
		frame := m.View()
		d.draw(frame)
		if err := d.flush(0); err != nil {
			t.Fatal(err)
		}
		sameScreen(t, fmt.Sprintf("step %d (%s)", i+1, name), term.lines(), want(frame, w, h))
	}
}

// TestDisplayClosed checks no frame is drawn once the terminal is given
// back.
func TestDisplayClosed(t *testing.T) {
	var out bytes.Buffer
	d := newTermWriter(&out)
	d.resize(20, 5)
	tm := &terminal{outFd: -1, scr: d}
	if err := tm.restore(); err != nil {
		t.Fatal(err)
	}
	n := out.Len()
	d.draw("a frame")
	if err := d.flush(0); err != nil {
		t.Fatal(err)
	}
	if out.Len() != n {
		t.Errorf("drew %q after the terminal was given back", out.String()[n:])
	}
}

// TestTerminalModes checks what the program asks of the terminal and that
// restore undoes each of it, mouse included when asked for.
func TestTerminalModes(t *testing.T) {
	for _, mouse := range []bool{false, true} {
		var out bytes.Buffer
		tm := &terminal{outFd: -1, mouse: mouse, scr: newTermWriter(&out)}
		if err := tm.open(); err != nil {
			t.Fatal(err)
		}
		opened := out.String()
		if err := tm.restore(); err != nil {
			t.Fatal(err)
		}
		restored := out.String()[len(opened):]
		pairs := [][2]string{
			{ansi.SetModeAltScreenSaveCursor, ansi.ResetModeAltScreenSaveCursor},
			{ansi.HideCursor, ansi.ShowCursor},
			{ansi.SetModeBracketedPaste, ansi.ResetModeBracketedPaste},
		}
		if mouse {
			pairs = append(pairs, [2]string{ansi.SetModeMouseButtonEvent, ansi.ResetModeMouseButtonEvent},
				[2]string{ansi.SetModeMouseExtSgr, ansi.ResetModeMouseExtSgr})
		}
		for _, p := range pairs {
			if !strings.Contains(opened, p[0]) {
				t.Errorf("mouse %v: open lacks %q: %q", mouse, p[0], opened)
			}
			if !strings.Contains(restored, p[1]) {
				t.Errorf("mouse %v: restore lacks %q: %q", mouse, p[1], restored)
			}
		}
		if !mouse && strings.Contains(opened, ansi.SetModeMouseButtonEvent) {
			t.Errorf("mouse reporting on without --mouse: %q", opened)
		}
		if err := tm.restore(); err != nil || out.Len() != len(opened)+len(restored) {
			t.Errorf("a second restore wrote again or failed (%v)", err)
		}
	}
}

// panicky panics in Update on "boom", in View when viewBoom is set, and in
// a command on "cmd".
type panicky struct{ viewBoom bool }

func (p *panicky) Init() tea.Cmd { return nil }
func (p *panicky) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch k.String() {
		case "boom":
			panic("boom in Update")
		case "cmd":
			return p, tea.Batch(nil, func() tea.Msg { panic("boom in a command") })
		}
	}
	return p, nil
}
func (p *panicky) View() string {
	if p.viewBoom {
		panic("boom in View")
	}
	return "ok"
}

// TestPanicRestoresTerminal checks a panic in Update, View or a command
// gives the terminal back before it goes on to Bubble Tea, which prints it
// where the person can read it.
func TestPanicRestoresTerminal(t *testing.T) {
	cases := []struct {
		name string
		do   func(s *screenModel)
	}{
		{"update", func(s *screenModel) { s.Update(keyMsg("boom")) }},
		{"view", func(s *screenModel) { s.Model.(*panicky).viewBoom = true; s.View() }},
		{"command in a batch", func(s *screenModel) {
			_, cmd := s.Update(keyMsg("cmd"))
			for _, c := range cmd().(tea.BatchMsg) {
				if c != nil {
					c()
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			d := newTermWriter(&out)
			tm := &terminal{outFd: -1, scr: d}
			s := &screenModel{Model: &panicky{}, scr: d, term: tm}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("the panic did not go on")
					}
				}()
				tc.do(s)
			}()
			// restore returned: what it wrote is in out.
			if !strings.Contains(out.String(), ansi.ResetModeAltScreenSaveCursor) {
				t.Errorf("terminal not given back before the panic went on: %q", out.String())
			}
		})
	}
}

// BenchmarkDraw is what the display adds to a frame: the selection moved
// (two rows change) and a full repaint (after a resize), on the seed's pods
// at 160x48, written to a terminal that takes the bytes at once.
func BenchmarkDraw(b *testing.B) {
	m, _ := newTestModel(b, 160, 48, seedBatch())
	down, up := m.View(), ""
	press(b, m, "down")
	up = m.View()
	frames := []string{down, up}
	for _, full := range []bool{false, true} {
		b.Run(fmt.Sprintf("repaint=%v", full), func(b *testing.B) {
			var n countWriter
			d := &display{out: &n}
			f := frame{w: 160, h: 48, resizes: 1}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if full {
					f.resizes++ // a resize: all repainted
				}
				f.text = frames[i%2]
				if err := d.draw(f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
		})
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
