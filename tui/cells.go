package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"k8s.io/apimachinery/pkg/util/duration"
)

// fit makes s exactly w cells wide: truncated with an ellipsis when longer
// (ANSI-aware, so styled text is cut without breaking escapes), padded with
// spaces when shorter. Every line the dashboard draws goes through fit or
// clip so nothing wraps.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		// A wide character that does not fit leaves the cut one cell
		// short; the padding below fills it.
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// fitMiddle is fit for names whose end matters: generated pod names differ
// in their last characters, so the middle gives way ("prober-…-4bxjb").
//
// Its text is a name from outside (pod, object, ReplicaSet), so it is
// sanitized here, where every name column passes.
func fitMiddle(s string, w int) string {
	s = sanitize(s)
	n := ansi.StringWidth(s)
	if n <= w || w < 8 {
		return fit(s, w)
	}
	tail := (w - 1) / 2
	head := w - 1 - tail
	return fit(ansi.Truncate(s, head, "")+"…"+ansi.TruncateLeft(s, n-tail, ""), w)
}

// clip cuts s to at most w cells without padding.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// fitRight pads on the left, for numbers.
func fitRight(s string, w int) string {
	n := ansi.StringWidth(s)
	if n >= w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-n) + s
}

// block pads or cuts lines to exactly h lines of width w.
func block(lines []string, w, h int) string {
	if h <= 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", max(w, 0)))
		}
	}
	return b.String()
}

// sanitize turns text from outside (HTTP bodies, event messages) into one
// printable line: tabs become spaces and control characters, including
// escape sequences a body might carry, are dropped.
//
// Invalid UTF-8 becomes U+FFFD first: a stray byte such as 0x9d is an 8-bit
// C1 control (OSC) to the ANSI parser, which would take the rest of the text,
// and on screen the rest of the frame, for an escape sequence. C1 controls
// (U+0080 to U+009F) are dropped like C0 ones for the same reason.
func sanitize(s string) string {
	s = ansi.Strip(strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return -1
		}
		return r
	}, s)
}

// bodyLines splits a body into sanitized lines wrapped at w cells (as
// errors and notes are: a long line is the message, not noise to cut), at
// most n of them; a longer body ends with a line saying how much is left.
func bodyLines(body string, w, n int) []string {
	lines := wrapBody(body, w)
	if len(lines) > n {
		rest := len(lines) - n + 1
		lines = append(lines[:n-1:n-1], fmt.Sprintf("… %d more %s", rest, plural(rest, "line")))
	}
	return lines
}

// tailLines is bodyLines keeping the end: a log's last lines say why its
// container stopped.
func tailLines(body string, w, n int) []string {
	lines := wrapBody(body, w)
	if len(lines) > n {
		cut := len(lines) - n + 1
		lines = append([]string{fmt.Sprintf("… %d earlier %s", cut, plural(cut, "line"))}, lines[cut:]...)
	}
	return lines
}

func wrapBody(body string, w int) []string {
	body = strings.TrimRight(body, "\r\n")
	if body == "" {
		return nil
	}
	var out []string
	for _, l := range strings.Split(body, "\n") {
		l = sanitize(strings.TrimRight(l, "\r"))
		if l == "" {
			out = append(out, "")
			continue
		}
		out = append(out, strings.Split(ansi.Wrap(l, max(w, 1), ""), "\n")...)
	}
	return out
}

// plural is word for one, word+"s" (or the plural given) for any other
// count.
func plural(n int, word string, many ...string) string {
	switch {
	case n == 1:
		return word
	case len(many) > 0:
		return many[0]
	}
	return word + "s"
}

// wrapLines wraps sanitized text at word boundaries (hard-cutting words
// longer than w), at most n lines.
func wrapLines(s string, w, n int) []string {
	out := strings.Split(ansi.Wrap(sanitize(s), w, ""), "\n")
	if len(out) > n {
		out = append(out[:n-1], clip(strings.Join(out[n-1:], " "), w))
	}
	return out
}

// since formats an age the way kubectl's AGE column does
// (translateTimestampSince in pkg/printers/internalversion/printers.go).
func since(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
