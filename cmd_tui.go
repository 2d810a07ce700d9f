//go:build !serveonly

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/tui"
)

func tuiCommand() command {
	return command{
		Name:    "tui",
		Summary: "Open the dashboard on a cluster",
		Long: `Watch the pods of a namespace live: READY, STATUS and RESTARTS as kubectl
computes them, a probe timeline per pod, events, replica sets and which pods
the Service sends traffic to. Keys fire actions at the selected pod through
the API server: c crash, r resolve, h healthz, i info, d delete, a apply a
manifest, C chaos. Press ? in the dashboard for every key.

The screen belongs to the dashboard: logs, including client-go's, go to
--log-file.`,
		Env: []envVar{
			{Name: "KUBECONFIG", Usage: "kubeconfig paths, merged in order (as kubectl)"},
			{Name: "NO_COLOR", Usage: "set to draw without colour; markers and words carry the meaning"},
		},
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			cf := kube.AddConfigFlags(fs)
			logFile := fs.String("log-file", filepath.Join(os.TempDir(), "proberctl-tui.log"), "where the dashboard writes its logs")
			mouse := fs.Bool("mouse", false, "capture the mouse: a click selects a pod or opens a tab, the wheel scrolls the pane under it (off by default, so the terminal's own text selection works)")
			host := fs.String("resolve-host", "", "host the resolve prompt starts with (default: the first Service seen)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("tui takes no arguments, got %q", args)
				}
				cc, err := cf.Load()
				if err != nil {
					return err
				}
				// Checked after the config so a wrong flag is reported
				// first; without a terminal the lines of watch are the way.
				if !onTerminal() {
					return usagef("the dashboard needs a terminal; without one use: proberctl watch (same flags)")
				}
				// Watches last: --request-timeout must not cut them.
				client, err := kubernetes.NewForConfig(cc.WatchConfig())
				if err != nil {
					return fmt.Errorf("kubernetes client: %w", err)
				}
				actions, err := kube.NewClusterActions(cc.REST, kube.WithDefaultNamespace(cc.Namespace))
				if err != nil {
					return fmt.Errorf("cluster actions: %w", err)
				}
				w := kube.NewWatcher(client, kube.WatchOptions{Namespace: cc.Namespace, LabelSelector: cc.Selector})
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if err := w.Start(ctx); err != nil {
					return fmt.Errorf("watch: %w", err)
				}
				return tui.Run(ctx, tui.Options{
					Source:             w,
					Actions:            actions,
					Context:            cc.Context, // "": in-cluster, which the header names
					Namespace:          cc.Namespace,
					Selector:           cc.Selector,
					DefaultResolveHost: *host,
					LogFile:            *logFile,
					Mouse:              *mouse,
				})
			}
		},
	}
}
