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

// bodyPreview is how many body lines each result shows; a log shows its
// whole tail (kube.Actions.Logs returns at most 200 lines), wrapped.
const (
	bodyPreview = 8
	logLines    = 400
)

type outputEntry struct {
	at  time.Time
	res kube.Result
	// hint says why this result reads as it does, under its headline:
	// which instance a log is of and how to see the other one.
	hint string
	// notice is a message of the dashboard's own (chaos stopped), shown
	// instead of a result's headline.
	notice string

	// lines is the entry formatted for width w, kept until the width
	// changes: a log of hundreds of lines is wrapped once, not per result.
	lines []string
	w     int
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
	return []key.Binding{k.Up, k.Down, k.Top, k.Logs, k.Crash, k.Healthz}
}

func (o *outputPane) add(e outputEntry) {
	o.entries = append([]outputEntry{e}, o.entries...)
	if len(o.entries) > maxResults {
		o.entries = o.entries[:maxResults]
	}
	o.relayout()
	o.scroll.top()
	// A log longer than the pane opens on its end, where the reason a
	// container stopped is; the title says where the view is.
	if e.res.Action == "logs" && len(o.entries[0].lines) > o.scroll.h {
		o.scroll.offset = len(o.entries[0].lines) - o.scroll.h
		o.scroll.clamp()
	}
}

// relayout lays the entries out; each is formatted when it arrives or the
// width changes, never per frame.
func (o *outputPane) relayout() {
	w := max(o.scroll.w-4, 10)
	var lines []string
	for i := range o.entries {
		e := &o.entries[i]
		if e.lines == nil || e.w != w {
			e.lines, e.w = o.format(e, w), w
		}
		lines = append(lines, e.lines...)
	}
	o.scroll.setLines(lines)
}

// format is one entry's lines: the headline, then, indented and wrapped
// (errors, notes and bodies alike: they are the explanation), the hint, the
// error, the note and the body.
func (o *outputPane) format(e *outputEntry, w int) []string {
	indent := func(ls []string) []string {
		for i, l := range ls {
			ls[i] = "    " + l
		}
		return ls
	}
	if e.notice != "" {
		// A notice can be long (a skipped manifest names kind, name and
		// file): it wraps.
		return wrapLines(o.summary(*e, false), w, 6)
	}
	lines := []string{o.summary(*e, false)}
	if e.hint != "" {
		lines = append(lines, indent(wrapLines(e.hint, w, 3))...)
	}
	if e.res.Err != nil {
		lines = append(lines, indent(wrapLines(e.res.Err.Error(), w, 12))...)
	}
	if e.res.Note != "" {
		lines = append(lines, indent(wrapLines(e.res.Note, w, 3))...)
	}
	if e.res.Action == "logs" {
		body := tailLines(condenseLogs(e.res.Body), w, logLines)
		if len(body) == 0 && e.res.Err == nil {
			body = []string{"(the container wrote nothing)"}
		}
		lines = append(lines, indent(body)...)
	} else {
		lines = append(lines, indent(bodyLines(e.res.Body, w, bodyPreview))...)
	}
	return lines
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
	if e.notice != "" {
		b.WriteString(e.notice)
		return b.String()
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
			// The error names the action and pod again ("crash
			// default/x: nothing listens..."), which the line already
			// has: the reason is what fits on the status line.
			msg := r.Err.Error()
			if r.Target != (kube.Target{}) {
				msg = strings.TrimPrefix(msg, r.Action+" "+r.Target.String()+": ")
			}
			b.WriteString(": ")
			b.WriteString(sanitize(msg))
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
	n := len(o.entries)
	title := fmt.Sprintf("OUTPUT  %d %s, newest first", n, plural(n, "result"))
	if o.scroll.offset > 0 {
		// Scrolled, or a log opened on its end: say there is more above.
		title += fmt.Sprintf("  (line %d of %d, ↑ earlier)", o.scroll.offset+1, len(o.scroll.lines))
	}
	if o.pending > 0 {
		title += fmt.Sprintf("  (%d running)", o.pending)
	}
	if len(o.entries) == 0 && len(o.scroll.lines) == 0 {
		o.scroll.lines = []string{"  nothing fired yet: c crash, l logs, r resolve, h healthz, i info, d delete, a apply"}
	}
	return o.scroll.titled(title)
}
