package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// fixtureNow is the clock the pod fixtures in testdata/pods are written
// against.
var fixtureNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func loadPod(t testing.TB, path string) *corev1.Pod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &pod
}

// TestPodStatus checks every branch of kubectl's printPod
// (k8s.io/kubernetes pkg/printers/internalversion/printers.go). The expected
// columns are kubectl's rules applied by hand; the integration test
// TestPodStatusMatchesAPIServer checks the same fixtures against a real API
// server's own Table printing.
func TestPodStatus(t *testing.T) {
	tests := []struct {
		file                         string
		ready, status, restarts, age string
		ip, node, version            string
		readyN, totalN, restartN     int
		lastRestart                  string // RFC 3339, "" for zero
	}{
		{file: "running", ready: "1/1", status: "Running", restarts: "0", age: "10m", ip: "10.0.0.7", node: "node-1", version: "1.0.1", readyN: 1, totalN: 1},
		{file: "pending", ready: "0/1", status: "Pending", restarts: "0", age: "30s", totalN: 1},
		{file: "scheduling-gated", ready: "0/1", status: "SchedulingGated", restarts: "0", age: "60m", totalN: 1},
		{file: "container-creating", ready: "0/1", status: "ContainerCreating", restarts: "0", age: "2s", node: "node-1", totalN: 1},
		{file: "crashloop", ready: "0/1", status: "CrashLoopBackOff", restarts: "3 (5m ago)", age: "3h", ip: "10.0.0.8", node: "node-1", totalN: 1, restartN: 3, lastRestart: "2026-11-24T11:55:00Z"},
		{file: "running-not-ready", ready: "0/1", status: "Running", restarts: "0", age: "2m", totalN: 1},
		{file: "terminated-error", ready: "0/1", status: "Error", restarts: "0", age: "60m", totalN: 1},
		{file: "terminated-signal", ready: "0/1", status: "Signal:9", restarts: "0", age: "60m", totalN: 1},
		{file: "terminated-exitcode", ready: "0/1", status: "ExitCode:3", restarts: "0", age: "60m", totalN: 1},
		{file: "completed", ready: "0/1", status: "Completed", restarts: "0", age: "2d", totalN: 1},
		{file: "completed-running-ready", ready: "1/2", status: "Running", restarts: "0", age: "60m", readyN: 1, totalN: 2},
		{file: "completed-running-notready", ready: "1/2", status: "NotReady", restarts: "0", age: "60m", readyN: 1, totalN: 2},
		{file: "completed-with-error", ready: "1/3", status: "Error", restarts: "0", age: "60m", readyN: 1, totalN: 3},
		{file: "completed-no-running", ready: "0/2", status: "Completed", restarts: "0", age: "60m", totalN: 2},
		{file: "init-running", ready: "0/1", status: "Init:0/2", restarts: "0", age: "60s", totalN: 1},
		{file: "init-second", ready: "0/1", status: "Init:1/2", restarts: "0", age: "60s", totalN: 1},
		{file: "init-crashloop", ready: "0/1", status: "Init:CrashLoopBackOff", restarts: "2 (60s ago)", age: "30m", totalN: 1, restartN: 2, lastRestart: "2026-11-24T11:59:00Z"},
		{file: "init-error", ready: "0/1", status: "Init:Error", restarts: "0", age: "30m", totalN: 1},
		{file: "init-signal", ready: "0/1", status: "Init:Signal:15", restarts: "0", age: "30m", totalN: 1},
		{file: "init-exitcode", ready: "0/1", status: "Init:ExitCode:2", restarts: "0", age: "30m", totalN: 1},
		{file: "init-done-initialized", ready: "1/1", status: "Init:0/1", restarts: "1 (40m ago)", age: "120m", readyN: 1, totalN: 1, restartN: 1, lastRestart: "2026-11-24T11:19:59Z"},
		{file: "sidecar", ready: "2/2", status: "Running", restarts: "3 (60m ago)", age: "6h", readyN: 2, totalN: 2, restartN: 3, lastRestart: "2026-11-24T10:59:59Z"},
		{file: "sidecar-starting", ready: "0/2", status: "Init:0/1", restarts: "0", age: "5s", totalN: 2},
		{file: "terminating", ready: "1/1", status: "Terminating", restarts: "0", age: "60m", readyN: 1, totalN: 1},
		{file: "terminating-succeeded", ready: "0/1", status: "Completed", restarts: "0", age: "60m", totalN: 1},
		{file: "node-lost", ready: "1/1", status: "Unknown", restarts: "0", age: "60m", node: "node-2", readyN: 1, totalN: 1},
		{file: "evicted", ready: "0/1", status: "Evicted", restarts: "0", age: "4d", totalN: 1},
		{file: "restarts-no-last-state", ready: "1/1", status: "Running", restarts: "2", age: "60m", readyN: 1, totalN: 1, restartN: 2},
		{file: "multi-container", ready: "0/2", status: "CrashLoopBackOff", restarts: "6 (60s ago)", age: "3d", version: "2.0", totalN: 2, restartN: 6, lastRestart: "2026-11-24T11:59:00Z"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			seen[tt.file] = true
			pod := loadPod(t, filepath.Join("testdata", "pods", tt.file+".yaml"))
			got := PodStatus(pod, fixtureNow)
			or := func(s, def string) string {
				if s == "" {
					return def
				}
				return s
			}
			want := PodColumns{
				Namespace: "default", Name: tt.file,
				Ready: tt.ready, Status: tt.status, Restarts: tt.restarts, Age: tt.age,
				IP: or(tt.ip, "<none>"), Node: or(tt.node, "<none>"), Version: tt.version,
				ReadyContainers: tt.readyN, TotalContainers: tt.totalN, RestartCount: tt.restartN,
				Created: pod.CreationTimestamp.Time,
			}
			if tt.lastRestart != "" {
				want.LastRestart, _ = time.Parse(time.RFC3339, tt.lastRestart)
			}
			if !got.LastRestart.Equal(want.LastRestart) {
				t.Errorf("LastRestart = %v, want %v", got.LastRestart, want.LastRestart)
			}
			got.LastRestart, want.LastRestart = time.Time{}, time.Time{}
			if !got.Created.Equal(want.Created) {
				t.Errorf("Created = %v, want %v", got.Created, want.Created)
			}
			got.Created, want.Created = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("PodStatus(%s)\n got %+v\nwant %+v", tt.file, got, want)
			}
		})
	}
	// Every fixture is covered, so a new one cannot be forgotten here.
	files, _ := filepath.Glob(filepath.Join("testdata", "pods", "*.yaml"))
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".yaml"); !seen[name] {
			t.Errorf("fixture %s has no expectation in TestPodStatus", f)
		}
	}
}

func TestSince(t *testing.T) {
	now := fixtureNow
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "0s"},
		{-1 * time.Second, "0s"},        // clock skew within tolerance
		{-3 * time.Second, "<invalid>"}, // a timestamp from the future
		{119 * time.Second, "119s"},     // seconds up to two minutes
		{2 * time.Minute, "2m"},         // then minutes
		{5*time.Minute + 3*time.Second, "5m3s"},
		{10*time.Minute + 3*time.Second, "10m"},
		{179 * time.Minute, "179m"},
		{3*time.Hour + 20*time.Minute, "3h20m"},
		{8*time.Hour + 20*time.Minute, "8h"},
		{49 * time.Hour, "2d1h"},
		{9 * 24 * time.Hour, "9d"},
		{3 * 365 * 24 * time.Hour, "3y"},
	}
	for _, tt := range tests {
		if got := Since(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("Since(now-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := Since(time.Time{}, now); got != "<unknown>" {
		t.Errorf("Since(zero) = %q, want <unknown>", got)
	}
}

// A pod with no spec or status at all must not crash the printer.
func TestPodStatusEmptyPod(t *testing.T) {
	got := PodStatus(&corev1.Pod{}, fixtureNow)
	if got.Ready != "0/0" || got.Status != "" || got.Restarts != "0" || got.Age != "<unknown>" {
		t.Errorf("PodStatus(empty) = %+v", got)
	}
}

// Init container statuses that name containers absent from the spec (a
// stale or hand-written status) are treated as ordinary init containers.
func TestPodStatusUnknownInitContainer(t *testing.T) {
	pod := loadPod(t, filepath.Join("testdata", "pods", "sidecar.yaml"))
	pod.Status.InitContainerStatuses[0].Name = "not-in-spec"
	got := PodStatus(pod, fixtureNow)
	if got.Status != "Init:0/1" {
		t.Errorf("Status = %q, want Init:0/1", got.Status)
	}
}
