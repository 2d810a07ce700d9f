package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube"
)

// detailText is the whole detail view, every line, not only those on
// screen, without styles and trailing blanks.
func detailText(t *testing.T, m *model) string {
	t.Helper()
	screen(t, m) // builds the view
	var out []string
	for _, l := range m.detail.scroll.lines {
		out = append(out, strings.TrimRight(ansi.Strip(l), " "))
	}
	return strings.Join(out, "\n")
}

// eventsSection is the detail's text from its Events heading on.
func eventsSection(t *testing.T, m *model) string {
	t.Helper()
	s := detailText(t, m)
	i := strings.Index(s, "\nEvents:")
	if i < 0 {
		t.Fatalf("the detail view has no Events section:\n%s", s)
	}
	return s[i+1:]
}

// TestDetailEventsAsDescribe: the detail view ends with the pod's events as
// kubectl describe pod prints them: oldest first, Type, Reason, Age with
// "(xN over M)", From, Message (with the container's field path), columns
// two cells apart, and long messages wrapped, never cut; on a narrow
// screen each message goes under its event.
func TestDetailEventsAsDescribe(t *testing.T) {
	hw := "prober-foo-67b66bdbf7-hw78w"
	long := `Liveness probe failed: Get "http://10.44.0.5:80/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
	withPath := event("e6", hw, "Warning", "Unhealthy", long, 1, t0.Add(-2*time.Second))
	withPath.Obj.(*corev1.Event).InvolvedObject.FieldPath = "spec.containers{prober-foo}"
	// The fixture's events say first seen a minute before last, so one
	// seen once reads its first time, as describe shows it ("62s").
	// An events.k8s.io event: a series, eventTime and the reporting
	// controller, no lastTimestamp or source.
	series := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: "e7"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: hw},
		Type:           "Normal", Reason: "Pulled", Message: "Container image \"proberctl:dev\" already present on machine",
		EventTime:           metav1.NewMicroTime(t0.Add(-3 * time.Minute)),
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(t0.Add(-30 * time.Second))},
		ReportingController: "kubelet",
	}
	// Not this pod's: another pod's, and a former pod of the same name.
	other := event("e8", "prober-foo-67b66bdbf7-4bxjb", "Warning", "Unhealthy", "another pod's", 1, t0)
	former := event("e9", hw, "Normal", "Killing", "a former pod's", 1, t0)
	former.Obj.(*corev1.Event).InvolvedObject.UID = "former"

	b := seedBatch()
	b.Deltas = append(b.Deltas, withPath, kube.Delta{Kind: kube.KindEvent, Type: kube.Upsert, Key: "default/e7", Obj: series}, other, former)
	for i, d := range b.Deltas {
		if p, ok := d.Obj.(*corev1.Pod); ok && p.Name == hw {
			p = p.DeepCopy()
			p.UID = "current"
			b.Deltas[i].Obj = p
		}
	}

	tests := []struct {
		w    int
		want string
	}{
		{160, `Events:  (newest last, as kubectl describe lists them)
  Type     Reason     Age                From     Message
  ----     ------     ----               ----     -------
  Normal   Pulled     30s (x4 over 3m)   kubelet  Container image "proberctl:dev" already present on machine
  Warning  Unhealthy  10s (x5 over 70s)  kubelet  Liveness probe failed: HTTP probe failed with statuscode: 500
  Normal   Killing    9s (x2 over 69s)   kubelet  Container prober-foo failed liveness probe, will be restarted
  Warning  BackOff    4s (x3 over 64s)   kubelet  Back-off restarting failed container prober-foo in pod prober-foo-67b66bdbf7-hw78w_default(1234)
  Warning  Unhealthy  62s                kubelet  spec.containers{prober-foo}: Liveness probe failed: Get "http://10.44.0.5:80/healthz": context deadline
                                                  exceeded (Client.Timeout exceeded while awaiting headers)`},
		{80, `Events:  (newest last, as kubectl describe lists them)
  Type     Reason     Age                From
  ----     ------     ----               ----
  Normal   Pulled     30s (x4 over 3m)   kubelet
    Container image "proberctl:dev" already present on machine
  Warning  Unhealthy  10s (x5 over 70s)  kubelet
    Liveness probe failed: HTTP probe failed with statuscode: 500
  Normal   Killing    9s (x2 over 69s)   kubelet
    Container prober-foo failed liveness probe, will be restarted
  Warning  BackOff    4s (x3 over 64s)   kubelet
    Back-off restarting failed container prober-foo in pod
    prober-foo-67b66bdbf7-hw78w_default(1234)
  Warning  Unhealthy  62s                kubelet
    spec.containers{prober-foo}: Liveness probe failed: Get
    "http://10.44.0.5:80/healthz": context deadline exceeded (Client.Timeout
    exceeded while awaiting headers)`},
	}
	for _, tt := range tests {
		m, _ := newTestModel(t, tt.w, 24, b)
		press(t, m, "down", "down", "enter")
		if got := eventsSection(t, m); got != tt.want {
			t.Errorf("%d columns: events section\n%s\nwant\n%s", tt.w, got, tt.want)
		}
		// On a screen too short for them the title says where they are,
		// and G scrolls to the last message.
		mustContain(t, screen(t, m), "(esc to go back, G for the events)")
		press(t, m, "G")
		s := screen(t, m)
		mustContain(t, s, "exceeded", "(esc to go back)")
	}
}

// TestDetailEventsFollow: the Events section says <none> for a pod without
// events, shows an event that arrives while the view is open, and its ages
// follow the clock.
func TestDetailEventsFollow(t *testing.T) {
	now := t0
	m, _ := newTestModel(t, 120, 40, seedBatch())
	m.now = func() time.Time { return now }
	press(t, m, "down", "down", "down", "enter") // 5pqcx: one Pulled event
	if m.detail.key != "default/prober-foo-764cf9f454-5pqcx" {
		t.Fatalf("detail of %q", m.detail.key)
	}
	mustContain(t, eventsSection(t, m), "Normal  Pulled  78s   kubelet  Successfully pulled image")

	m.Update(batchMsg(kube.Batch{Deltas: []kube.Delta{
		event("k1", "prober-foo-764cf9f454-5pqcx", "Normal", "Killing", "Container prober-foo failed liveness probe, will be restarted", 1, now),
	}}))
	s := eventsSection(t, m)
	mustContain(t, s, "Normal  Killing  60s   kubelet  Container prober-foo failed liveness probe, will be restarted")
	if strings.Index(s, "Pulled") > strings.Index(s, "Killing") {
		t.Errorf("newest is not last:\n%s", s)
	}
	// The clock: the frame expires when an age next reads differently.
	now = now.Add(5 * time.Second)
	m.Update(tickMsg{gen: m.tickGen})
	mustContain(t, eventsSection(t, m), "Pulled   83s", "Killing  65s")

	// A pod with no events at all.
	b := seedBatch()
	b.Deltas = append(b.Deltas, podDelta(pod("quiet", t0)))
	m, _ = newTestModel(t, 120, 40, b)
	for selectedName(m) != "quiet" {
		press(t, m, "down")
	}
	press(t, m, "enter")
	if got := eventsSection(t, m); got != "Events:  <none> (in the dashboard's window)" {
		t.Errorf("events section of a pod without events: %q", got)
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want []string
	}{
		{"", 10, []string{""}},
		{"a b c", 10, []string{"a b c"}},
		{"in pod prober-foo-67b66bdbf7-hw78w_default(1234)", 20, []string{"in pod", "prober-foo-67b66bdbf", "7-hw78w_default(1234", ")"}},
		{"one  two\tthree", 7, []string{"one two", "three"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"x abcdefghij y", 4, []string{"x", "abcd", "efgh", "ij y"}},
	}
	for _, tt := range tests {
		got := wrapWords(tt.s, tt.w)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
	}
}
