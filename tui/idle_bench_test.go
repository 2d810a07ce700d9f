package tui

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// BenchmarkIdle runs the whole program, as Run builds it, on 5,000 pods
// that do not change, and reports the CPU the process spends per second
// while nothing happens (issue 4: no measurable CPU when idle), and how
// often it wrote to the terminal in that time. It measures a fixed idle
// window per iteration, so run it with -benchtime 1x. The bubbletea cases
// run the same model on Bubble Tea's own renderer at 20 frames per second
// (what Run used before screen.go) and at its default 60, for comparison.
func BenchmarkIdle(b *testing.B) {
	const idle = 10 * time.Second
	for _, r := range renderers {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				sw, stop := startProgram(b, r.fps, 160, 48, 5000)
				runtime.GC() // the first screen's garbage is not idle work
				before, writes := cpuTime(), sw.count()
				time.Sleep(idle) // the measurement window, not a wait for a condition
				used := cpuTime() - before
				b.ReportMetric(float64(used.Microseconds())/1000/idle.Seconds(), "cpu-ms/s")
				b.ReportMetric(float64(sw.count()-writes)/idle.Seconds(), "writes/s")
				stop()
			}
		})
	}
}

// BenchmarkKeyToScreen is the time from a key press (down, which moves the
// selection) to the new frame written to the terminal, on 5,000 pods at
// 160x48. Bubble Tea's renderer writes it at its next tick, up to a frame
// period later; Run's screen writes it when the Update is done.
func BenchmarkKeyToScreen(b *testing.B) {
	for _, r := range append(renderers, renderer{"bubbletea-fps=10", 10}) {
		b.Run(r.name, func(b *testing.B) {
			sw, stop := startProgram(b, r.fps, 160, 48, 5000)
			defer stop()
			keys := []tea.KeyMsg{{Type: tea.KeyDown}, {Type: tea.KeyUp}}
			for i := 0; b.Loop(); i++ {
				n := sw.count()
				sw.p.Send(keys[i%2])
				if !sw.waitCount(n+1, 5*time.Second) {
					b.Fatal("no frame within 5 s of a key press")
				}
			}
		})
	}
}

// renderer is what draws the frames: fps 0 is Run's own screen, otherwise
// Bubble Tea's renderer at that frame rate.
type renderer struct {
	name string
	fps  int
}

var renderers = []renderer{{"screen", 0}, {"bubbletea-fps=20", 20}, {"bubbletea-fps=60", 60}}

// screenWriter stands in for the terminal: it counts the program's writes.
type screenWriter struct {
	p    interface{ Send(tea.Msg) }
	mu   sync.Mutex
	buf  bytes.Buffer
	n    int
	wake chan struct{}
}

func (s *screenWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	// Keep only the tail: the benchmarks look for a recent text.
	if s.buf.Len() > 1<<20 {
		s.buf.Reset()
	}
	s.buf.Write(p)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *screenWriter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *screenWriter) contains(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.buf.Bytes(), []byte(text))
}

// waitCount waits until the program has written n times.
func (s *screenWriter) waitCount(n int, limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for s.count() < n {
		select {
		case <-s.wake:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// startProgram runs the dashboard as Run does (fps 0: same program) or on
// Bubble Tea's renderer at fps, on a pipe for input and a screenWriter for
// output, sized w x h, and waits for the first pod row. The pods are the
// seed's and n bench pods. stop quits it and waits for it to end.
func startProgram(b *testing.B, fps, w, h, n int) (*screenWriter, func()) {
	b.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	first := seedBatch()
	for _, p := range benchPods(n) {
		first.Deltas = append(first.Deltas, podDelta(p))
	}
	opts := Options{Source: newFakeSource(first), Actions: &fakeActions{}, Context: "bench", Namespace: "default",
		Input: inR}
	sw := &screenWriter{wake: make(chan struct{}, 1)}
	opts.Output = sw
	m := newModel(ctx, opts, false, nil)
	var run func() error
	var quit func()
	if fps == 0 {
		p := newProgram(ctx, m, opts)
		sw.p, run, quit = p, p.run, p.Quit
	} else {
		p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFPS(fps),
			tea.WithInput(inR), tea.WithOutput(sw))
		sw.p, quit = p, p.Quit
		run = func() error { _, err := p.Run(); return err }
	}
	done := make(chan error, 1)
	go func() { done <- run() }()
	sw.p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	deadline := time.Now().Add(30 * time.Second)
	for !sw.contains("prober-foo-67b66bdbf7-00000") {
		if time.Now().After(deadline) {
			b.Fatal("the first screen did not come within 30 s")
		}
		sw.waitCount(sw.count()+1, 100*time.Millisecond)
	}
	return sw, func() {
		quit()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("program: %v", err)
			}
		case <-time.After(10 * time.Second):
			b.Error("program did not quit within 10 s")
		}
		cancel()
		inW.Close()
		inR.Close()
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
