package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

// maxResults bounds the output pane's memory.
const maxResults = 200

// bodyPreview is how many body lines each result shows.
const bodyPreview = 8

type outputEntry struct {
	at  time.Time
	res kube.Result
}

// outputPane lists action results newest first: status, latency, body.
type outputPane struct {
	st      *styles
	keys    *keyMap
	entries []outputEntry // newest first
	pending int           // actions fired and not yet answered
	scroll  scroller
}

func newOutputPane(st *styles, keys *keyMap) outputPane {
	return outputPane{st: st, keys: keys}
}

func (o *outputPane) SetSize(w, h int) {
	o.scroll.setSize(w, max(h-1, 0))
	o.relayout()
}

func (o *outputPane) ShortHelp() []key.Binding {
	k := o.keys
	return []key.Binding{k.Up, k.Down, k.Top, k.Crash, k.Healthz}
}

func (o *outputPane) add(at time.Time, r kube.Result) {
	o.entries = append([]outputEntry{{at, r}}, o.entries...)
	if len(o.entries) > maxResults {
		o.entries = o.entries[:maxResults]
	}
	o.relayout()
	o.scroll.top()
}

// relayout formats every entry; it runs only when a result arrives or the
// width changes, never per frame.
func (o *outputPane) relayout() {
	var lines []string
	indent := func(ls []string) {
		for _, l := range ls {
			lines = append(lines, "    "+l)
		}
	}
	w := max(o.scroll.w-4, 10)
	for _, e := range o.entries {
		lines = append(lines, o.summary(e, false))
		// Errors and notes are wrapped, not cut: they are the explanation.
		if e.res.Err != nil {
			indent(wrapLines(e.res.Err.Error(), w, 6))
		}
		if e.res.Note != "" {
			indent(wrapLines(e.res.Note, w, 3))
		}
		indent(bodyLines(e.res.Body, bodyPreview))
	}
	o.scroll.setLines(lines)
}

// summary is one result's headline. The status line shows the newest in
// short form (no time, the pod without its namespace, the note on the same
// line) so it fits 80 columns.
func (o *outputPane) summary(e outputEntry, short bool) string {
	r := e.res
	var b strings.Builder
	if !short {
		b.WriteString(e.at.Format("15:04:05"))
		b.WriteByte(' ')
	}
	b.WriteString(r.Action)
	switch {
	case r.Target == (kube.Target{}):
	case short:
		b.WriteByte(' ')
		b.WriteString(sanitize(r.Target.Pod))
	default:
		b.WriteByte(' ')
		b.WriteString(sanitize(r.Target.String()))
	}
	b.WriteString(" → ")
	switch {
	case r.Err != nil:
		b.WriteString(o.st.Error.Render("FAILED"))
		if short {
			b.WriteString(": ")
			b.WriteString(sanitize(r.Err.Error()))
		}
	case r.Code != 0:
		status := fmt.Sprintf("%d", r.Code)
		if r.Code >= 200 && r.Code < 400 {
			b.WriteString(o.st.OK.Render(status))
		} else {
			b.WriteString(o.st.Bad.Render(status))
		}
	default:
		b.WriteString(o.st.OK.Render("ok"))
	}
	if r.Latency > 0 {
		fmt.Fprintf(&b, " in %s", r.Latency.Round(time.Millisecond/10))
	}
	if short && r.Note != "" {
		b.WriteString(" (")
		b.WriteString(sanitize(r.Note))
		b.WriteString(")")
	}
	return b.String()
}

func (o *outputPane) Update(msg tea.KeyMsg) {
	o.scroll.handleKey(msg, o.keys)
}

func (o *outputPane) View() string {
	title := fmt.Sprintf("OUTPUT  %d results, newest first", len(o.entries))
	if o.pending > 0 {
		title += fmt.Sprintf("  (%d running)", o.pending)
	}
	if len(o.entries) == 0 && len(o.scroll.lines) == 0 {
		o.scroll.lines = []string{"  nothing fired yet: c crash, r resolve, h healthz, i info, d delete, a apply"}
	}
	return o.scroll.titled(title)
}
