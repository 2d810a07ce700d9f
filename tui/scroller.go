package tui

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
