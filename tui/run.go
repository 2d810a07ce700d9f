// Package tui is the proberctl dashboard: a Bubble Tea program that shows
// pods, probes, events and rollouts from a kube.Source and fires
// kube.Actions at the selected pod.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/proberctl/proberctl/kube"
)

// Options is everything the dashboard needs. Source and Actions are
// required; the rest only labels the header or seeds prompts.
type Options struct {
	Source  kube.Source
	Actions kube.Actions

	// Context, Namespace and Selector are shown in the header as given
	// ("" namespace means all namespaces).
	Context, Namespace, Selector string

	// DefaultResolveHost pre-fills the resolve prompt; when empty the
	// first Service seen is used.
	DefaultResolveHost string

	// LogFile receives the dashboard's logs and klog's (the screen belongs
	// to the TUI). Empty means logs are discarded.
	LogFile string

	// Mouse turns on mouse capture; off by default so the terminal's own
	// text selection keeps working.
	Mouse bool

	// Now is the clock; nil means time.Now. Tests inject a fixed clock so
	// the AGE column and the timeline are stable.
	Now func() time.Time

	// Input and Output replace the terminal (tests); nil means stdin/stdout.
	Input  io.Reader
	Output io.Writer
}

// Run shows the dashboard until the person quits or ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Source == nil {
		return errors.New("tui: Options.Source is required")
	}
	if opts.Actions == nil {
		return errors.New("tui: Options.Actions is required")
	}

	logw := io.Discard
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		defer f.Close()
		logw = f
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	// klog (client-go's logger) writes to stderr, over the screen.
	kube.SilenceKlog(logw)

	// Ask the terminal once; every adaptive colour then uses the answer
	// instead of querying per render.
	lipgloss.SetHasDarkBackground(lipgloss.HasDarkBackground())
	color := os.Getenv("NO_COLOR") == ""

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newModel(ctx, opts, color, log)

	log.Info("dashboard starting", "context", opts.Context, "namespace", opts.Namespace, "selector", opts.Selector)
	_, err := newProgram(ctx, m, opts).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		// Interrupted from outside (signal): a normal way to leave.
		return nil
	}
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// frameRate is how often Bubble Tea's renderer looks for a new frame. Its
// ticker runs even when nothing changes, and each wake-up costs the process
// CPU: at the default 60 per second it was most of the idle dashboard's CPU
// (BenchmarkIdle, see BENCHMARKS.md). A new frame waits at most one period
// to reach the screen: 50 ms at 20 per second, under the time between two
// key repeats (BenchmarkKeyToScreen measures it).
var frameRate = 20

// newProgram is the Bubble Tea program Run runs; the benchmarks run the
// same one.
func newProgram(ctx context.Context, m *model, opts Options) *tea.Program {
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFPS(frameRate)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if opts.Mouse {
		popts = append(popts, tea.WithMouseCellMotion())
	}
	return tea.NewProgram(m, popts...)
}
