package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
)

// timelinePane draws each pod's last minutes as a strip, one line per pod,
// in the table's order and scrolled with the table's selection, so a pod's
// restarts and flapping readiness are seen rather than read.
type timelinePane struct {
	st   *styles
	keys *keyMap
	w, h int

	cells []markKind // reused per row

	// layout counts SetSize calls and steps back of the wall clock (rows
	// drawn for another width or against a later clock are stale); expiry is when the last View's strips next move (zero:
	// never); renders counts rows drawn rather than taken from their cache.
	layout  uint64
	expiry  time.Time
	renders int
}

func newTimelinePane(st *styles, keys *keyMap) timelinePane {
	return timelinePane{st: st, keys: keys}
}

func (t *timelinePane) SetSize(w, h int) { t.w, t.h = w, h; t.layout++ }

func (t *timelinePane) ShortHelp() []key.Binding {
	k := t.keys
	return []key.Binding{k.Up, k.Down, k.Detail, k.Crash}
}

// legend explains the glyphs in words; it is the pane's first line.
func (t *timelinePane) legend() string {
	var b strings.Builder
	b.WriteString("5m→now:")
	for k := markReady; k < markCount; k++ {
		b.WriteString(" ")
		b.WriteString(t.st.Timeline[k].Render(markGlyph[k]))
		b.WriteByte(' ')
		b.WriteString(markName[k])
	}
	return b.String()
}

// View draws the rows around the table's cursor, each from its cache while
// that is fresh.
func (t *timelinePane) View(p *podsPane, s *clusterState, now time.Time) string {
	t.expiry = time.Time{}
	lines := []string{t.legend()}
	n := t.h - 1
	if n <= 0 {
		return block(lines, t.w, max(t.h, 1))
	}
	nameW := min(max(t.w/3, 12), 40)
	stripW := max(t.w-nameW-gutter-1, 1)
	if cap(t.cells) < stripW {
		t.cells = make([]markKind, stripW)
	}
	cells := t.cells[:stripW]
	start := 0
	if p.cursor >= n {
		start = p.cursor - n + 1
	}
	end := min(start+n, len(p.rows))
	for i := start; i < end; i++ {
		r := p.rows[i]
		h := s.hist[r.key]
		selected := i == p.cursor
		if !r.stripView.fresh(r, h, t.layout, selected, false, now) {
			var b strings.Builder
			if selected {
				b.WriteString(">  ")
			} else {
				b.WriteString("   ")
			}
			b.WriteString(fitMiddle(r.pod.Name, nameW))
			b.WriteByte(' ')
			if h != nil {
				h.strip(now, timelineWindow, cells)
				t.writeStrip(&b, cells)
			}
			r.stripView.set(b.String(), h.stripExpiry(now, timelineWindow, stripW), r, h, t.layout, selected, false)
			t.renders++
		}
		t.expiry = earlier(t.expiry, r.stripView.expiry)
		lines = append(lines, r.stripView.line)
	}
	return block(lines, t.w, t.h)
}

// writeStrip renders runs of the same kind with one style call each.
func (t *timelinePane) writeStrip(b *strings.Builder, cells []markKind) {
	for i := 0; i < len(cells); {
		j := i
		for j < len(cells) && cells[j] == cells[i] {
			j++
		}
		b.WriteString(t.st.Timeline[cells[i]].Render(strings.Repeat(markGlyph[cells[i]], j-i)))
		i = j
	}
}
