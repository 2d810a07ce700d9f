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
	"os/signal"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"

	"github.com/proberctl/proberctl/kube"
)

// Options is everything the dashboard needs. Source and Actions are
// required; the rest only labels the header or seeds prompts.
type Options struct {
	Source  kube.Source
	Actions kube.Actions

	// Context, Namespace and Selector are shown in the header as given
	// ("" context is the in-cluster config, "" namespace means all
	// namespaces).
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

	// Notices are what the caller has to say before the first screen (the
	// lab's "read the copy built into proberctl", "skipped ConfigMap ...").
	// They open the output pane, where the user looks, rather than go to
	// stderr under the alternate screen.
	Notices []string

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

	// SIGINT, SIGTERM and SIGHUP (the terminal closed) end the context,
	// which quits the program (program.run),
	// and Bubble Tea's own handler for them is off (newProgram): in
	// v1.3.10 it sends its quit message without watching the context
	// (tea.go handleSignals), so when the
	// context ends on the same signal (main cancels it) and the event loop
	// leaves first, the send blocks for ever and Run waits for it: the
	// dashboard hung on kill, alternate screen and raw mode still on.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newModel(ctx, opts, color, log)

	log.Info("dashboard starting", "context", opts.Context, "namespace", opts.Namespace, "selector", opts.Selector)
	err := newProgram(ctx, m, opts).run()
	if ctx.Err() != nil && !errors.Is(err, tea.ErrProgramPanic) &&
		(err == nil || errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, errTerminalGone)) {
		// Interrupted from outside (signal): a normal way to leave, also
		// when the terminal is gone with it (a closed window hangs the
		// terminal up and sends SIGHUP; either may come first).
		log.Info("dashboard stopped", "cause", context.Cause(ctx), "err", err)
		return nil
	}
	if err != nil {
		if errors.Is(err, errTerminalGone) {
			log.Error("dashboard stopped: the terminal went away", "err", err)
		} else {
			log.Error("dashboard failed", "err", err)
		}
		return fmt.Errorf("dashboard: %w", err)
	}
	log.Info("dashboard stopped")
	return nil
}

// errTerminalGone is what Run's error wraps when the terminal went away
// under the dashboard: a write to it or a read from it failed (an ssh
// connection or a terminal window gone without a SIGHUP reaching the
// process, stdout closed). The program quits as on q, and the error says
// why, with the failed write's or read's own error.
var errTerminalGone = errors.New("the terminal went away")

// flushLimit is how long the terminal's setup and restoration may wait for
// the terminal to take them (terminal.limit).
const flushLimit = 5 * time.Second

// program is the dashboard as Run runs it: Bubble Tea's event loop and
// input with the screen of screen.go instead of Bubble Tea's renderer
// (see there for why). The benchmarks run the same.
type program struct {
	*tea.Program
	ctx   context.Context
	model *screenModel
	term  *terminal
}

// newProgram builds the program on opts.Input and opts.Output, stdin and
// stdout when nil. (The commands open the dashboard only when both are a
// terminal.)
func newProgram(ctx context.Context, m tea.Model, opts Options) *program {
	p := &program{ctx: ctx}
	in, out := opts.Input, opts.Output
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	scr := newTermWriter(out)
	p.term = &terminal{outFd: -1, mouse: opts.Mouse, scr: scr, limit: flushLimit}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.term.in = f
	}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.term.outFd = int(f.Fd())
	}
	p.model = &screenModel{Model: m, scr: scr, term: p.term}
	// Not tea.WithContext: ctx ending quits the program (run), as q does.
	// On a cancelled context Bubble Tea v1.3.10 kills the program, and a
	// kill closes its input reader without waiting for the read loop
	// (tea.go shutdown): a data race on the input file (cancelreader).
	popts := []tea.ProgramOption{tea.WithoutRenderer(), tea.WithInput(in),
		tea.WithoutSignalHandler()} // signals end ctx (see Run)
	if opts.Mouse {
		// The terminal reports the mouse (terminal.open); this tells
		// Bubble Tea's input reader to expect it.
		popts = append(popts, tea.WithMouseCellMotion())
	}
	p.Program = tea.NewProgram(p.model, popts...)
	// A failed write quits the program, and run returns the write's
	// error. Quit waits for the event loop to take it: not on the writer.
	scr.gone = func(error) { go p.Program.Quit() }
	return p
}

// run sets the terminal up, runs the program and gives the terminal back,
// however the program ends: when it returns, the last frame and the
// restoration were written (or the terminal is gone, or did not take
// them within flushLimit).
func (p *program) run() error {
	if w, h, ok := p.term.size(); ok {
		p.model.scr.resize(w, h)
	}
	if err := p.term.open(); err != nil {
		// Bubble Tea never ran: end its context, or Send (watchSize's, a
		// test's, the Quit of termWriter.gone) would wait for it for ever.
		p.Program.Kill()
		return err
	}
	defer p.term.restore()
	ctx, stop := context.WithCancel(p.ctx)
	defer stop()
	go watchSize(ctx, p.term, p.Send)
	// Run's context ended (a signal): quit. Quit returns at once once the
	// program has ended.
	context.AfterFunc(ctx, p.Quit)
	_, err := p.Program.Run()
	// A write failed before the program ended: it ended the program
	// (termWriter.gone). One failing in the restoration is rerr's.
	werr := p.model.scr.failure()
	stop()
	rerr := p.term.restore()
	if werr != nil {
		return fmt.Errorf("%w: %w", errTerminalGone, werr)
	}
	if errors.Is(err, syscall.EIO) && !errors.Is(err, tea.ErrProgramPanic) {
		// Bubble Tea's read of the keys failed as a read of a hung-up
		// terminal does (tty_io.c answers EIO once the terminal is gone).
		return fmt.Errorf("%w: %w", errTerminalGone, err)
	}
	if err == nil && errors.Is(rerr, syscall.EIO) {
		// Gone while the program ended (its restoration or mode failed).
		return fmt.Errorf("%w: %w", errTerminalGone, rerr)
	}
	if err == nil {
		err = rerr
	}
	return err
}
