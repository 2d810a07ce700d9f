package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/proberctl/proberctl/kube"
)

type sortKey int

const (
	sortName sortKey = iota
	sortAge
	sortRestarts
	sortStatus
	sortKeys
)

func (s sortKey) String() string {
	return [...]string{"name", "age", "restarts", "status"}[s]
}

// colID names a table column.
type colID int

const (
	colName colID = iota
	colReady
	colStatus
	colRestarts
	colAge
	colVersion
	colIP
	colNode
	colNamespace
	colTimeline
	colCount
)

// column is one table column; widths are fixed on resize.
type column struct {
	id    colID
	title string
	width int
}

// podsPane is the pods table: the filtered, sorted rows and the selection.
type podsPane struct {
	st   *styles
	keys *keyMap

	rows    []*podRow // filtered and sorted; pointers into clusterState.pods
	scratch []*podRow // reused by resort
	cursor  int
	offset  int
	selKey  string // selection is remembered by key, re-found after rebuilds

	marked map[string]bool

	sort      sortKey
	filter    textinput.Model
	filtering bool // the filter input has the keyboard

	w, h    int
	cols    []column
	showIP  bool
	showNd  bool
	focused bool

	allNamespaces bool // Options.Namespace is "": add a NAMESPACE column

	// hist is the state's timelines; on wide screens each row carries its
	// strip in a TIMELINE column.
	hist     map[string]*history
	timeline *timelinePane
	cells    []markKind

	// expiry is the soonest moment a row drawn by the last View reads
	// differently by the clock alone (zero: none does). Each row keeps its
	// rendered line (podRow.view), so a View renders only the rows that
	// changed (DESIGN.md, pattern 8); the pane around them is only joined.
	expiry time.Time
	// statusW is the display width of the longest STATUS among the pods
	// (fitStatus), which the column gets, within statusMin and statusMax.
	statusW int

	// layout counts SetSize calls, and steps back of the wall clock: a row
	// rendered for other column widths, or against a later clock, is stale.
	layout uint64
	// renders counts rows actually rendered, not taken from their cache;
	// tests read it.
	renders int
}

// rowView is a row's rendered line and what it was rendered from. It is
// reused until the pod, its timeline, the layout, the row's selection or
// mark change, or the clock reaches expiry.
type rowView struct {
	line     string
	expiry   time.Time // zero: the line does not follow the clock
	batch    uint64
	hist     *history
	histVer  uint64
	layout   uint64
	selected bool
	marked   bool
}

func (v *rowView) fresh(r *podRow, h *history, layout uint64, selected, marked bool, now time.Time) bool {
	return v.line != "" && v.batch == r.batch && v.hist == h && (h == nil || v.histVer == h.ver) &&
		v.layout == layout && v.selected == selected && v.marked == marked && !due(v.expiry, now)
}

func (v *rowView) set(line string, expiry time.Time, r *podRow, h *history, layout uint64, selected, marked bool) {
	*v = rowView{line: line, expiry: expiry, batch: r.batch, hist: h, layout: layout, selected: selected, marked: marked}
	if h != nil {
		v.histVer = h.ver
	}
}

const gutter = 3 // cursor, mark, changed

func newPodsPane(st *styles, keys *keyMap) podsPane {
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "name"
	ti.CharLimit = 253 // a DNS subdomain, the longest pod name
	ti.Cursor.SetMode(cursor.CursorStatic)
	return podsPane{st: st, keys: keys, marked: map[string]bool{}, filter: ti}
}

// SetSize fixes the column widths for this terminal width.
func (p *podsPane) SetSize(w, h int) {
	p.w, p.h = w, h
	// Width 0: the input draws only what was typed; the title line is
	// cut to the screen like every other line.
	p.filter.Width = 0
	// NAME takes what the other columns leave. On a narrow terminal the
	// name comes first, as in kubectl's views: `kubectl get pods` has NAME
	// READY STATUS RESTARTS AGE and `-o wide` adds IP and NODE
	// (pkg/printers/internalversion/printers.go, podColumnDefinitions).
	// So the wide columns and our VERSION go first, RESTARTS keeps only
	// its count, until a generated pod name fits (nameWant); then AGE
	// goes and STATUS is cut, until the name is still readable
	// (nameReadable: fitMiddle keeps its start and its distinct end).
	// STATUS is as wide as its longest value (statusWidth) while the name
	// fits; then it is cut to CrashLoopBackOff's width, and on the
	// narrowest screens further.
	ns := column{colNamespace, "NAMESPACE", 12}
	ready := column{colReady, "READY", 5}
	status := column{colStatus, "STATUS", p.statusWidth()}
	restarts := column{colRestarts, "RESTARTS", 14} // "12 (2m45s ago)"
	age := column{colAge, "AGE", 5}
	version := column{colVersion, "VERSION", 7}
	ip := column{colIP, "IP", 15}
	node := column{colNode, "NODE", 14}
	// All namespaces: names repeat across them, so say which (as kubectl -A).
	showNs, showAge, showVersion, showRestarts := p.allNamespaces, true, true, true
	p.showIP, p.showNd = true, true
	room := func() int {
		used := gutter + ready.width + 1 + status.width + 1
		for _, c := range []struct {
			show bool
			w    int
		}{{showNs, ns.width}, {showRestarts, restarts.width}, {showAge, age.width},
			{showVersion, version.width}, {p.showIP, ip.width}, {p.showNd, node.width}} {
			if c.show {
				used += c.w + 1
			}
		}
		return w - used
	}
	const (
		nameWant     = 27 // prober-foo-67b66bdbf7-4bxjb and a cell
		nameReadable = 20
	)
	steps := []struct {
		until int
		do    func()
	}{
		{nameWant, func() { p.showNd = false }},
		{nameWant, func() { p.showIP = false }},
		{nameWant, func() { restarts.width = 12 }}, // a rare "12 (2m45s ago)" is cut
		// "3 (38s ago)" still fits, a longer one shows its count: at 80
		// columns this keeps VERSION beside a whole "ContainerCreating".
		{nameWant, func() { restarts.width = 11 }},
		{nameWant, func() { showVersion = false }},
		{nameWant, func() { restarts.width = 8 }}, // the count only (renderRow)
		// A status longer than CrashLoopBackOff is cut before the name is.
		{nameWant, func() { status.width = min(status.width, statusMin) }},
		{nameReadable, func() { ns.width = 9 }},
		{nameReadable, func() { showAge = false }},
		{nameReadable, func() { status.width = min(status.width, 11) }},
		{nameReadable, func() { showRestarts = false }},
	}
	for _, st := range steps {
		if room() < st.until {
			st.do()
		}
	}
	nameW := max(room(), 8)
	// Wide screens: the room beyond a readable NAME goes to each pod's
	// timeline strip, so restarts and flapping are seen in the table.
	const nameWide = 34
	tl := column{colTimeline, "TIMELINE (5m)", 0}
	if nameW-nameWide-1 >= 16 {
		tl.width = nameW - nameWide - 1
		nameW = nameWide
	}
	p.cols = p.cols[:0]
	if p.allNamespaces {
		p.cols = append(p.cols, ns)
	}
	p.cols = append(p.cols, column{colName, "NAME", nameW}, ready, status)
	if showRestarts {
		p.cols = append(p.cols, restarts)
	}
	if showAge {
		p.cols = append(p.cols, age)
	}
	if showVersion {
		p.cols = append(p.cols, version)
	}
	if p.showIP {
		p.cols = append(p.cols, ip)
	}
	if p.showNd {
		p.cols = append(p.cols, node)
	}
	if tl.width > 0 {
		p.cols = append(p.cols, tl)
	}
	p.ensureVisible()
	p.layout++
}

// STATUS is as wide as its longest value, so "ContainerCreating" (17) and
// "Init:CrashLoopBackOff" (21) show whole, but never narrower than
// "CrashLoopBackOff" (16), the demo's own status: the columns do not jump
// about as pods come and go through the common statuses. The cap keeps a
// long container reason ("CreateContainerConfigError", 26) from taking
// the name's room; it is cut.
const (
	statusMin = 16
	statusMax = 24
)

func (p *podsPane) statusWidth() int { return min(max(p.statusW, statusMin), statusMax) }

// fitStatus measures the longest STATUS among the pods and reports whether
// the column's width changes with it (then the caller lays the table out
// again). A batch's statuses were computed when it was applied, so this is
// a walk over the rows, no PodStatus call.
func (p *podsPane) fitStatus(s *clusterState) bool {
	longest := 0
	for _, r := range s.pods {
		longest = max(longest, len(r.cols.Status)) // kubectl's statuses are ASCII words
	}
	before := p.statusWidth()
	p.statusW = longest
	return p.statusWidth() != before
}

// bodyRows is how many pod rows fit under the title and column header.
func (p *podsPane) bodyRows() int { return max(p.h-2, 0) }

// rebuild recollects rows from the state's map (pods came or went, or the
// filter changed) or only re-sorts them (pods changed in place).
func (p *podsPane) rebuild(s *clusterState, recollect bool, changed int) {
	if recollect {
		q := strings.ToLower(p.filter.Value())
		p.rows = p.rows[:0]
		for _, r := range s.pods {
			if q != "" && !strings.Contains(strings.ToLower(r.pod.Name), q) {
				continue
			}
			p.rows = append(p.rows, r)
		}
		for k := range p.marked {
			if s.pods[k] == nil {
				delete(p.marked, k)
			}
		}
		slices.SortFunc(p.rows, byName)
		for i, r := range p.rows {
			r.nameRank = i
		}
		if p.sort != sortName {
			p.sortRows()
		}
	} else if p.sort != sortName && p.sort != sortAge {
		// Name and age never change for a pod, so only these orders move,
		// and only the rows the batch changed can be out of place.
		p.resort(changed, s.batch)
	}
	p.refind()
}

func byName(a, b *podRow) int {
	return cmp.Or(cmp.Compare(a.pod.Namespace, b.pod.Namespace), cmp.Compare(a.pod.Name, b.pod.Name))
}

// sortRows orders the rows.
func (p *podsPane) sortRows() { slices.SortFunc(p.rows, p.order()) }

// resort puts changed rows back in order: the others are still sorted, so
// take the changed ones out, sort them, and merge: linear in the rows
// instead of a full sort per batch.
func (p *podsPane) resort(changed int, batch uint64) {
	if changed == 0 || changed > len(p.rows)/4 {
		p.sortRows()
		return
	}
	f := p.order()
	moved := make([]*podRow, 0, changed)
	rest := p.scratch[:0]
	for _, r := range p.rows {
		if r.batch == batch {
			moved = append(moved, r)
		} else {
			rest = append(rest, r)
		}
	}
	slices.SortFunc(moved, f)
	out := p.rows[:0]
	i, j := 0, 0
	for i < len(rest) && j < len(moved) {
		if f(moved[j], rest[i]) < 0 {
			out = append(out, moved[j])
			j++
		} else {
			out = append(out, rest[i])
			i++
		}
	}
	out = append(out, rest[i:]...)
	out = append(out, moved[j:]...)
	p.rows = out
	p.scratch = rest[:0]
}

// order is the comparison for the current sort. Ties fall back to name
// order through the precomputed nameRank, an int compare.
func (p *podsPane) order() func(a, b *podRow) int {
	var f func(a, b *podRow) int
	switch p.sort {
	case sortAge: // newest first: a rollout's new pods come to the top
		f = func(a, b *podRow) int {
			return cmp.Or(b.pod.CreationTimestamp.Compare(a.pod.CreationTimestamp.Time), cmp.Compare(a.nameRank, b.nameRank))
		}
	case sortRestarts: // most restarts first
		f = func(a, b *podRow) int {
			return cmp.Or(cmp.Compare(b.cols.RestartCount, a.cols.RestartCount), cmp.Compare(a.nameRank, b.nameRank))
		}
	case sortStatus: // trouble first
		f = func(a, b *podRow) int {
			return cmp.Or(cmp.Compare(rowSeverity(a), rowSeverity(b)), cmp.Compare(a.cols.Status, b.cols.Status), cmp.Compare(a.nameRank, b.nameRank))
		}
	default:
		f = func(a, b *podRow) int { return cmp.Compare(a.nameRank, b.nameRank) }
	}
	return f
}

func rowSeverity(r *podRow) int {
	switch rowHealth(r) {
	case healthBad:
		return 0
	case healthProgress:
		return 1
	case healthOK:
		return 2
	}
	return 3
}

// rowHealth reads the kubectl STATUS word; READY decides between fine and
// still starting.
func rowHealth(r *podRow) health {
	st := r.cols.Status
	switch {
	case st == "Running":
		if r.ready {
			return healthOK
		}
		return healthProgress
	case st == "Completed" || st == "Succeeded" || st == "Terminating":
		return healthDone
	case strings.HasPrefix(st, "Init:") && !strings.Contains(st, "Error") && !strings.Contains(st, "CrashLoop") && !strings.HasPrefix(st, "Init:Signal") && !strings.HasPrefix(st, "Init:ExitCode"):
		return healthProgress
	}
	switch st {
	case "Pending", "ContainerCreating", "PodInitializing", "SchedulingGated", "NotReady":
		return healthProgress
	}
	return healthBad
}

// refind puts the cursor back on the selected pod after the rows changed.
func (p *podsPane) refind() {
	if p.selKey != "" {
		for i, r := range p.rows {
			if r.key == p.selKey {
				p.cursor = i
				p.ensureVisible()
				return
			}
		}
	}
	p.cursor = min(p.cursor, len(p.rows)-1)
	p.cursor = max(p.cursor, 0)
	if len(p.rows) > 0 {
		p.selKey = p.rows[p.cursor].key
	} else {
		p.selKey = ""
	}
	p.ensureVisible()
}

func (p *podsPane) ensureVisible() {
	n := p.bodyRows()
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if n > 0 && p.cursor >= p.offset+n {
		p.offset = p.cursor - n + 1
	}
	p.offset = max(min(p.offset, len(p.rows)-n), 0)
}

func (p *podsPane) selected() *podRow {
	if p.cursor < 0 || p.cursor >= len(p.rows) {
		return nil
	}
	return p.rows[p.cursor]
}

func (p *podsPane) move(n int) {
	if len(p.rows) == 0 {
		return
	}
	p.cursor = max(min(p.cursor+n, len(p.rows)-1), 0)
	p.selKey = p.rows[p.cursor].key
	p.ensureVisible()
}

// filterChangedMsg tells the root to recollect rows.
type filterChangedMsg struct{}

// Update handles the table's own keys: movement, marks, sort, filter.
func (p *podsPane) Update(msg tea.KeyMsg) tea.Cmd {
	if p.filtering {
		switch msg.String() {
		case "enter":
			p.filtering = false
			p.filter.Blur()
			return nil
		case "esc":
			p.filtering = false
			p.filter.Blur()
			p.filter.SetValue("")
			return func() tea.Msg { return filterChangedMsg{} }
		}
		before := p.filter.Value()
		var cmd tea.Cmd
		p.filter, cmd = p.filter.Update(msg)
		if p.filter.Value() != before {
			return tea.Batch(cmd, func() tea.Msg { return filterChangedMsg{} })
		}
		return cmd
	}
	k := p.keys
	switch {
	case key.Matches(msg, k.Up):
		p.move(-1)
	case key.Matches(msg, k.Down):
		p.move(1)
	case key.Matches(msg, k.PageUp):
		p.move(-max(p.bodyRows()-1, 1))
	case key.Matches(msg, k.PageDown):
		p.move(max(p.bodyRows()-1, 1))
	case key.Matches(msg, k.Top):
		p.move(-len(p.rows))
	case key.Matches(msg, k.Bottom):
		p.move(len(p.rows))
	case key.Matches(msg, k.Mark):
		if r := p.selected(); r != nil {
			if p.marked[r.key] {
				delete(p.marked, r.key)
			} else {
				p.marked[r.key] = true
			}
			p.move(1)
		}
	case key.Matches(msg, k.Back):
		if len(p.marked) > 0 {
			clear(p.marked)
		} else if p.filter.Value() != "" {
			p.filter.SetValue("")
			return func() tea.Msg { return filterChangedMsg{} }
		}
	case key.Matches(msg, k.Sort):
		p.sort = (p.sort + 1) % sortKeys
		p.sortRows()
		p.refind()
	case key.Matches(msg, k.Filter):
		p.filtering = true
		return p.filter.Focus()
	}
	return nil
}

// ShortHelp is the table's part of the help line.
func (p *podsPane) ShortHelp() []key.Binding {
	k := p.keys
	if p.filtering {
		return []key.Binding{k.Confirm, k.Cancel}
	}
	return []key.Binding{k.Detail, k.Crash, k.Logs, k.Mark, k.Resolve, k.Healthz, k.Delete, k.Apply, k.Chaos, k.Filter, k.Sort}
}

// title is the pane's first line: counts, sort, filter.
func (p *podsPane) title(total int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "PODS %d", len(p.rows))
	if len(p.rows) != total {
		fmt.Fprintf(&b, " of %d", total)
	}
	// Which rows are in view when some are not, as the output pane says
	// "↑ earlier": without it a table cut at the screen's foot reads as
	// all the pods there are. Before sort and filter, so a cut title
	// keeps it.
	if n, shown := len(p.rows), p.bodyRows(); shown > 0 && n > shown {
		end := min(p.offset+shown, n)
		fmt.Fprintf(&b, "  rows %d-%d", p.offset+1, end)
		if p.offset > 0 {
			fmt.Fprintf(&b, " ↑%d", p.offset)
		}
		if end < n {
			fmt.Fprintf(&b, " ↓%d", n-end)
		}
		b.WriteString(" more")
	}
	fmt.Fprintf(&b, "  sort:%s", p.sort)
	if n := len(p.marked); n > 0 {
		fmt.Fprintf(&b, "  marked:%d", n)
		shown := 0
		for _, r := range p.rows {
			if p.marked[r.key] {
				shown++
			}
		}
		if shown < n {
			fmt.Fprintf(&b, " (%d hidden by the filter)", n-shown)
		}
	}
	switch {
	case p.filtering:
		b.WriteString("  filter ")
		b.WriteString(p.filter.View())
	case p.filter.Value() != "":
		fmt.Fprintf(&b, "  filter:%s", p.filter.Value())
	}
	return b.String()
}

// View draws the title, the column header and the visible rows only.
func (p *podsPane) View(total int, now time.Time) string {
	p.expiry = time.Time{}
	lines := make([]string, 0, p.h)
	t := p.title(total)
	if p.focused {
		t = p.st.Header.Render(t)
	}
	lines = append(lines, t)
	var hb strings.Builder
	hb.WriteString(strings.Repeat(" ", gutter))
	for i, c := range p.cols {
		if i > 0 {
			hb.WriteByte(' ')
		}
		hb.WriteString(fit(c.title, c.width))
	}
	lines = append(lines, p.st.ColHeader.Render(hb.String()))
	end := min(p.offset+p.bodyRows(), len(p.rows))
	for i := p.offset; i < end; i++ {
		lines = append(lines, p.row(p.rows[i], i == p.cursor, now))
	}
	if len(p.rows) == 0 && p.bodyRows() > 0 {
		if total == 0 {
			lines = append(lines, "   no pods match the namespace and selector")
		} else {
			lines = append(lines, "   no pod name contains "+fmt.Sprintf("%q", p.filter.Value()))
		}
	}
	return block(lines, p.w, p.h)
}

// row is one visible row, from its cache while that is fresh; the pane's
// expiry becomes the soonest of its rows'.
func (p *podsPane) row(r *podRow, selected bool, now time.Time) string {
	h := p.hist[r.key]
	marked := p.marked[r.key]
	if !r.view.fresh(r, h, p.layout, selected, marked, now) {
		line, exp := p.renderRow(r, selected, now)
		r.view.set(line, exp, r, h, p.layout, selected, marked)
		p.renders++
	}
	p.expiry = earlier(p.expiry, r.view.expiry)
	return r.view.line
}

// renderRow draws a row and says when its text next changes with the clock:
// AGE, the "(5m ago)" of RESTARTS, the change marker and the timeline strip.
func (p *podsPane) renderRow(r *podRow, selected bool, now time.Time) (string, time.Time) {
	// AGE and "(5m ago)" move with the clock: recompute at render time.
	c := kube.PodStatus(r.pod, now)
	expiry := columnsExpiry(c, now)
	var b strings.Builder
	b.Grow(p.w + 32)
	if selected {
		b.WriteByte('>')
	} else {
		b.WriteByte(' ')
	}
	if p.marked[r.key] {
		b.WriteByte('*')
	} else {
		b.WriteByte(' ')
	}
	if !r.changedAt.IsZero() && now.Sub(r.changedAt) < changedFor {
		expiry = earlier(expiry, r.changedAt.Add(changedFor))
		if selected {
			b.WriteByte('!')
		} else {
			b.WriteString(p.st.Bad.Render("!"))
		}
	} else {
		b.WriteByte(' ')
	}
	hs := p.st.forHealth(rowHealth(r))
	version := c.Version
	if version == "" {
		version = "-"
	}
	cells := [colCount]string{
		colName: c.Name, colReady: c.Ready, colStatus: c.Status, colRestarts: c.Restarts,
		colAge: c.Age, colVersion: version, colIP: c.IP, colNode: c.Node, colNamespace: r.pod.Namespace,
	}
	for i, col := range p.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		if col.id == colTimeline {
			b.WriteString(p.strip(r, col.width, now, selected))
			expiry = earlier(expiry, p.hist[r.key].stripExpiry(now, timelineWindow, col.width))
			continue
		}
		v := cells[col.id]
		switch {
		case col.id == colName:
			v = fitMiddle(v, col.width)
		case col.id == colRestarts && col.width < 12 && ansi.StringWidth(v) > col.width:
			// A narrow RESTARTS keeps the count whole rather than "3 (38…".
			v = fit(strconv.Itoa(c.RestartCount), col.width)
		default:
			v = fit(v, col.width)
		}
		if !selected && (col.id == colStatus || col.id == colReady) {
			v = hs.Render(v)
		}
		b.WriteString(v)
	}
	line := b.String()
	if selected {
		line = p.st.Selected.Render(line)
	}
	return line, expiry
}

// strip draws the row's timeline; plain glyphs on the selected row, whose
// reverse style must not be broken by inner colours.
func (p *podsPane) strip(r *podRow, w int, now time.Time, plain bool) string {
	if cap(p.cells) < w {
		p.cells = make([]markKind, w)
	}
	cells := p.cells[:w]
	h := p.hist[r.key]
	if h == nil {
		return strings.Repeat(" ", w)
	}
	h.strip(now, timelineWindow, cells)
	var b strings.Builder
	if plain {
		for _, k := range cells {
			b.WriteString(markGlyph[k])
		}
		return b.String()
	}
	p.timeline.writeStrip(&b, cells)
	return b.String()
}
