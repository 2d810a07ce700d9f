package kube

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kube -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func printerEvent(name, typ, reason, pod, msg string, count int32, last time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: pod},
		Type:           typ, Reason: reason, Message: msg, Count: count,
		Source:        corev1.EventSource{Component: "kubelet", Host: "node-1"},
		LastTimestamp: metav1.NewTime(last),
	}
}

// printerBatches is a short story: the initial state, a restart with its
// events, a batch that changes nothing visible, and a deletion.
func printerBatches(t *testing.T) []Batch {
	pod := func(name string) *corev1.Pod { return loadPod(t, filepath.Join("testdata", "pods", name+".yaml")) }
	running, crash, pending := pod("running"), pod("crashloop"), pod("pending")
	restarted := running.DeepCopy()
	restarted.Status.ContainerStatuses[0].RestartCount = 1
	restarted.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
		ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(fixtureNow.Add(-30 * time.Second))}
	up := func(k Kind, obj any) Delta {
		o := obj.(metav1.Object)
		return Delta{Kind: k, Type: Upsert, Key: o.GetNamespace() + "/" + o.GetName(), Obj: obj}
	}
	probe := printerEvent("running.1", "Warning", "Unhealthy", "running", "Liveness probe failed: HTTP probe failed with statuscode: 500", 3, fixtureNow.Add(-40*time.Second))
	kill := printerEvent("running.2", "Normal", "Killing", "running", "Container app failed liveness probe, will be restarted", 1, fixtureNow.Add(-35*time.Second))
	backoff := printerEvent("crashloop.1", "Warning", "BackOff", "crashloop", "Back-off restarting failed container app in pod crashloop_default(uid)", 12, fixtureNow.Add(-10*time.Second))
	return []Batch{
		{Deltas: []Delta{up(KindPod, running), up(KindPod, crash), up(KindPod, pending), up(KindEvent, backoff)}, Synced: true, Conn: &Conn{State: Connected}},
		{Deltas: []Delta{up(KindEvent, kill), up(KindEvent, probe), up(KindPod, restarted), up(KindReplicaSet, nil2rs())}},
		{Deltas: []Delta{up(KindPod, crash), up(KindEvent, backoff)}, Conn: &Conn{State: Disconnected, Detail: "API server unreachable, retrying: dial tcp 127.0.0.1:6443: connect: connection refused"}},
		{Deltas: []Delta{{Kind: KindPod, Type: Deleted, Key: "default/pending", Obj: pending}, {Kind: KindPod, Type: Deleted, Key: "default/ghost"}}},
	}
}

func TestLinePrinterGolden(t *testing.T) {
	for _, format := range []string{"", "wide", "json"} {
		name := format
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			var out, status bytes.Buffer
			p, err := NewLinePrinter(&out, format)
			if err != nil {
				t.Fatal(err)
			}
			p.Now = func() time.Time { return fixtureNow }
			p.Status = &status
			for _, b := range printerBatches(t) {
				if err := p.Print(b); err != nil {
					t.Fatal(err)
				}
			}
			if format != "json" {
				out.WriteString("# status lines\n")
				out.Write(status.Bytes())
			}
			golden(t, filepath.Join("printer", name+".golden"), out.Bytes())
		})
	}
}

// With -A both tables lead with NAMESPACE, as kubectl get pods -A and
// kubectl get events -A do, in the default and wide formats.
func TestLinePrinterAllNamespaces(t *testing.T) {
	for _, format := range []string{"", "wide"} {
		t.Run("format="+format, func(t *testing.T) {
			var out bytes.Buffer
			p, _ := NewLinePrinter(&out, format)
			p.AllNamespaces = true
			p.Now = func() time.Time { return fixtureNow }
			for _, b := range printerBatches(t) {
				if err := p.Print(b); err != nil {
					t.Fatal(err)
				}
			}
			var pods, events bool
			for _, line := range strings.Split(out.String(), "\n") {
				switch {
				case strings.HasPrefix(line, "NAMESPACE   NAME "):
					pods = true
				case strings.HasPrefix(line, "NAMESPACE   LAST SEEN "):
					events = true
				case strings.Contains(line, "NAME ") || strings.Contains(line, "LAST SEEN"):
					t.Errorf("header without a leading NAMESPACE column: %q", line)
				}
			}
			if !pods || !events {
				t.Errorf("pod header seen %v, event header seen %v; want both with NAMESPACE first:\n%s", pods, events, out.String())
			}
		})
	}
}

// Every JSON event names its namespace, so events of pods with the same
// name in two namespaces (watch -A -o json) can be told apart.
func TestLinePrinterJSONEventNamespace(t *testing.T) {
	var out bytes.Buffer
	p, _ := NewLinePrinter(&out, "json")
	p.Now = func() time.Time { return fixtureNow }
	for _, b := range printerBatches(t) {
		if err := p.Print(b); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{} // event object -> its namespace, from the fixture
	for _, b := range printerBatches(t) {
		for _, d := range b.Deltas {
			if e, ok := d.Obj.(*corev1.Event); ok {
				want[strings.ToLower(e.InvolvedObject.Kind)+"/"+e.InvolvedObject.Name] = e.Namespace
			}
		}
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if m["kind"] != "Event" {
			continue
		}
		n++
		ns, ok := m["namespace"].(string)
		if !ok || ns == "" || ns != want[m["object"].(string)] {
			t.Errorf("event %v: namespace = %v, want %q", m["object"], m["namespace"], want[m["object"].(string)])
		}
	}
	if n == 0 {
		t.Fatal("the fixture printed no event")
	}
}

func TestNewLinePrinterRejectsUnknownFormat(t *testing.T) {
	if _, err := NewLinePrinter(&bytes.Buffer{}, "yaml"); err == nil || !strings.Contains(err.Error(), "accepted: wide, json") {
		t.Errorf("err = %v", err)
	}
}

func nil2rs() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "foo-abc"}}
}
