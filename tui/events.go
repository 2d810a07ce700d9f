package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// eventsPane lists events newest first, for the selected pod or for all.
type eventsPane struct {
	st   *styles
	keys *keyMap
	all  bool // false: only the selected pod's events

	list   []*corev1.Event // sorted newest first, rebuilt on batches
	scope  string          // pod key the list was built for ("" = all)
	scroll scroller

	// cache is the drawn pane, cleared by anything that changes it; it is
	// redrawn when the clock reaches expiry, when a visible age next reads
	// differently.
	cache  string
	expiry time.Time
}

func newEventsPane(st *styles, keys *keyMap) eventsPane {
	return eventsPane{st: st, keys: keys}
}

func (e *eventsPane) SetSize(w, h int) {
	e.scroll.setSize(w, max(h-1, 0))
	e.cache = ""
}

func (e *eventsPane) ShortHelp() []key.Binding {
	k := e.keys
	return []key.Binding{k.Detail, k.EventScope, k.Up, k.Down, k.Top}
}

// rebuild re-filters and re-sorts from the state; called when events
// arrive or the selection or scope changes.
func (e *eventsPane) rebuild(s *clusterState, podKey string) {
	if e.all {
		podKey = ""
	}
	e.scope = podKey
	e.cache = ""
	e.list = e.list[:0]
	for _, ev := range s.events {
		if podKey != "" {
			o := ev.InvolvedObject
			if o.Kind != "Pod" || o.Namespace+"/"+o.Name != podKey {
				continue
			}
		}
		e.list = append(e.list, ev)
	}
	slices.SortFunc(e.list, func(a, b *corev1.Event) int {
		if c := kube.EventTime(b).Compare(kube.EventTime(a)); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
}

func (e *eventsPane) Update(msg tea.KeyMsg) {
	if e.scroll.handleKey(msg, e.keys) {
		e.cache = ""
	}
}

// View formats the lines with ages against now; only the visible ones are
// styled.
func (e *eventsPane) View(now time.Time) string {
	if e.cache != "" && !due(e.expiry, now) {
		return e.cache
	}
	e.expiry = time.Time{}
	title := "EVENTS (all pods)"
	if e.scope != "" {
		title = "EVENTS for " + sanitize(e.scope)
	}
	title += fmt.Sprintf("  %d, newest first", len(e.list))
	w := e.scroll.w
	lines := make([]string, 0, len(e.list))
	// All lines exist so scrolling has a length, but only the visible
	// window is formatted: the rest are placeholders.
	for i, ev := range e.list {
		if i < e.scroll.offset || i >= e.scroll.offset+e.scroll.h {
			lines = append(lines, "")
			continue
		}
		lines = append(lines, e.line(ev, now, w))
		e.expiry = earlier(e.expiry, sinceExpiry(kube.EventTime(ev), now))
	}
	if len(e.list) == 0 {
		lines = append(lines, "  no events yet")
	}
	e.scroll.lines = lines
	e.scroll.clamp()
	e.cache = e.scroll.titled(title)
	return e.cache
}

func (e *eventsPane) line(ev *corev1.Event, now time.Time, w int) string {
	age := since(kube.EventTime(ev), now)
	typ := ev.Type
	if typ == "" {
		typ = "Normal"
	}
	reason := ev.Reason
	if c := kube.EventCount(ev); c > 1 {
		reason += fmt.Sprintf(" x%d", c)
	}
	var b strings.Builder
	b.WriteString(fitRight(age, 5))
	b.WriteByte(' ')
	t := fit(typ, 7)
	if typ == corev1.EventTypeWarning {
		t = e.st.Warning.Render(t)
	}
	b.WriteString(t)
	b.WriteByte(' ')
	b.WriteString(fit(reason, 16))
	b.WriteByte(' ')
	if e.scope == "" {
		// Pods by name alone (the common case); other kinds say what they are.
		obj := ev.InvolvedObject.Name
		if ev.InvolvedObject.Kind != "Pod" {
			obj = strings.ToLower(ev.InvolvedObject.Kind) + "/" + obj
		}
		b.WriteString(fitMiddle(obj, min(36, max(w/4, 12))))
		b.WriteByte(' ')
	}
	// The kubelet's own words, verbatim (one line).
	b.WriteString(sanitize(ev.Message))
	return clip(b.String(), w)
}
