package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// scroller is a list of lines with a scroll offset: the shared body of the
// text panes (events, output, rollout, detail, help).
type scroller struct {
	lines  []string
	offset int
	w, h   int
}

func (s *scroller) setSize(w, h int) {
	s.w, s.h = w, h
	s.clamp()
}

func (s *scroller) setLines(lines []string) {
	s.lines = lines
	s.clamp()
}

func (s *scroller) scroll(n int) {
	s.offset += n
	s.clamp()
}

// handleKey moves the view for the scrolling keys of k (up, down, page up,
// page down, top, bottom) and reports whether msg was one of them; every
// text pane and the help screen scroll the same way through it.
func (s *scroller) handleKey(msg tea.KeyMsg, k *keyMap) bool {
	switch {
	case key.Matches(msg, k.Up):
		s.scroll(-1)
	case key.Matches(msg, k.Down):
		s.scroll(1)
	case key.Matches(msg, k.PageUp):
		s.scroll(-s.h)
	case key.Matches(msg, k.PageDown):
		s.scroll(s.h)
	case key.Matches(msg, k.Top):
		s.top()
	case key.Matches(msg, k.Bottom):
		s.bottom()
	default:
		return false
	}
	return true
}

func (s *scroller) top()    { s.offset = 0 }
func (s *scroller) bottom() { s.offset = len(s.lines); s.clamp() }

func (s *scroller) clamp() {
	if m := len(s.lines) - s.h; s.offset > m {
		s.offset = m
	}
	if s.offset < 0 {
		s.offset = 0
	}
}

// titled is a pane's title line over its scrolled lines, in exactly the
// pane's height.
func (s *scroller) titled(title string) string {
	if s.h <= 0 {
		return fit(title, s.w)
	}
	return fit(title, s.w) + "\n" + s.view()
}

func (s *scroller) view() string {
	end := min(s.offset+s.h, len(s.lines))
	var vis []string
	if s.offset < end {
		vis = s.lines[s.offset:end]
	}
	return block(vis, s.w, s.h)
}
