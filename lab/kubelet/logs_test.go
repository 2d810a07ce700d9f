package kubelet

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/internal/syncbuf"
)

func TestOutputRingTail(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		n      int
		want   string
	}{
		{"nothing", nil, 200, ""},
		{"lines", []string{"a\nb\n", "c\n"}, 200, "a\nb\nc\n"},
		{"tail of lines", []string{"a\nb\nc\n"}, 2, "b\nc\n"},
		{"all with n 0", []string{"a\nb\n"}, 0, "a\nb\n"},
		{"split writes", []string{"he", "llo\nwor", "ld\n"}, 200, "hello\nworld\n"},
		{"unfinished last line", []string{"a\nb\nexiting"}, 200, "a\nb\nexiting"},
		{"unfinished line counts in the tail", []string{"a\nb\nexiting"}, 2, "b\nexiting"},
		{"empty lines kept", []string{"\n\nx\n"}, 200, "\n\nx\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newOutputRing()
			for _, w := range tc.writes {
				if n, err := r.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := r.tail(tc.n); got != tc.want {
				t.Errorf("tail(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

// The ring keeps the end of the output within its bounds however much is
// written: by lines, by bytes, and for a line that never ends.
func TestOutputRingIsBounded(t *testing.T) {
	t.Run("lines", func(t *testing.T) {
		r := newOutputRing()
		for i := range 5 * outputMaxLines {
			fmt.Fprintf(r, "line %d\n", i)
		}
		all := strings.Split(strings.TrimSuffix(r.tail(0), "\n"), "\n")
		if len(all) != outputMaxLines {
			t.Fatalf("kept %d lines, want %d", len(all), outputMaxLines)
		}
		if want := fmt.Sprintf("line %d", 5*outputMaxLines-1); all[len(all)-1] != want {
			t.Errorf("last line %q, want %q", all[len(all)-1], want)
		}
		if want := fmt.Sprintf("line %d", 4*outputMaxLines); all[0] != want {
			t.Errorf("first kept line %q, want %q", all[0], want)
		}
		if len(r.lines) > 2*outputMaxLines {
			t.Errorf("ring holds %d slots for %d lines: dropped lines are not released", len(r.lines), outputMaxLines)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		r := newOutputRing()
		line := strings.Repeat("x", 999) + "\n"
		for range 2 * outputMaxBytes / len(line) {
			r.Write([]byte(line))
		}
		got := r.tail(0)
		if len(got) > outputMaxBytes {
			t.Errorf("kept %d bytes, bound is %d", len(got), outputMaxBytes)
		}
		if len(got) < outputMaxBytes-len(line) {
			t.Errorf("kept %d bytes, want close to the bound %d", len(got), outputMaxBytes)
		}
		if r.bytes != len(got) {
			t.Errorf("ring counts %d bytes, holds %d", r.bytes, len(got))
		}
	})
	t.Run("endless line", func(t *testing.T) {
		r := newOutputRing()
		chunk := bytes.Repeat([]byte("y"), 4096)
		for range outputMaxBytes / len(chunk) * 3 {
			r.Write(chunk)
		}
		if len(r.partial) >= outputMaxLine {
			t.Errorf("unfinished line holds %d bytes, bound is %d", len(r.partial), outputMaxLine)
		}
		if got := r.tail(0); len(got) > outputMaxBytes+outputMaxLine {
			t.Errorf("kept %d bytes, bound is %d", len(got), outputMaxBytes+outputMaxLine)
		}
	})
}

// TestOutputRingWriteIsLinear: exec copies a child's output in chunks of up
// to 32 KiB, and a chatty server fills one with hundreds of lines. Taking
// them apart must cost in proportion to the chunk: one copy per line kept,
// not a copy of the chunk's rest per line (17 MB allocated for a 32 KiB
// chunk of 1024 lines, about 20 ms of CPU per chunk).
func TestOutputRingWriteIsLinear(t *testing.T) {
	chunk := []byte(strings.Repeat("0123456789abcdefghijklmnopqrstu\n", 1024)) // 32 KiB
	r := newOutputRing()
	r.Write([]byte("an unfinished line, "))
	const writes = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range writes {
		r.Write(chunk)
	}
	runtime.ReadMemStats(&after)
	// What the lines themselves take, with room for the slice of lines
	// and anything else the process allocates meanwhile.
	limit := uint64(writes * 8 * len(chunk))
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Errorf("%d writes of %d bytes allocated %d bytes, want at most %d", writes, len(chunk), got, limit)
	}
	lines := strings.Split(r.tail(3), "\n")
	if want := "0123456789abcdefghijklmnopqrstu"; len(lines) != 4 || lines[0] != want || lines[2] != want || lines[3] != "" {
		t.Errorf("tail 3 = %q, want three whole lines", lines)
	}
}

// TestLineLoggerSplitsWritesLinearly: the copy of a container's output in
// the lab's log gets one record per line, lines split across writes joined
// again, at a cost in proportion to the write (it copied the rest of its
// buffer for every line: 17 MB for a 32 KiB write of 1024 lines).
func TestLineLoggerSplitsWritesLinearly(t *testing.T) {
	var logged syncbuf.Buffer
	l := &lineLogger{log: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, piece := range []string{"first li", "ne\nsecond", " line\nthird line\n", "unfinished"} {
		if n, err := l.Write([]byte(piece)); n != len(piece) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", piece, n, err, len(piece))
		}
	}
	var lines []string
	for _, rec := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		_, line, _ := strings.Cut(rec, "line=")
		lines = append(lines, line)
	}
	if want := []string{`"first line"`, `"second line"`, `"third line"`}; !slices.Equal(lines, want) {
		t.Errorf("logged lines %q, want %q", lines, want)
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const line = "0123456789abcdefghijklmnopqrstu"
	chunk := []byte(strings.Repeat(line+"\n", 1024)) // 32 KiB
	const writes = 20
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	// What logging the lines costs by itself (slog's records; more under
	// -race, which empties sync.Pools at random) is the baseline; taking
	// the chunks apart may add about a copy of each.
	logging := allocated(func() {
		for range writes * 1024 {
			quiet.Debug("container output", "line", line)
		}
	})
	l2 := &lineLogger{log: quiet}
	got := allocated(func() {
		for range writes {
			l2.Write(chunk)
		}
	})
	if limit := 2*logging + uint64(writes*8*len(chunk)); got > limit {
		t.Errorf("%d writes of %d bytes allocated %d bytes, want at most %d (logging the lines alone: %d)", writes, len(chunk), got, limit, logging)
	}
}

// tail is read while the child writes.
func TestOutputRingConcurrentRead(t *testing.T) {
	r := newOutputRing()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20000 {
			fmt.Fprintf(r, "%d\n", i)
		}
	}()
	for range 100 {
		for _, l := range strings.Split(strings.TrimSuffix(r.tail(5), "\n"), "\n") {
			if strings.Trim(l, "0123456789") != "" {
				t.Fatalf("torn line %q", l)
			}
		}
	}
	wg.Wait()
	if got := r.tail(1); got != "19999\n" {
		t.Errorf("last line %q, want 19999", got)
	}
}

// logContainerID chooses the run as validateContainerLogStatus does
// (pkg/kubelet/kubelet_pods.go).
func TestLogContainerID(t *testing.T) {
	term := func(id string) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ContainerID: id, ExitCode: 1}
	}
	tests := []struct {
		name     string
		cs       *corev1.ContainerStatus
		previous bool
		want     string
		wantErr  string
	}{
		{"no status", nil, false, "", `container "c" in pod "p" is not available`},
		{"running", &corev1.ContainerStatus{ContainerID: "lab://2", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, false, "lab://2", ""},
		{"running, no previous", &corev1.ContainerStatus{ContainerID: "lab://1", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, true, "",
			`previous terminated container "c" in pod "p" not found`},
		{"running after a restart, previous", &corev1.ContainerStatus{ContainerID: "lab://2",
			State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: term("lab://1")}}, true, "lab://1", ""},
		{"back-off shows the run that ended", &corev1.ContainerStatus{ContainerID: "lab://1",
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: term("lab://1")}}, false, "lab://1", ""},
		{"back-off, previous", &corev1.ContainerStatus{ContainerID: "lab://1",
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: term("lab://1")}}, true, "lab://1", ""},
		{"terminated", &corev1.ContainerStatus{ContainerID: "lab://3", State: corev1.ContainerState{Terminated: term("lab://3")}}, false, "lab://3", ""},
		{"terminated without id", &corev1.ContainerStatus{State: corev1.ContainerState{Terminated: term("")}}, false, "",
			`container "c" in pod "p" is terminated`},
		{"creating", &corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}, false, "",
			`container "c" in pod "p" is waiting to start: ContainerCreating`},
		{"no state", &corev1.ContainerStatus{}, false, "", `container "c" in pod "p" is waiting to start - no logs yet`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := logContainerID(tc.cs, "p", "c", tc.previous)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tc.want || gotErr != tc.wantErr {
				t.Errorf("got %q, %q; want %q, %q", got, gotErr, tc.want, tc.wantErr)
			}
		})
	}
}

// A server that crashes on start says why in its output, and the kubelet
// keeps that as the previous instance's log, as `kubectl logs --previous`
// shows it; during the back-off the current log is the same run's.
func TestLogsOfACrashOnStart(t *testing.T) {
	e := start(t, true)
	e.create(pod("crashy", map[string]string{"CRASH_FACTOR": "100"}))
	got := e.waitPod("crashy", "back-off after the first crash", func(p *corev1.Pod) bool {
		cs := containerStatus(p)
		return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" && cs.LastTerminationState.Terminated != nil
	})
	last := containerStatus(got).LastTerminationState.Terminated
	prev, err := e.k.ContainerLogs("default", "crashy", "c", true, 200)
	if err != nil {
		t.Fatalf("previous log: %v", err)
	}
	for _, want := range []string{"crashing on start", "CRASH_FACTOR=100 rolled"} {
		if !strings.Contains(prev, want) {
			t.Errorf("previous log lacks %q:\n%s", want, prev)
		}
	}
	cur, err := e.k.ContainerLogs("default", "crashy", "c", false, 200)
	if err != nil {
		t.Fatalf("current log during back-off: %v", err)
	}
	if cur != prev {
		t.Errorf("during back-off the log is run %s's, as the status shows; got\n%s\nwant\n%s", last.ContainerID, cur, prev)
	}
	if tail, _ := e.k.ContainerLogs("default", "crashy", "c", true, 1); !strings.Contains(tail, "crashing on start") || strings.Count(tail, "\n") != 1 {
		t.Errorf("tail of 1 line = %q, want the crash line", tail)
	}
}

// After a restart the current log is the new run's and the previous log is
// the run that crashed, with the request that crashed it.
func TestLogsAcrossARestart(t *testing.T) {
	e := start(t, true)
	e.create(pod("restarts", nil))
	p := e.listening("restarts")
	_, err := e.k.ContainerLogs("default", "restarts", "c", true, 200)
	if want := `previous terminated container "c" in pod "restarts" not found`; err == nil || err.Error() != want {
		t.Errorf("previous log of a first run: %v, want %q", err, want)
	}
	first, err := e.k.ContainerLogs("default", "restarts", "c", false, 200)
	if err != nil {
		t.Fatalf("current log: %v", err)
	}
	if !strings.Contains(first, "listening") {
		t.Errorf("current log lacks the server's listening line:\n%s", first)
	}
	addr, _ := PodAddress(p, 80)
	_, _ = httpGet("http://" + addr + "/crash")
	e.waitRun("restarts", 1) // the first restart is immediate
	p = e.listening("restarts")
	if containerStatus(p).RestartCount != 1 {
		t.Fatalf("restart count %d, want 1", containerStatus(p).RestartCount)
	}
	prev, err := e.k.ContainerLogs("default", "restarts", "c", true, 200)
	if err != nil {
		t.Fatalf("previous log: %v", err)
	}
	if !strings.HasPrefix(prev, first) || !strings.Contains(prev, "crashing on request") {
		t.Errorf("previous log is not the first run's output through its crash:\n%s", prev)
	}
	cur, err := e.k.ContainerLogs("default", "restarts", "c", false, 200)
	if err != nil {
		t.Fatalf("current log: %v", err)
	}
	if strings.Contains(cur, "crashing on request") || !strings.Contains(cur, "listening") {
		t.Errorf("current log is not the new run's:\n%s", cur)
	}
	if _, err := e.k.ContainerLogs("default", "nope", "c", false, 200); err == nil || err.Error() != `pod "nope" cannot be found - no logs available` {
		t.Errorf("log of a missing pod: %v", err)
	}
	if _, err := e.k.ContainerLogs("default", "restarts", "other", false, 200); err == nil || err.Error() != `container "other" in pod "restarts" is not available` {
		t.Errorf("log of a missing container: %v", err)
	}
}

// The lab's debug log still gets the child's output, line by line, next to
// the ring.
func TestOutputStillReachesTheDebugLog(t *testing.T) {
	var buf syncbuf.Buffer
	e := startLogged(t, true, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	e.create(pod("chatty", map[string]string{"CRASH_FACTOR": "100"}))
	e.waitPod("chatty", "the first crash", func(p *corev1.Pod) bool {
		return containerStatus(p).LastTerminationState.Terminated != nil
	})
	e.waitFor("the crash line in the debug log", func() bool {
		s := buf.String()
		return strings.Contains(s, "container output") && strings.Contains(s, "crashing on start")
	})
	prev, err := e.k.ContainerLogs("default", "chatty", "c", true, 200)
	if err != nil || !strings.Contains(prev, "crashing on start") {
		t.Errorf("previous log %q, %v; want the crash line", prev, err)
	}
}
