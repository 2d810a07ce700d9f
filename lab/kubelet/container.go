package kubelet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/internal/childproc"
)

// instance is one run of a container: one child process. A restart makes a
// new instance with the next attempt number, as the runtime makes a new
// container.
type instance struct {
	id         string // "lab://<64 hex>"
	attempt    int    // restartCount of this run
	proc       *os.Process
	child      *childproc.Process // signals the group only while proc is unreaped
	startedAt  time.Time
	finishedAt time.Time
	exited     bool
	reported   bool // seen by a relist (or exited): the status shows it
	exitCode   int32
	reason     string // "Completed", "Error", "StartError"
	message    string
	waitDone   chan struct{} // closed once the process is reaped
	out        *outputRing   // stdout and stderr; nil for a run that never started
}

// containerState is what the node knows of one container of a pod.
type containerState struct {
	spec     corev1.Container
	hostPort int
	cur      *instance // latest run; nil before the first
	prev     *instance // the run before cur, for lastState
	// waiting is the kubelet's reasonCache entry: why the last attempt to
	// start did not happen (CrashLoopBackOff), cleared by a start.
	waiting *corev1.ContainerStateWaiting
	// lastStatus is the status last generated for the container, shown
	// until a relist reports a newly started run.
	lastStatus *corev1.ContainerStatus
	// extraEnv is what the lab adds last to the child's environment: for
	// an init container, what makes the probe server exit (initEnv).
	extraEnv []string
}

func newContainerID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "lab://" + hex.EncodeToString(b)
}

// terminated is the instance's end as the API shows it. Exit reasons are
// the container runtime's (containerd: "Completed" for 0, "Error" otherwise;
// a process killed by a signal exits 128+signal).
func (in *instance) terminated() *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode:    in.exitCode,
		Reason:      in.reason,
		Message:     in.message,
		StartedAt:   metaTime(in.startedAt),
		FinishedAt:  metaTime(in.finishedAt),
		ContainerID: in.id,
	}
}

// env builds the child's environment: the manifest's env (value, and
// valueFrom fieldRef for the pod's own fields), then what the runtime and
// the lab add. PORT and BIND_ADDRESS come last: the probe server must listen
// on the port the lab assigned, and only on the pod's own IP, whatever the
// manifest says. On a cluster the pod's network namespace keeps its port
// from the rest of the network; on this machine every interface would let
// any peer reach the pod's /crash, so the pod IP (127.0.x.y on Linux,
// 127.0.0.1 elsewhere) stands in for that namespace.
func (pw *podWorker) env(pod *corev1.Pod, c *containerState) []string {
	vars := []string{"PATH=" + os.Getenv("PATH")}
	defined := map[string]string{}
	for _, e := range c.spec.Env {
		v := e.Value
		if e.ValueFrom != nil {
			var ok bool
			v, ok = pw.fieldRef(pod, e.ValueFrom)
			if !ok {
				continue
			}
		} else {
			v = expand(v, defined)
		}
		defined[e.Name] = v
		vars = append(vars, e.Name+"="+v)
	}
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	return append(append(vars,
		"HOSTNAME="+hostname,
		"POD_IP="+pw.ip,
		"BIND_ADDRESS="+pw.ip,
		"PORT="+strconv.Itoa(c.hostPort),
	), c.extraEnv...)
}

// fieldRef resolves the downward API fields a pod can name about itself
// (pkg/kubelet/kubelet_pods.go podFieldSelectorRuntimeValue).
func (pw *podWorker) fieldRef(pod *corev1.Pod, src *corev1.EnvVarSource) (string, bool) {
	if src.FieldRef == nil {
		return "", false // configMapKeyRef, secretKeyRef: no such objects in the lab
	}
	switch p := src.FieldRef.FieldPath; p {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "metadata.uid":
		return string(pod.UID), true
	case "spec.nodeName":
		return pw.k.opts.NodeName, true
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, true
	case "status.podIP", "status.podIPs":
		return pw.ip, true
	case "status.hostIP", "status.hostIPs":
		return NodeIP, true
	default:
		for _, pre := range []string{"metadata.labels", "metadata.annotations"} {
			if strings.HasPrefix(p, pre+"['") && strings.HasSuffix(p, "']") {
				k := p[len(pre)+2 : len(p)-2]
				if pre == "metadata.labels" {
					return pod.Labels[k], true
				}
				return pod.Annotations[k], true
			}
		}
	}
	return "", false
}

// expand replaces $(VAR) with a variable defined earlier and $$ with $, as
// the kubelet's expansion of env values does; unknown references stay.
func expand(s string, defined map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := defined[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// spawn starts a new instance of c. The caller holds no lock.
func (pw *podWorker) spawn(pod *corev1.Pod, c *containerState, attempt int) *instance {
	in := &instance{
		id:        newContainerID(),
		attempt:   attempt,
		startedAt: pw.k.clock.Now(),
		waitDone:  make(chan struct{}),
	}
	argv := pw.k.opts.ServerArgv
	if len(argv) == 0 {
		pw.endEarly(in, errors.New("the lab kubelet has no ServerArgv to start containers with"))
		return in
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = pw.env(pod, c)
	cmd.Stdin = nil
	var logw *lineLogger
	if pw.k.log.Enabled(context.Background(), slog.LevelDebug) {
		logw = &lineLogger{log: pw.k.log.With("pod", pw.key, "container", c.spec.Name)}
	}
	// The instance keeps its output for ContainerLogs (logs.go).
	out := in.output(logw)
	cmd.Stdout, cmd.Stderr = out, out
	child, err := childproc.StartProcess(cmd)
	if err != nil {
		pw.endEarly(in, err)
		return in
	}
	in.proc = cmd.Process
	in.child = child
	pw.k.children.Add(1)
	go func() {
		defer pw.k.children.Done()
		<-child.Done()
		// The rest of the process group went with the server, as a
		// container's processes end with its main process.
		code, reason := exitStatus(cmd.ProcessState, child.Err())
		pw.mu.Lock()
		in.exited = true
		in.reported = true // a relist sees the run and its end together
		in.finishedAt = pw.k.clock.Now()
		in.exitCode = code
		in.reason = reason
		pw.mu.Unlock()
		close(in.waitDone)
		pw.poke()
	}()
	return in
}

// endEarly records a start that failed as the runtime does: an exited
// container with reason StartError and exit code 128.
func (pw *podWorker) endEarly(in *instance, err error) {
	in.exited = true
	in.reported = true
	in.finishedAt = in.startedAt
	in.exitCode = 128
	in.reason = "StartError"
	in.message = err.Error()
	close(in.waitDone)
}

func exitStatus(ps *os.ProcessState, err error) (int32, string) {
	if ps == nil {
		return 128, "Error"
	}
	code := ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code == 0 {
		return 0, "Completed"
	}
	return int32(code), "Error"
}

// stop ends a running instance as the CRI's StopContainer does: SIGTERM,
// up to grace on the kubelet's clock (or limit in real time, when set),
// then SIGKILL; it returns once the process is reaped.
func (pw *podWorker) stop(in *instance, grace time.Duration, limit time.Duration) {
	if in == nil || in.child == nil {
		return
	}
	select {
	case <-in.waitDone:
		return
	default:
	}
	// The whole process group, so anything the server forked goes too,
	// as a container's processes do; never after the reap (see
	// childproc.Process).
	_ = in.child.Signal(syscall.SIGTERM)
	t := pw.k.clock.NewTimer(grace)
	defer t.Stop()
	var limitC <-chan time.Time
	if limit > 0 {
		lt := time.NewTimer(limit)
		defer lt.Stop()
		limitC = lt.C
	}
	select {
	case <-in.waitDone:
		return
	case <-t.C():
		pw.k.tickHandled()
	case <-limitC:
	case <-pw.k.stopping:
		// The lab is ending during a kill: it gets the shutdown's
		// grace, not the rest of the pod's.
		st := time.NewTimer(pw.k.opts.ShutdownGracePeriod)
		defer st.Stop()
		select {
		case <-in.waitDone:
			return
		case <-st.C:
		}
	}
	_ = in.child.Signal(syscall.SIGKILL)
	<-in.waitDone
}

// lineLogger sends a child's output to the log, one record a line.
type lineLogger struct {
	log *slog.Logger
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	// bytes.IndexByte on what is left of p, not strings.IndexByte on a
	// string of the whole buffer: that copied the buffer's rest for every
	// line, quadratic in a write's lines, for every container of a lab
	// (whose log keeps Debug).
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		line := p[:i]
		if len(l.buf) > 0 { // the end of a line an earlier write began
			l.buf = append(l.buf, line...)
			line = l.buf
		}
		l.log.Debug("container output", "line", string(line))
		l.buf = l.buf[:0]
		p = p[i+1:]
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) > 64<<10 {
		l.log.Debug("container output", "line", string(l.buf))
		l.buf = l.buf[:0]
	}
	return n, nil
}

var _ io.Writer = (*lineLogger)(nil)
