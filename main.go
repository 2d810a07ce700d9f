// Command proberctl watches Kubernetes heal itself.
//
// One binary, three faces: "serve" is the probe server that misbehaves on
// purpose (the container image's entrypoint), "tui" is the dashboard that
// watches a cluster, and "lab" runs the same manifests as local processes
// with kubelet-accurate probes so no cluster is needed.
//
// This file holds only the command table and the dispatch; each command's
// flags and body live in a cmd_*.go file beside it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// Stamped at build time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc -X main.date=2026-11-24T00:00:00Z"
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// envVar documents one environment variable a command reads, for --help.
type envVar struct {
	Name    string
	Default string
	Usage   string
}

// command is one row of the command table.
type command struct {
	Name    string
	Args    string // positional arguments, for the usage line
	Summary string // one line, for the command list
	Long    string // paragraphs shown by "proberctl CMD --help"
	Env     []envVar
	// Setup registers the command's flags and returns the function that runs
	// it once the flags are parsed. Keeping flags and body together means a
	// command's file is the one place to read it.
	Setup func(fs *pflag.FlagSet) func(ctx context.Context, args []string) error
}

// commands is the table. Order is the order --help lists them in. The
// dashboard's commands come from clusterCommands, which the image's
// serve-only build leaves out (see commands_full.go).
func commands() []command {
	table := []command{serveCommand()}
	table = append(table, clusterCommands()...)
	return append(table, versionCommand())
}

// usageError marks errors caused by how the command was called: they exit 2
// and are followed by a pointer to --help.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError lets a command choose its exit status without printing more.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

func init() {
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, commit, date = stamped(bi, version, commit, date)
	}
}

// stamped fills what -ldflags did not set from what the go command records:
// the module version of "go install github.com/proberctl/proberctl@v1.2.3",
// and the git revision and commit time of a "go build" in a checkout.
func stamped(bi *debug.BuildInfo, v, c, d string) (string, string, string) {
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	dirty := false
	rev, at := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if c == "unknown" && rev != "" {
		c = rev[:min(len(rev), 12)]
		if dirty {
			c += "-dirty"
		}
	}
	if d == "unknown" && at != "" {
		d = at
	}
	return v, c, d
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a command and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	table := commands()
	if len(args) == 0 {
		printTopHelp(stderr, table)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 && name == "help" {
			c, ok := find(table, args[1])
			if !ok || len(args) > 2 {
				// A typo must not look like an answer: the top help
				// with exit 0 would read as "that is all there is".
				if ok {
					fmt.Fprintf(stderr, "proberctl help: takes one command, got %q\n\n", args[1:])
				} else {
					fmt.Fprintf(stderr, "proberctl help: unknown command %q\n\n", args[1])
				}
				printTopHelp(stderr, table)
				return 2
			}
			fs := newFlagSet(c)
			c.Setup(fs)
			printCommandHelp(stdout, c, fs)
			return 0
		}
		printTopHelp(stdout, table)
		return 0
	case "-v", "--version":
		name = "version"
	}
	c, ok := find(table, name)
	if !ok {
		fmt.Fprintf(stderr, "proberctl: %s\n\n", unknownCommand(table, name))
		printTopHelp(stderr, table)
		return 2
	}
	fs := newFlagSet(c)
	body := c.Setup(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printCommandHelp(stdout, c, fs)
			return 0
		}
		fmt.Fprintf(stderr, "proberctl %s: %v\n", c.Name, err)
		// An unknown flag gets the list to pick from; a known flag with a
		// bad or missing value is named by the error already, and a
		// screenful of other flags would bury that line.
		// The last line is the one a usage error from the command itself
		// ends with, so every exit-2 message reads the same.
		if fs.HasFlags() && strings.HasPrefix(err.Error(), "unknown ") {
			fmt.Fprintf(stderr, "\nAccepted flags:\n%s\n", fs.FlagUsagesWrapped(100))
		}
		fmt.Fprintf(stderr, "Run 'proberctl %s --help' for usage.\n", c.Name)
		return 2
	}
	err := body(ctx, fs.Args())
	var ue usageError
	var ee exitError
	// Other packages' usage errors (kube.UsageError: a bad -l or
	// --request-timeout), told by a method so the serve-only build
	// need not link them.
	var pu interface{ IsUsage() bool }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue) || errors.As(err, &pu) && pu.IsUsage():
		fmt.Fprintf(stderr, "proberctl %s: %v\n", c.Name, err)
		fmt.Fprintf(stderr, "Run 'proberctl %s --help' for usage.\n", c.Name)
		return 2
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "proberctl %s: %v\n", c.Name, ee.err)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "proberctl %s: %v\n", c.Name, err)
		return 1
	}
}

// fullBuildCommands are the commands the image's serve-only build leaves
// out (commands_full.go), so that one, run in a pod, can say where they are.
var fullBuildCommands = []string{"lab", "tui", "watch", "crash", "resolve", "healthz"}

// unknownCommand says why name is not in table.
func unknownCommand(table []command, name string) string {
	if _, full := find(table, "lab"); !full && slices.Contains(fullBuildCommands, name) {
		return fmt.Sprintf("%q is not in this build: the container image's proberctl only serves (go install github.com/proberctl/proberctl@latest has every command)", name)
	}
	return fmt.Sprintf("unknown command %q", name)
}

func find(table []command, name string) (command, bool) {
	for _, c := range table {
		if c.Name == name {
			return c, true
		}
	}
	return command{}, false
}

func newFlagSet(c command) *pflag.FlagSet {
	fs := pflag.NewFlagSet("proberctl "+c.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by run, once
	fs.SortFlags = false
	return fs
}

func printTopHelp(w io.Writer, table []command) {
	fmt.Fprint(w, `proberctl watches Kubernetes heal itself: a probe server that misbehaves on
purpose, a dashboard that shows probes, restarts and rollouts as they happen,
and a lab that runs it all on this machine with no cluster.

Usage:
  proberctl <command> [flags] [args]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range table {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nRun 'proberctl <command> --help' for a command's flags and environment.\n")
	if _, ok := find(table, "lab"); ok {
		fmt.Fprint(w, "Start here without a cluster:  proberctl lab\n")
	} else {
		fmt.Fprint(w, "This is the container image's serve-only build; the dashboard and the lab\n"+
			"come with: go install github.com/proberctl/proberctl@latest\n")
	}
}

func printCommandHelp(w io.Writer, c command, fs *pflag.FlagSet) {
	usage := "proberctl " + c.Name
	if fs.HasFlags() {
		usage += " [flags]"
	}
	if c.Args != "" {
		usage += " " + c.Args
	}
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", c.Summary, usage)
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Long))
	}
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsagesWrapped(100))
	}
	if len(c.Env) > 0 {
		fmt.Fprint(w, "\nEnvironment:\n")
		printEnv(w, c.Env, helpWidth)
	}
}

// helpWidth is the width --help wraps to, as the flags' FlagUsagesWrapped.
const helpWidth = 100

// printEnv lists variables as pflag lists flags: the name, then its usage
// and default wrapped under one column, so no line is wider than width.
func printEnv(w io.Writer, env []envVar, width int) {
	nameW := 0
	for _, e := range env {
		nameW = max(nameW, len(e.Name))
	}
	indent := 2 + nameW + 2
	for _, e := range env {
		def := "(default " + e.Default + ")"
		if e.Default == "" {
			def = "(unset by default)"
		}
		lines := wrapWords(e.Usage+" "+def, max(width-indent, 20))
		fmt.Fprintf(w, "  %-*s  %s\n", nameW, e.Name, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "%*s%s\n", indent, "", l)
		}
	}
}

// wrapWords breaks s into lines of at most width bytes at spaces; a word
// longer than width gets a line of its own.
func wrapWords(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

func versionCommand() command {
	return command{
		Name:    "version",
		Summary: "Print the version, commit and build date",
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("version takes no arguments, got %q", args)
				}
				fmt.Printf("proberctl %s (commit %s, built %s)\n", version, commit, date)
				return nil
			}
		},
	}
}
