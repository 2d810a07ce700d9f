package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"
	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// podEvents are the events about pod from the dashboard's own cache (no API
// call), oldest first as `kubectl describe` lists them. describe asks the
// API for the pod's events by name, namespace and UID
// (k8s.io/kubectl/pkg/describe, searchEvents); here an event that names a
// UID must name this pod's, so a former pod of the same name does not lend
// the new one its kills.
func podEvents(events map[string]*corev1.Event, pod *corev1.Pod) []*corev1.Event {
	var out []*corev1.Event
	for _, ev := range events {
		o := ev.InvolvedObject
		if o.Kind != "Pod" || o.Namespace != pod.Namespace || o.Name != pod.Name {
			continue
		}
		if o.UID != "" && pod.UID != "" && o.UID != pod.UID {
			continue
		}
		out = append(out, ev)
	}
	// describe sorts by lastTimestamp (k8s.io/kubectl/pkg/util/event,
	// SortableEvents); EventTime is that, or the series' or eventTime of
	// an events.k8s.io event, which has no lastTimestamp.
	slices.SortFunc(out, func(a, b *corev1.Event) int {
		return cmp.Or(kube.EventTime(a).Compare(kube.EventTime(b)), strings.Compare(a.Name, b.Name))
	})
	return out
}

// Below this many cells the Message column is too narrow to read: each
// message goes on its own lines under its event instead.
const eventMessageMin = 40

// eventsLines is the Events section of `kubectl describe pod`
// (k8s.io/kubectl/pkg/describe, DescribeEvents): Type, Reason, Age, From
// and Message in columns two cells apart, Age as "10s (x5 over 2m)" for a
// repeated event (the last time, the count, the first time), From the
// reporting component, Message prefixed by the container's field path and
// wrapped to the width, not cut: the liveness kill's reason is in it.
func (d *detailPane) eventsLines(events []*corev1.Event, clk *agoClock) []string {
	if len(events) == 0 {
		// describe prints "Events:  <none>"; the dashboard only knows the
		// events its watch window kept.
		return []string{d.st.ColHeader.Render("Events:") + "  <none> (in the dashboard's window)"}
	}
	type row struct{ typ, reason, age, from, msg string }
	rows := make([]row, 0, len(events))
	// The widths of the headings and their dashes, at least.
	colW := [4]int{len("Type"), len("Reason"), len("----"), len("From")}
	for _, e := range events {
		first := e.EventTime.Time // as describe: eventTime, else firstTimestamp
		if first.IsZero() {
			first = e.FirstTimestamp.Time
		}
		age := clk.ago(first)
		switch {
		case e.Series != nil:
			age = fmt.Sprintf("%s (x%d over %s)", clk.ago(e.Series.LastObservedTime.Time), e.Series.Count, age)
		case e.Count > 1:
			age = fmt.Sprintf("%s (x%d over %s)", clk.ago(e.LastTimestamp.Time), e.Count, age)
		}
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		msg := strings.TrimSpace(e.Message)
		if p := e.InvolvedObject.FieldPath; p != "" {
			msg = p + ": " + msg
		}
		r := row{sanitize(e.Type), sanitize(e.Reason), age, sanitize(from), sanitize(strings.ReplaceAll(msg, "\n", " "))}
		for i, c := range []string{r.typ, r.reason, r.age, r.from} {
			colW[i] = max(colW[i], ansi.StringWidth(c))
		}
		rows = append(rows, r)
	}
	// cols lays four cells out; warn styles the first (a Warning type).
	cols := func(c [4]string, warn bool) string {
		var b strings.Builder
		b.WriteString("  ")
		for i, s := range c {
			pad := strings.Repeat(" ", colW[i]-ansi.StringWidth(s)+2)
			if i == 0 && warn {
				s = d.st.Warning.Render(s)
			}
			b.WriteString(s)
			b.WriteString(pad)
		}
		return b.String()
	}
	indent := 2 + colW[0] + colW[1] + colW[2] + colW[3] + 8
	msgW := d.scroll.w - indent
	narrow := msgW < eventMessageMin
	l := []string{d.st.ColHeader.Render("Events:") + "  (newest last, as kubectl describe lists them)"}
	if narrow {
		// The message under its event, indented, as wide as the screen.
		indent, msgW = 4, max(d.scroll.w-4, 10)
		l = append(l, strings.TrimRight(cols([4]string{"Type", "Reason", "Age", "From"}, false), " "),
			strings.TrimRight(cols([4]string{"----", "------", "----", "----"}, false), " "))
	} else {
		l = append(l, cols([4]string{"Type", "Reason", "Age", "From"}, false)+"Message",
			cols([4]string{"----", "------", "----", "----"}, false)+"-------")
	}
	pad := strings.Repeat(" ", indent)
	for _, r := range rows {
		line := cols([4]string{r.typ, r.reason, r.age, r.from}, r.typ == corev1.EventTypeWarning)
		msg := wrapWords(r.msg, msgW)
		if narrow {
			l = append(l, strings.TrimRight(line, " "))
			for _, m := range msg {
				l = append(l, pad+m)
			}
			continue
		}
		l = append(l, line+msg[0])
		for _, m := range msg[1:] {
			l = append(l, pad+m)
		}
	}
	return l
}

// wrapWords wraps plain text at spaces only, so a pod or container name
// stays whole to be read and searched (ansi.Wrap also breaks at hyphens);
// a word longer than a line is cut across lines. Never empty.
func wrapWords(s string, w int) []string {
	var out []string
	var line strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		ww := ansi.StringWidth(word)
		if n > 0 && n+1+ww > w {
			out = append(out, line.String())
			line.Reset()
			n = 0
		}
		if ww > w {
			parts := strings.Split(ansi.Hardwrap(word, w, false), "\n")
			out = append(out, parts[:len(parts)-1]...)
			word = parts[len(parts)-1]
			ww = ansi.StringWidth(word)
		}
		if n > 0 {
			line.WriteByte(' ')
			n++
		}
		line.WriteString(word)
		n += ww
	}
	return append(out, line.String())
}
