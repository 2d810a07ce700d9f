package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/lab/kubelet"
	"github.com/proberctl/proberctl/lab/manifest"
)

// maxBody caps the body a Result carries.
const maxBody = 64 << 10

// defaultTimeout bounds an action whose context has no deadline; /resolve
// may itself wait on a remote host for a few seconds.
const defaultTimeout = 15 * time.Second

// actions implements kube.Actions by talking to the pods' loopback
// addresses directly, where a cluster goes through the API server's
// pods/proxy.
type actions struct {
	l *Lab

	mu sync.Mutex
	// applied lists the paths applied through these actions, oldest first,
	// each at its last application: the files a "proberctl lab -f ..."
	// needs after the starting ones to build the same objects. Applying a
	// path again moves it to the end, as its objects are now its version.
	applied []string
}

func (a *actions) Crash(ctx context.Context, t kube.Target) kube.Result {
	return a.get(ctx, "crash", t, "/crash")
}

func (a *actions) Healthz(ctx context.Context, t kube.Target) kube.Result {
	return a.get(ctx, "healthz", t, "/healthz")
}

func (a *actions) Info(ctx context.Context, t kube.Target) kube.Result {
	return a.get(ctx, "info", t, "/info")
}

// Resolve asks the pod to resolve and fetch host. The lab has no cluster
// DNS, so a host naming a Service ("svc", "svc.ns", "svc.ns.svc",
// "svc.ns.svc.cluster.local", with or without a port and path) is sent as
// the loopback address standing in for its cluster IP, and the Result's
// Note says so.
func (a *actions) Resolve(ctx context.Context, t kube.Target, host string) kube.Result {
	t = withNamespace(t)
	host = strings.TrimSpace(host)
	if host == "" {
		return kube.Result{Action: "resolve", Target: t, Err: errors.New("resolve: no host given; want a name such as foo-nodeport-svc or example.com[:port][/path]")}
	}
	sent, note := a.l.rewriteServiceHost(ctx, t.Namespace, host)
	r := a.get(ctx, "resolve", t, "/resolve?service="+url.QueryEscape(sent))
	if note != "" && r.Note == "" {
		r.Note = note
	}
	return r
}

// Delete deletes the pod through the API, with the grace-period protocol a
// cluster has: the kubelet stops its containers, then the pod goes.
func (a *actions) Delete(ctx context.Context, t kube.Target, grace *int64) kube.Result {
	t = withNamespace(t)
	start := time.Now()
	opts := metav1.DeleteOptions{GracePeriodSeconds: grace}
	err := a.l.Client().CoreV1().Pods(t.Namespace).Delete(ctx, t.Pod, opts)
	r := kube.Result{Action: "delete", Target: t, Latency: time.Since(start)}
	if err != nil {
		r.Err = fmt.Errorf("delete pod %s: %w", t, err)
		return r
	}
	r.Body = fmt.Sprintf("pod %q deleted", t.Pod)
	return r
}

// Apply applies a manifest file or directory, read as "lab -f" reads them
// (readManifests): a path under demo/ that is not on disk is read from the
// demo embedded in the binary, and the Note says so. Documents of
// kinds the lab does not run are left out, each with a warning line in the
// body, and the rest is applied. Objects whose manifest names no namespace
// go to the one the dashboard watches; objects in another one are named in
// the Note with the way to see them.
func (a *actions) Apply(ctx context.Context, path string) kube.Result {
	start := time.Now()
	r := kube.Result{Action: "apply"}
	path = strings.TrimSpace(path)
	if path == "" {
		r.Err = errors.New("apply: no file given; want a manifest file or directory, such as demo/foo-1.0.2.yaml")
		return r
	}
	m, notes, err := readManifests([]string{path})
	if err == nil {
		// Objects whose manifest names no namespace go to the one the
		// dashboard watches, as a cluster's apply uses the dashboard's -n.
		watched := a.l.Namespace()
		ns := watched
		if ns == "" {
			ns = Namespace
		}
		var lines []string
		lines, err = manifest.Apply(ctx, a.l.Client(), ns, m.Objects)
		if len(lines) > 0 {
			a.record(path)
		}
		if note := a.l.unwatched(watched, m.Objects[:len(lines)], a.appliedPaths()); note != "" {
			notes = append(notes, note)
		}
		for _, w := range m.Warnings() {
			lines = append(lines, "Warning: "+w)
		}
		if n := len(m.Skipped); n > 0 {
			notes = append(notes, fmt.Sprintf("%d document(s) of kinds the lab does not run left out (see the warnings)", n))
		}
		r.Body = strings.Join(lines, "\n")
		if err == nil {
			// A Service whose node port cannot be opened is accepted by
			// the API; say so here rather than only in its events.
			if serr := a.l.svc.SyncAll(ctx); serr != nil {
				err = fmt.Errorf("applied, but %w", serr)
			}
		}
	}
	r.Note = strings.Join(notes, "; ")
	r.Latency = time.Since(start)
	r.Err = err
	return r
}

// record notes that path was applied, at the end of the list.
func (a *actions) record(path string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = slices.DeleteFunc(a.applied, func(p string) bool { return p == path })
	a.applied = append(a.applied, path)
}

func (a *actions) appliedPaths() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.applied)
}

// unwatched says where objects went when the dashboard does not show it:
// it watches only watched ("" is every namespace), the one namespace of the
// manifests the lab started with, and a lab started with several
// namespaces' manifests watches them all. The command it suggests starts
// from the lab's files and then every path applied so far (applied, in
// order, the latest included), so the new lab has all the session built,
// not only the starting files and the last apply.
func (l *Lab) unwatched(watched string, applied []manifest.Object, paths []string) string {
	if watched == "" {
		return ""
	}
	var away []string
	for _, o := range applied {
		m, ok := o.Obj.(metav1.Object)
		if !ok || m.GetNamespace() == watched || slices.Contains(away, m.GetNamespace()) {
			continue
		}
		away = append(away, m.GetNamespace())
	}
	if len(away) == 0 {
		return ""
	}
	files := l.opts.Files
	if len(files) == 0 {
		files = []string{"demo/" + demo.Service, "demo/" + demo.Stage1}
	}
	var cmd strings.Builder
	cmd.WriteString("proberctl lab")
	// A starting file applied again appears once, at its last place.
	all := slices.DeleteFunc(slices.Clone(files), func(f string) bool { return slices.Contains(paths, f) })
	for _, f := range append(all, paths...) {
		cmd.WriteString(" -f " + shellWord(f))
	}
	word := "namespace"
	if len(away) > 1 {
		word = "namespaces"
	}
	return fmt.Sprintf("applied to %s %s, which the dashboard does not show: it watches namespace %s, the one its starting manifests use; to watch all of them, quit and run %s",
		word, strings.Join(away, ", "), watched, cmd.String())
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func withNamespace(t kube.Target) kube.Target {
	if t.Namespace == "" {
		t.Namespace = Namespace
	}
	return t
}

// get fires GET path at the pod's probe server. Errors name the pod, its IP
// and the manifest's port, what a cluster's user knows the pod by; the
// loopback port the lab kubelet serves that port on (see kubelet.PodAddress)
// comes last, in parentheses, for the curious.
func (a *actions) get(ctx context.Context, action string, t kube.Target, path string) kube.Result {
	t = withNamespace(t)
	r := kube.Result{Action: action, Target: t}
	at, err := a.l.podAddress(ctx, t)
	if err != nil {
		r.Err = err
		return r
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+at.addr+path, nil)
	if err != nil {
		r.Err = fmt.Errorf("%s %s: %w", action, t, err)
		return r
	}
	// One connection per action: a crash must not be retried on another
	// kept-alive connection, and a dead pod's connection must not linger.
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	r.Latency = time.Since(start)
	if err != nil {
		if action == "crash" && closedByPeer(err) {
			// The server closes the connection unanswered and exits: what
			// was asked for happened.
			r.Note = "connection closed: the container exited"
			return r
		}
		if isRefused(err) {
			r.Err = &podError{
				msg: fmt.Sprintf("%s %s: nothing listens on port %d of pod %s (%s): the container is not running or not listening yet",
					action, t, at.port, t.Pod, at.ip),
				at: at, err: err}
			return r
		}
		r.Err = &podError{msg: fmt.Sprintf("%s %s: GET %s on port %d of pod %s (%s)", action, t, path, at.port, t.Pod, at.ip), at: at, err: err}
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	r.Latency = time.Since(start)
	r.Code = resp.StatusCode
	if len(body) > maxBody {
		body = body[:maxBody]
		r.Note = "body cut at " + strconv.Itoa(maxBody>>10) + " KiB"
	}
	r.Body = string(body)
	if err != nil {
		if action == "crash" && closedByPeer(err) {
			r.Note = "connection closed: the container exited"
			return r
		}
		r.Err = &podError{msg: fmt.Sprintf("%s %s: reading the answer from port %d of pod %s (%s)", action, t, at.port, t.Pod, at.ip), at: at, err: err}
	}
	return r
}

// podAt is where an action reaches a pod: the pod IP and the manifest's
// container port the user knows, and the loopback address the lab kubelet
// really serves that port on.
type podAt struct {
	ip   string
	port int
	addr string // ip:hostPort
}

// podError words a failed request in the pod's terms, its cause with the
// lab's address cut out (an *url.Error or *net.OpError repeats
// "http://ip:hostPort"), and that address at the end in parentheses.
type podError struct {
	msg string
	at  podAt
	err error
}

func (e *podError) Error() string {
	return fmt.Sprintf("%s: %v (the lab serves it at %s)", e.msg, withoutAddress(e.err), e.at.addr)
}

func (e *podError) Unwrap() error { return e.err }

// withoutAddress drops the wrappers whose text names the dialled address:
// url.Error ("Get \"http://...\": ") and net.OpError ("dial tcp ...: ").
func withoutAddress(err error) error {
	for {
		var ue *url.Error
		var op *net.OpError
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &op) && op.Err != nil:
			err = op.Err
		default:
			return err
		}
	}
}

func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset")
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}

// podAddress finds the pod's probe server on the port the cluster's actions
// use (kube.ProbePort: the first declared port, else a probe's, else 80), so
// a pod that declares a port its server does not listen on fails here as it
// fails through pods/proxy.
func (l *Lab) podAddress(ctx context.Context, t kube.Target) (podAt, error) {
	pod, err := l.Client().CoreV1().Pods(t.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return podAt{}, fmt.Errorf("pod %s not found", t)
	}
	if err != nil {
		return podAt{}, fmt.Errorf("pod %s: %w", t, err)
	}
	port := kube.ProbePort(pod)
	addr, err := kubelet.PodAddress(pod, port)
	if err != nil {
		return podAt{}, err
	}
	ip, _, err := net.SplitHostPort(addr)
	if err != nil {
		return podAt{}, fmt.Errorf("pod %s: address %q: %w", t, addr, err)
	}
	return podAt{ip: ip, port: port, addr: addr}, nil
}

// rewriteServiceHost maps a Service name in host to its loopback stand-in
// address. Anything else is returned unchanged.
func (l *Lab) rewriteServiceHost(ctx context.Context, namespace, host string) (string, string) {
	hostport, path := host, ""
	if i := strings.IndexByte(host, '/'); i >= 0 {
		hostport, path = host[:i], host[i:]
	}
	name, portStr := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		name, portStr = h, p
	}
	ns := namespace
	parts := strings.Split(name, ".")
	switch {
	case len(parts) == 1:
	case len(parts) == 2 || (len(parts) >= 3 && parts[2] == "svc"):
		ns = parts[1]
	default:
		return host, ""
	}
	svc, err := l.Client().CoreV1().Services(ns).Get(ctx, parts[0], metav1.GetOptions{})
	if err != nil {
		return host, ""
	}
	var port int32
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil {
			return host, ""
		}
		port = int32(n)
	}
	addr, ok := l.svc.ServiceAddress(svc.Namespace, svc.Name, port)
	if !ok {
		return host, ""
	}
	return addr + path, fmt.Sprintf("the lab has no cluster DNS: service %s (cluster IP %s) was sent as %s", svc.Name, svc.Spec.ClusterIP, addr)
}
