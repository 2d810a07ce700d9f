//go:build !serveonly

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/kube"
)

// The commands that talk to a cluster without a terminal UI: "watch" prints
// lines, "crash", "resolve" and "healthz" fire one action and exit.

const configHelp = `Cluster access works as with kubectl: --kubeconfig, else $KUBECONFIG (several
paths are merged), else ~/.kube/config, else the pod's service account when
run inside a cluster. The namespace is -n, else the context's namespace.`

func watchCommand() command {
	return command{
		Name:    "watch",
		Summary: "Print pod rows and events as lines, like kubectl get pods -w",
		Long: `Watch pods and their events and print a line whenever a pod's READY, STATUS,
RESTARTS, IP, NODE or version changes, and every event as it arrives
(Scheduled, Pulled, Started, Unhealthy, Killing, BackOff, ScalingReplicaSet...).
READY, STATUS and RESTARTS are computed exactly as kubectl computes them.
Connection changes (disconnected, forbidden, connected) go to stderr, so
stdout stays parseable; with -o json they are objects on stdout too.

` + configHelp + `

Examples:
  # pods and events of the demo, until Ctrl-C
  proberctl watch -n default -l app=prober-foo

  # with IP, node and the version label
  proberctl watch -o wide

  # one JSON object per line, for 2 minutes, into jq
  proberctl watch -o json --for 2m | jq -c 'select(.kind=="Pod") | [.name,.status,.restarts]'

  # no cluster: run the seed's manifests in the embedded lab and watch them
  proberctl watch --lab -f demo/foo-1.0.1.yaml -f demo/foo-service.yaml`,
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			cf := kube.AddConfigFlags(fs)
			output := fs.StringP("output", "o", "", "output format: wide (adds IP, NODE, VERSION) or json (one object per line); default: NAME READY STATUS RESTARTS AGE")
			useLab := fs.Bool("lab", false, "start the embedded lab (no cluster) and watch it instead of a cluster")
			files := fs.StringArrayP("filename", "f", nil, "with --lab: a manifest file or directory to run (repeatable); default: the demo")
			forDur := fs.Duration("for", 0, "stop after watching this long (e.g. 30s, 5m; with --lab, from when it is up); default: until interrupted")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("watch takes no arguments, got %q (use -l to select pods)", args)
				}
				if *forDur < 0 {
					return usagef("--for must not be negative, got %v", *forDur)
				}
				if len(*files) > 0 && !*useLab {
					return usagef("-f/--filename only works with --lab (to apply to a cluster, use the dashboard's 'a' key or kubectl apply)")
				}
				printer, err := kube.NewLinePrinter(os.Stdout, *output)
				if err != nil {
					return usagef("%v", err)
				}
				kube.SilenceKlog(io.Discard) // connection trouble is reported as lines instead

				var client kubernetes.Interface
				var opts kube.WatchOptions
				if *useLab {
					// Checked before the lab starts its processes, with
					// the words a cluster's watch uses for it.
					if err := checkSelector(cf.Selector); err != nil {
						return err
					}
					lb, err := openLab(ctx, *files)
					if err != nil {
						if ctx.Err() != nil {
							return nil // Ctrl-C while it started: a normal end
						}
						return fmt.Errorf("start the lab: %w", err)
					}
					defer lb.Stop()
					// Notices go to stderr: stdout is the rows and events a
					// script reads.
					for _, n := range lb.Notices() {
						fmt.Fprintln(os.Stderr, "lab:", n)
					}
					client = lb.Client()
					// Without -n, the namespace the manifests use, as
					// kubectl uses the context's: the demo then prints
					// the seed's columns, with no NAMESPACE. Manifests
					// spread over several namespaces show them all.
					opts = kube.WatchOptions{Namespace: cf.Namespace, LabelSelector: cf.Selector}
					if opts.Namespace == "" {
						opts.Namespace = lb.Namespace()
					}
					if cf.AllNamespaces {
						opts.Namespace = ""
					}
				} else {
					cc, err := cf.Load()
					if err != nil {
						return err
					}
					if client, err = kubernetes.NewForConfig(cc.WatchConfig()); err != nil {
						return fmt.Errorf("client for %s: %w", cc.REST.Host, err)
					}
					opts = kube.WatchOptions{Namespace: cc.Namespace, LabelSelector: cc.Selector}
				}
				// --for is time spent watching: it starts once the lab is
				// up, so a slow start neither eats it nor cuts the start.
				if *forDur > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, *forDur)
					defer cancel()
				}
				printer.AllNamespaces = opts.Namespace == ""
				printer.Status = os.Stderr
				// The lab's first list comes before its controllers have
				// made any pod: "No resources found" would be wrong there.
				return runWatch(ctx, client, opts, printer, !*useLab)
			}
		},
	}
}

// runWatch prints batches until ctx ends, which is a normal end (Ctrl-C or
// --for), not an error. sayEmpty notes a first list with no pods.
func runWatch(ctx context.Context, client kubernetes.Interface, opts kube.WatchOptions, p *kube.LinePrinter, sayEmpty bool) error {
	w := kube.NewWatcher(client, opts)
	if err := w.Start(ctx); err != nil {
		return usagef("%v", err)
	}
	empty := noPods{namespace: opts.Namespace, done: !sayEmpty}
	for {
		b, err := w.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := p.Print(b); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if note := empty.check(b); note != "" && p.Status != nil {
			fmt.Fprintln(p.Status, note)
		}
	}
}

// noPods says, once, that the first complete list held no pods, as
// kubectl get pods -w does: without it a mistyped -n or -l looks like a
// watch still waiting for something to happen.
type noPods struct {
	namespace string // "" for all namespaces
	done      bool
	seenPod   bool
}

// check reads one batch and returns kubectl's line when this is the batch
// that completes the first list and no pod came before or with it. The
// text is kubectl's (staging/src/k8s.io/kubectl/pkg/cmd/get/get.go).
func (n *noPods) check(b kube.Batch) string {
	if n.done {
		return ""
	}
	for _, d := range b.Deltas {
		if d.Kind == kube.KindPod {
			n.seenPod = true
		}
	}
	if !b.Synced {
		return ""
	}
	n.done = true
	switch {
	case n.seenPod:
		return ""
	case n.namespace == "":
		return "No resources found"
	default:
		return fmt.Sprintf("No resources found in %s namespace.", n.namespace)
	}
}

// checkSelector refuses a -l the API server would, as
// kube.ConfigFlags.Load does, for the paths that do not load a kubeconfig.
func checkSelector(sel string) error { return kube.CheckSelector(sel) }

func crashCommand() command {
	return actionCommand("crash", "POD", "Crash a pod's probe server (GET /crash through the API server)",
		`Ask the probe server in POD to crash: GET /crash through the API server's
pods/proxy, so only RBAC on pods/proxy is needed, no network path to the pod.
The server closes the connection without replying and exits; that is
reported as "connection closed: the container exited" and exits 0. Watch the
kubelet restart it with 'proberctl watch' or in the dashboard.

`+configHelp+`

Examples:
  proberctl crash -n default prober-foo-7c9d8b6f5-x2x7k
  proberctl crash --context kind-proberctl prober-foo-7c9d8b6f5-x2x7k`,
		1, func(ctx context.Context, a kube.Actions, t kube.Target, _ []string) kube.Result {
			return a.Crash(ctx, t)
		})
}

func resolveCommand() command {
	return actionCommand("resolve", "POD HOST", "Make a pod resolve HOST and fetch it (GET /resolve?service=HOST)",
		`Ask the probe server in POD to resolve HOST and make an HTTP GET to it, as the
seed's 'curl localhost/resolve?service=checkip.dyndns.org' does: the reply
shows the pod that answered and the address HOST resolved to, then the remote
body. HOST may be a Service name, and may carry a port and a path
(foo-nodeport-svc:80/info).

`+configHelp+`

Examples:
  proberctl resolve -n default prober-foo-7c9d8b6f5-x2x7k foo-nodeport-svc
  proberctl resolve prober-foo-7c9d8b6f5-x2x7k foo-nodeport-svc.default.svc.cluster.local`,
		2, func(ctx context.Context, a kube.Actions, t kube.Target, args []string) kube.Result {
			return a.Resolve(ctx, t, args[1])
		})
}

func healthzCommand() command {
	return actionCommand("healthz", "POD", "Ask a pod's probe server for /healthz, as its liveness probe does",
		`GET /healthz on the probe server in POD through the API server's pods/proxy
and print the status, latency and body. Exits 0 on HTTP 2xx/3xx (what the
kubelet counts as probe success) and 1 otherwise, so it can gate a script.

`+configHelp+`

Examples:
  proberctl healthz -n default prober-foo-7c9d8b6f5-x2x7k
  for i in $(seq 10); do proberctl healthz prober-foo-7c9d8b6f5-x2x7k; done`,
		1, func(ctx context.Context, a kube.Actions, t kube.Target, _ []string) kube.Result {
			return a.Healthz(ctx, t)
		})
}

// actionCommand builds a one-shot action command taking nargs positional
// arguments, the first being the pod.
func actionCommand(name, args, summary, long string, nargs int,
	fire func(context.Context, kube.Actions, kube.Target, []string) kube.Result) command {
	return command{
		Name:    name,
		Args:    args,
		Summary: summary,
		Long:    long,
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			cf := kube.AddConfigFlags(fs)
			// One named pod: -l and -A do not apply, so --help does not
			// offer them; typed anyway, they are refused below by name.
			for _, f := range []string{"selector", "all-namespaces"} {
				if err := fs.MarkHidden(f); err != nil {
					panic(err) // a flag kube.AddConfigFlags no longer adds: a build bug
				}
			}
			return func(ctx context.Context, pos []string) error {
				if len(pos) != nargs {
					return usagef("%s takes %s, got %d argument(s)", name, args, len(pos))
				}
				if cf.AllNamespaces {
					return usagef("%s acts on one pod: name its namespace with -n instead of -A", name)
				}
				if cf.Selector != "" {
					return usagef("%s acts on one named pod: -l/--selector does not apply", name)
				}
				kube.SilenceKlog(io.Discard)
				cc, err := cf.Load()
				if err != nil {
					return err
				}
				actions, err := kube.NewClusterActions(cc.REST, kube.WithDefaultNamespace(cc.Namespace))
				if err != nil {
					return err
				}
				t := kube.Target{Namespace: cc.Namespace, Pod: pos[0]}
				r := fire(ctx, actions, t, pos)
				printResult(os.Stdout, r)
				if !r.OK() {
					return exitError{code: 1, err: r.Err}
				}
				return nil
			}
		},
	}
}

// printResult writes "ACTION NS/POD: HTTP 200 in 3ms" (or the note), then
// the body.
func printResult(w io.Writer, r kube.Result) {
	status := "no response"
	if r.Code != 0 {
		status = fmt.Sprintf("HTTP %d", r.Code)
	}
	if r.Note != "" {
		status = r.Note
	}
	if r.Latency > 0 {
		status += " in " + r.Latency.Round(100*time.Microsecond).String()
	}
	fmt.Fprintf(w, "%s %s: %s\n", r.Action, r.Target, status)
	if r.Body != "" {
		fmt.Fprint(w, r.Body)
		if r.Body[len(r.Body)-1] != '\n' {
			fmt.Fprintln(w)
		}
	}
}
