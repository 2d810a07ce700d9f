//go:build !serveonly

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/lab"
	"github.com/proberctl/proberctl/tui"
)

// defaultLabLog is where "proberctl lab" logs when --log-file is not given:
// the dashboard owns the screen.
var defaultLabLog = filepath.Join(os.TempDir(), "proberctl-lab.log")

func labCommand() command {
	return command{
		Name:    "lab",
		Summary: "Run the demo on this machine, no cluster needed, and open the dashboard",
		Long: `The lab is a small Kubernetes on this machine, made for watching probes and
self-healing: no cluster, no Docker, no root. It runs Deployments, ReplicaSets,
Pods and Services from ordinary manifests. Each container is a real
"proberctl serve" process with the manifest's environment, probed over HTTP
with the kubelet's rules (startup, liveness, readiness; thresholds, periods,
timeouts), restarted with the kubelet's back-off (CrashLoopBackOff), rolled
out by maxSurge/maxUnavailable, and shown in the same dashboard a cluster gets.

By default it runs the seed's first experiment, built into the binary: the
Deployment prober-foo at 1.0.1 (three replicas that wait 15 s before
listening and crash on 40% of starts) and the NodePort Service
foo-nodeport-svc. A NodePort Service listens on 127.0.0.1:<nodePort>, so in
another terminal:

  curl 127.0.0.1:30080            # { "team": "foo", "version": "1.0.1" }
  curl 127.0.0.1:30080/healthz
  curl 127.0.0.1:30080/crash      # one pod exits; watch it come back

Only ready pods get traffic, as with kube-proxy. In the dashboard: l shows
why the selected pod restarted (the log of the instance before the restart,
as kubectl logs --previous), enter its containers' last state and probes,
c crashes it, h asks its /healthz, r resolves a host from it, d deletes it,
and a applies a manifest: type demo/foo-1.0.2.yaml to roll out the seed's
second stage (liveness failures and restarts). ? lists every key, q quits
and stops every process the lab started.

Your own manifests run too: Deployments, ReplicaSets, Pods and Services. Each
container runs the probe server, whatever its image, listening on its PORT
variable (80, as in the image, unless the manifest sets it): set PORT to the
port the probes and Service use. (The process itself gets a free port the
lab picks, shown in its log; everything you see uses the manifest's port.)

Examples:
  # the seed's first stage
  proberctl lab

  # your own manifests: files or directories, repeatable
  proberctl lab -f demo/foo-1.0.1.yaml -f demo/foo-service.yaml
  proberctl lab -f ./manifests/

  # no terminal UI: the same as lines, for scripts and CI
  proberctl watch --lab --for 1m

  # every pod's restarts at once: each container's own output is in the log
  grep rolled ` + defaultLabLog + `     # each start's CRASH_FACTOR roll`,
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			files := fs.StringArrayP("filename", "f", nil, "a manifest file or directory to run (repeatable); default: the demo's first stage")
			logFile := fs.String("log-file", defaultLabLog, "where the lab and the dashboard log (never the screen)")
			mouse := fs.Bool("mouse", false, "capture the mouse, as proberctl tui --mouse (off: the terminal's own text selection works)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("lab takes no arguments, got %q (manifests go with -f)", args)
				}
				if !onTerminal() {
					return usagef("the lab's dashboard needs a terminal; without one use: proberctl watch --lab")
				}
				return runLab(ctx, *files, *logFile, *mouse)
			}
		},
	}
}

func runLab(ctx context.Context, files []string, logFile string, mouse bool) error {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the log file: %w (choose another with --log-file)", err)
	}
	defer f.Close()
	// client-go's klog writes to stderr, over the dashboard.
	kube.SilenceKlog(f)
	log := labLogger(f)

	argv, err := serverArgv()
	if err != nil {
		return err
	}
	l, err := lab.New(lab.Options{Files: files, ServerArgv: argv, Logger: log})
	if err != nil {
		return err
	}
	defer l.Stop()
	err = l.Start(ctx)
	if ctx.Err() != nil {
		return nil // Ctrl-C while it started: a normal end, as q is
	}
	if err != nil {
		return err
	}
	log.Info("lab started", "node ports", strings.Join(l.NodePorts(ctx), ", "))

	ns := l.Namespace() // "" when the manifests use several: watch them all
	w := kube.NewWatcher(l.Client(), kube.WatchOptions{Namespace: ns})
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("watch the lab: %w", err)
	}
	resolveHost := ""
	if len(files) == 0 {
		resolveHost = "foo-nodeport-svc"
	}
	err = tui.Run(ctx, tui.Options{
		Source:             w,
		Actions:            l.Actions(),
		Context:            "lab",
		Namespace:          ns,
		DefaultResolveHost: resolveHost,
		LogFile:            logFile,
		Mouse:              mouse,
		Notices:            l.Notices(),
	})
	l.Stop()
	fmt.Fprintf(os.Stderr, "lab stopped; its log is %s\n", logFile)
	return err
}

// labLogger is the lab's log. It keeps Debug, where the lab kubelet puts
// each container's own output: the probe server's "crashing on start ...
// CRASH_FACTOR=40 rolled 12" and its health failures are the why of a
// restart, what kubectl logs --previous shows on a cluster.
func labLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// serverArgv runs one container: this very binary's "serve".
func serverArgv() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary to run the containers: %w", err)
	}
	return []string{exe, "serve"}, nil
}

// openLab starts the embedded cluster for "proberctl watch --lab". Its
// logs are dropped: watch's output is the lines it prints.
func openLab(ctx context.Context, files []string) (*lab.Lab, error) {
	argv, err := serverArgv()
	if err != nil {
		return nil, err
	}
	l, err := lab.New(lab.Options{Files: files, ServerArgv: argv})
	if err != nil {
		return nil, err
	}
	if err := l.Start(ctx); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		l.Stop()
		return nil, errors.New("interrupted while starting the lab")
	}
	return l, nil
}

// onTerminal reports whether stdin and stdout are a terminal, which the
// dashboard needs.
func onTerminal() bool {
	return term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd()))
}
