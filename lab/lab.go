// Package lab is the embedded cluster: the demo's manifests (or any others
// of the supported kinds) run on this machine with no cluster, each
// container a real "proberctl serve" child process, probed and restarted
// with the kubelet's rules, and shown by the same dashboard as a cluster.
//
// The parts, each its own package:
//
//   - store: the API server (client-go's fake clientset made to behave as
//     kube-apiserver does on writes);
//   - manifest: reading and applying manifests;
//   - controller: the ReplicaSet and Deployment controllers;
//   - service: EndpointSlices and the loopback node ports;
//   - kubelet: the node agent running the pods.
//
// Lab wires them together and offers the dashboard's actions over loopback.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/lab/controller"
	"github.com/proberctl/proberctl/lab/kubelet"
	"github.com/proberctl/proberctl/lab/manifest"
	"github.com/proberctl/proberctl/lab/service"
	"github.com/proberctl/proberctl/lab/store"
)

// Namespace is where objects whose manifest names no namespace go.
const Namespace = metav1.NamespaceDefault

// Options configures a lab.
type Options struct {
	// Files are manifest files or directories; empty means the demo's
	// first stage (the Service on node port 30080 and the Deployment at
	// 1.0.1), embedded in the binary.
	Files []string
	// ServerArgv starts one container: this binary and "serve". Required.
	ServerArgv []string
	// Clock drives probes, back-off and the controllers' time; nil means
	// the real clock.
	Clock clock.WithTicker
	// Logger receives every part's logs; nil discards. Never the screen:
	// the dashboard owns it.
	Logger *slog.Logger
	// NodeName is the one node's name; "" means "lab".
	NodeName string
}

// Lab is a running embedded cluster.
type Lab struct {
	opts    Options
	objs    []manifest.Object
	notices []string // what reading the manifests said, see Notices
	store   *store.Store
	kubelet *kubelet.Kubelet
	ctrl    *controller.Manager
	svc     *service.Controller
	log     *slog.Logger
	// actions is the one kube.Actions of the lab: it remembers what was
	// applied to this lab, whoever asked for Actions.
	actions *actions

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stop    sync.Once
}

// New reads the manifests and builds the lab; nothing runs until Start.
// Bad manifests fail here, before any process starts.
func New(opts Options) (*Lab, error) {
	if len(opts.ServerArgv) == 0 {
		return nil, errors.New("lab.Options.ServerArgv is required (the command that runs one container, e.g. this binary and \"serve\")")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.NodeName == "" {
		opts.NodeName = "lab"
	}
	m, builtin, err := load(opts.Files)
	if err != nil {
		return nil, err
	}
	notices := append(builtin, m.Warnings()...)
	for _, n := range notices {
		opts.Logger.Warn(n)
	}
	st := store.New(store.Options{Clock: opts.Clock, Logger: opts.Logger.With("part", "apiserver")})
	c := st.Client()
	l := &Lab{
		opts:    opts,
		objs:    m.Objects,
		notices: notices,
		store:   st,
		log:     opts.Logger,
		kubelet: kubelet.New(c, kubelet.Options{
			NodeName:   opts.NodeName,
			ServerArgv: opts.ServerArgv,
			Clock:      opts.Clock,
			Logger:     opts.Logger.With("part", "kubelet"),
		}),
		ctrl: controller.New(c, controller.Options{Clock: opts.Clock, Logger: opts.Logger.With("part", "controller-manager")}),
		svc:  service.New(c, service.Options{Address: kubelet.PodAddress, Logger: opts.Logger.With("part", "kube-proxy")}),
	}
	l.actions = &actions{l: l}
	return l, nil
}

// load reads the files, or the demo's first stage when there are none.
// Documents of kinds the lab does not run are left out with a warning.
func load(files []string) (manifest.Manifests, []string, error) {
	if len(files) > 0 {
		return readManifests(files)
	}
	m, err := manifest.ReadFS(demo.FS, demo.Service, demo.Stage1)
	return m, nil, err
}

// readManifests reads files and directories as kubectl apply -f does, with
// one addition shared by "lab -f" and the dashboard's apply: a path under
// demo/ that is not on disk (proberctl run outside its repository, as the
// README's commands are) is read from the demo built into the binary, and
// builtin says so, one line per such file.
func readManifests(paths []string) (m manifest.Manifests, builtin []string, err error) {
	fsys := diskOrDemo{}
	for _, p := range paths {
		if _, statErr := os.Stat(p); statErr == nil || !errors.Is(statErr, fs.ErrNotExist) {
			continue // read from disk; other errors are reported by the read
		}
		wd, _ := os.Getwd()
		if _, name, ok := demoFile(p); ok {
			fsys[p] = name
			builtin = append(builtin, fmt.Sprintf("%s is not in %s: read the copy built into proberctl", p, wd))
			continue
		}
		return manifest.Manifests{}, nil, fmt.Errorf("manifest %s: no such file or directory (relative paths are from %s); built in: %s", p, wd, demoNames())
	}
	m, err = manifest.ReadFS(fsys, paths...)
	if err != nil {
		return manifest.Manifests{}, nil, err
	}
	return m, builtin, nil
}

// diskOrDemo is the disk, with the paths it maps read from the embedded
// demo instead (path as typed -> name in demo.FS).
type diskOrDemo map[string]string

func (d diskOrDemo) Open(name string) (fs.File, error) {
	if n, ok := d[name]; ok {
		return demo.FS.Open(n)
	}
	return os.Open(name)
}

// Notices are what the lab says about its manifests before it runs them:
// each file read from the demo built into the binary because it is not on
// disk, and each document of a kind it does not run and so left out
// ("skipped ConfigMap "settings" (v1) in app/config.yaml: ..."). They are
// in the log too; a command shows them where its user reads.
func (l *Lab) Notices() []string { return append([]string(nil), l.notices...) }

// Start runs the API, the controllers, the Service proxy and the node
// agent, then applies the manifests. It returns once they are applied and
// the Services' ports are open; the lab then runs until Stop or until ctx
// ends. A node port that cannot be opened is an error: the lab stops and
// says which port. Its errors, like New's, carry no "lab:" prefix: the
// caller says what it was doing ("start the lab: apply the manifests:
// web.yaml: create deployment.apps/web: ...").
func (l *Lab) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("the lab is already started")
	}
	l.started = true
	runCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	l.mu.Unlock()

	run := func(name string, f func(context.Context) error) {
		l.wg.Go(func() {
			if err := f(runCtx); err != nil && runCtx.Err() == nil {
				l.log.Error("lab part stopped", "part", name, "err", err)
			}
		})
	}
	run("kubelet", l.kubelet.Run)
	run("controller-manager", l.ctrl.Run)
	run("kube-proxy", l.svc.Run)

	if _, err := manifest.Apply(runCtx, l.Client(), Namespace, l.objs); err != nil {
		l.Stop()
		return fmt.Errorf("apply the manifests: %w", err)
	}
	if err := l.svc.SyncAll(runCtx); err != nil {
		l.Stop()
		return err // "service NS/NAME: cannot serve node port N: ...": says it all
	}
	return nil
}

// Client is the lab's API: the same interface a cluster's clientset has.
func (l *Lab) Client() kubernetes.Interface { return l.store.Client() }

// Actions are the dashboard's actions, fired over loopback.
func (l *Lab) Actions() kube.Actions { return l.actions }

// Stop ends every part: each container gets SIGTERM (then SIGKILL), every
// port is closed. It returns when all is stopped; calling it again does
// nothing.
func (l *Lab) Stop() {
	l.stop.Do(func() {
		l.mu.Lock()
		cancel := l.cancel
		l.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		l.wg.Wait()
		l.store.Close()
	})
}

// Namespace is the one namespace the lab's manifests use (Namespace when
// they name none), or "" when they use several: what the dashboard should
// watch.
func (l *Lab) Namespace() string {
	seen := ""
	for _, o := range l.objs {
		ns := Namespace
		if m, ok := o.Obj.(metav1.Object); ok && m.GetNamespace() != "" {
			ns = m.GetNamespace()
		}
		if seen != "" && ns != seen {
			return ""
		}
		seen = ns
	}
	if seen == "" {
		return Namespace
	}
	return seen
}

// NodePorts lists the node ports the lab's Services listen on, as
// "127.0.0.1:30080 (service foo-nodeport-svc)", for the start message.
func (l *Lab) NodePorts(ctx context.Context) []string {
	list, err := l.Client().CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range list.Items {
		if s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				out = append(out, fmt.Sprintf("127.0.0.1:%d (service %s)", p.NodePort, s.Name))
			}
		}
	}
	return out
}

// demoFile opens a path under "demo/" from the embedded demo when it is
// not on disk, so "a" with demo/foo-1.0.2.yaml works from any directory.
func demoFile(path string) (fs.FS, string, bool) {
	// "demo/foo-1.0.2.yaml" as the README writes it, or just its base name.
	name := strings.TrimPrefix(path, "demo/")
	if name == "" || strings.Contains(name, "/") {
		return nil, "", false
	}
	if _, err := fs.Stat(demo.FS, name); err != nil {
		return nil, "", false
	}
	return demo.FS, name, true
}

// demoNames lists the built-in manifests, for errors that suggest them.
func demoNames() string {
	names, _ := fs.Glob(demo.FS, "*.yaml")
	for i, n := range names {
		names[i] = "demo/" + n
	}
	return strings.Join(names, ", ")
}
