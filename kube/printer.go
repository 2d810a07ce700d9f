package kube

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// LinePrinter writes batches as lines for "proberctl watch": pod rows when a
// pod's columns change (like "kubectl get pods -w") and events as they come
// (like "kubectl get events -w"), or one JSON object per line.
type LinePrinter struct {
	w      io.Writer
	format string

	// AllNamespaces adds a NAMESPACE column, as kubectl does with -A.
	AllNamespaces bool
	// Status receives connection changes as text lines ("" format and wide)
	// so they do not mix with rows a script parses; nil drops them. In JSON
	// they are objects on the main writer.
	Status io.Writer
	// Now is the clock for AGE and LAST SEEN; nil means time.Now.
	Now func() time.Time

	lastPod    map[string]string // key -> the columns last printed
	lastEvent  map[string]int32  // key -> the count last printed
	podWidths  []int
	evWidths   []int
	podHeader  bool
	evHeader   bool
	saidSynced bool
}

// Formats NewLinePrinter accepts.
var Formats = []string{"", "wide", "json"}

// NewLinePrinter returns a printer for format "" (NAME READY STATUS RESTARTS
// AGE), "wide" (adds IP NODE VERSION) or "json" (one object per line).
func NewLinePrinter(w io.Writer, format string) (*LinePrinter, error) {
	switch format {
	case "", "wide", "json":
	default:
		return nil, fmt.Errorf("unknown output format %q (accepted: wide, json, or none for the default columns)", format)
	}
	return &LinePrinter{w: w, format: format, lastPod: map[string]string{}, lastEvent: map[string]int32{}}, nil
}

// PodLine is a pod row in JSON output.
type PodLine struct {
	Kind         string    `json:"kind"` // "Pod"
	Type         string    `json:"type"` // "upsert" or "deleted"
	Time         time.Time `json:"time"`
	Namespace    string    `json:"namespace"`
	Name         string    `json:"name"`
	Ready        string    `json:"ready"`
	Status       string    `json:"status"`
	Restarts     int       `json:"restarts"`
	LastRestart  time.Time `json:"lastRestart,omitzero"`
	Age          string    `json:"age"`
	IP           string    `json:"ip,omitempty"`
	Node         string    `json:"node,omitempty"`
	Version      string    `json:"version,omitempty"`
	ReadyCount   int       `json:"readyContainers"`
	Containers   int       `json:"containers"`
	RestartsText string    `json:"restartsText"`
}

// EventLine is an event in JSON output.
type EventLine struct {
	Kind     string    `json:"kind"` // "Event"
	Time     time.Time `json:"time"`
	LastSeen time.Time `json:"lastSeen"`
	Type     string    `json:"type"` // Normal, Warning
	Reason   string    `json:"reason"`
	// Namespace is the event's own, which is its object's: Object alone is
	// ambiguous with -A (kubectl get events -A shows it as a column).
	Namespace string `json:"namespace"`
	Object    string `json:"object"` // "pod/foo-1"
	Message   string `json:"message"`
	Count     int32  `json:"count"`
	Source    string `json:"source,omitempty"`
}

// ConnLine is a connection change or the sync in JSON output.
type ConnLine struct {
	Kind   string    `json:"kind"` // "Connection" or "Synced"
	Time   time.Time `json:"time"`
	State  string    `json:"state,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Print writes what changed in b. Within a batch, pods are printed in name
// order with only their latest state, then events oldest first.
func (p *LinePrinter) Print(b Batch) error {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	if b.Conn != nil {
		if err := p.printConn(*b.Conn, now); err != nil {
			return err
		}
	}
	if b.Synced && !p.saidSynced && p.format == "json" {
		if err := p.writeJSON(ConnLine{Kind: "Synced", Time: now}); err != nil {
			return err
		}
	}
	p.saidSynced = p.saidSynced || b.Synced

	pods := map[string]Delta{}
	var events []*corev1.Event
	for _, d := range b.Deltas {
		switch d.Kind {
		case KindPod:
			pods[d.Key] = d
		case KindEvent:
			if e, ok := d.Obj.(*corev1.Event); ok && d.Type == Upsert {
				events = append(events, e)
			}
		}
	}
	keys := make([]string, 0, len(pods))
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var header []string
	var rows [][]string
	for _, k := range keys {
		h, cells, err := p.podRow(pods[k], now)
		if err != nil {
			return err
		}
		if cells != nil {
			header, rows = h, append(rows, cells)
		}
	}
	if err := p.table(&p.podWidths, &p.podHeader, header, rows); err != nil {
		return err
	}
	sort.SliceStable(events, func(i, j int) bool { return EventTime(events[i]).Before(EventTime(events[j])) })
	header, rows = nil, nil
	for _, e := range events {
		h, cells, err := p.eventRow(e, now)
		if err != nil {
			return err
		}
		if cells != nil {
			header, rows = h, append(rows, cells)
		}
	}
	return p.table(&p.evWidths, &p.evHeader, header, rows)
}

func (p *LinePrinter) printConn(c Conn, now time.Time) error {
	if p.format == "json" {
		return p.writeJSON(ConnLine{Kind: "Connection", Time: now, State: c.State.String(), Detail: c.Detail})
	}
	if p.Status == nil {
		return nil
	}
	line := "proberctl: " + c.State.String()
	if c.Detail != "" {
		line += ": " + c.Detail
	}
	_, err := fmt.Fprintln(p.Status, line)
	return err
}

// podRow returns the pod's text row (nil when nothing visible changed); in
// JSON it writes the line itself.
func (p *LinePrinter) podRow(d Delta, now time.Time) (header, cells []string, err error) {
	pod, ok := d.Obj.(*corev1.Pod)
	if !ok {
		// A deletion whose last state is unknown: nothing to show but that.
		delete(p.lastPod, d.Key)
		return nil, nil, nil
	}
	c := PodStatus(pod, now)
	// AGE and "(5m ago)" move with the clock; a row is printed when
	// something else changed.
	sig := strings.Join([]string{c.Ready, c.Status, fmt.Sprint(c.RestartCount), c.IP, c.Node, c.Version}, "\x00")
	if d.Type == Deleted {
		sig = "deleted"
	}
	if p.lastPod[d.Key] == sig {
		return nil, nil, nil
	}
	if d.Type == Deleted {
		delete(p.lastPod, d.Key)
	} else {
		p.lastPod[d.Key] = sig
	}
	if p.format == "json" {
		typ := "upsert"
		if d.Type == Deleted {
			typ = "deleted"
		}
		ip, node := c.IP, c.Node
		if ip == "<none>" {
			ip = ""
		}
		if node == "<none>" {
			node = ""
		}
		return nil, nil, p.writeJSON(PodLine{Kind: "Pod", Type: typ, Time: now, Namespace: c.Namespace, Name: c.Name,
			Ready: c.Ready, Status: c.Status, Restarts: c.RestartCount, LastRestart: c.LastRestart, Age: c.Age,
			IP: ip, Node: node, Version: c.Version, ReadyCount: c.ReadyContainers, Containers: c.TotalContainers,
			RestartsText: c.Restarts})
	}
	if p.AllNamespaces {
		header, cells = append(header, "NAMESPACE"), append(cells, c.Namespace)
	}
	header = append(header, "NAME", "READY", "STATUS", "RESTARTS", "AGE")
	cells = append(cells, c.Name, c.Ready, c.Status, c.Restarts, c.Age)
	if p.format == "wide" {
		version := c.Version
		if version == "" {
			version = "<none>"
		}
		header = append(header, "IP", "NODE", "VERSION")
		cells = append(cells, c.IP, c.Node, version)
	}
	return header, cells, nil
}

// eventRow returns the event's text row (nil when already printed with
// this count); in JSON it writes the line itself.
func (p *LinePrinter) eventRow(e *corev1.Event, now time.Time) (header, cells []string, err error) {
	key := e.Namespace + "/" + e.Name
	count := EventCount(e)
	if last, ok := p.lastEvent[key]; ok && last == count {
		return nil, nil, nil
	}
	p.lastEvent[key] = count
	obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
	msg := strings.TrimSpace(e.Message)
	if p.format == "json" {
		return nil, nil, p.writeJSON(EventLine{Kind: "Event", Time: now, LastSeen: EventTime(e), Type: e.Type, Reason: e.Reason,
			Namespace: e.Namespace, Object: obj, Message: msg, Count: count, Source: eventSource(e)})
	}
	// kubectl get events: LAST SEEN TYPE REASON OBJECT MESSAGE
	// (printEvent in pkg/printers/internalversion/printers.go).
	if p.AllNamespaces {
		header, cells = append(header, "NAMESPACE"), append(cells, e.Namespace)
	}
	lastSeen := Since(EventTime(e), now)
	if count > 1 {
		lastSeen += fmt.Sprintf(" (x%d)", count)
	}
	header = append(header, "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
	cells = append(cells, lastSeen, e.Type, e.Reason, obj, strings.ReplaceAll(msg, "\n", " "))
	return header, cells, nil
}

// table prints a batch's rows of one kind: columns are widened for every
// row of the batch first, so a batch is aligned, and the header goes out
// before the first row ever printed.
func (p *LinePrinter) table(widths *[]int, headerDone *bool, header []string, rows [][]string) error {
	if len(rows) == 0 {
		return nil
	}
	grow(widths, header)
	for _, r := range rows {
		grow(widths, r)
	}
	if !*headerDone {
		*headerDone = true
		if err := p.row(*widths, header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := p.row(*widths, r); err != nil {
			return err
		}
	}
	return nil
}

func eventSource(e *corev1.Event) string {
	if e.Source.Component != "" {
		if e.Source.Host != "" {
			return e.Source.Component + ", " + e.Source.Host
		}
		return e.Source.Component
	}
	return e.ReportingController
}

// grow widens columns to fit cells; widths never shrink, so columns stay
// aligned from one line to the next.
func grow(widths *[]int, cells []string) {
	for len(*widths) < len(cells) {
		*widths = append(*widths, 0)
	}
	for i, c := range cells {
		if n := len(c); n > (*widths)[i] {
			(*widths)[i] = n
		}
	}
}

// row writes cells padded to widths with kubectl's three-space gap; the last
// column is not padded.
func (p *LinePrinter) row(widths []int, cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		b.WriteString(c)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", widths[i]-len(c)+3))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(p.w, b.String())
	return err
}

func (p *LinePrinter) writeJSON(v any) error {
	// Encode writes the trailing newline; no HTML escaping, so "<none>"
	// and messages read as they are.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}
