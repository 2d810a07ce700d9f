package kubelet

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// What one container instance's captured output may hold. A node keeps a
// container's log in a file rotated at containerLogMaxSize (10Mi by
// default); the lab keeps it in memory, so it keeps less: the end of the
// output, which is where a crash says why.
const (
	outputMaxLines = 1000
	outputMaxBytes = 256 << 10
	// outputMaxLine cuts a line that never ends, as the runtime's log
	// writer splits lines longer than its buffer.
	outputMaxLine = 16 << 10
)

// outputRing is what the runtime keeps of one container instance's stdout
// and stderr: the last lines, bounded in count and bytes. The kubelet
// serves logs of the current instance and of the previous one (the last
// terminated), so each instance has its own ring and a restart starts a
// new, empty one.
type outputRing struct {
	mu      sync.Mutex
	lines   []string // lines[head:] are kept, oldest first
	head    int
	bytes   int // bytes held in lines[head:]
	partial []byte
	dropped int // lines dropped off the front
}

func newOutputRing() *outputRing { return &outputRing{} }

// Write takes the child's output; stdout and stderr share one writer, so
// exec copies them through a single pipe and writes never overlap.
func (r *outputRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		// bytes.IndexByte, not strings.IndexByte(string(p)): that copies
		// what is left of p for every line, quadratic in a write's lines.
		i := bytes.IndexByte(p, '\n')
		switch {
		case i < 0:
			r.partial = append(r.partial, p...)
			p = nil
		case len(r.partial) == 0:
			r.pushLocked(string(p[:i]))
			p = p[i+1:]
		default:
			r.partial = append(r.partial, p[:i]...)
			p = p[i+1:]
			r.pushLocked(string(r.partial))
			r.partial = r.partial[:0]
		}
		for len(r.partial) >= outputMaxLine {
			r.pushLocked(string(r.partial[:outputMaxLine]))
			r.partial = append(r.partial[:0], r.partial[outputMaxLine:]...)
		}
	}
	return n, nil
}

func (r *outputRing) pushLocked(line string) {
	r.lines = append(r.lines, line)
	r.bytes += len(line) + 1
	for len(r.lines)-r.head > outputMaxLines || r.bytes > outputMaxBytes {
		r.bytes -= len(r.lines[r.head]) + 1
		r.lines[r.head] = ""
		r.head++
		r.dropped++
	}
	// Compact once half the slice is dropped lines, so the ring's
	// memory stays proportional to what it keeps.
	if r.head > len(r.lines)/2 && r.head > 64 {
		r.lines = append(r.lines[:0], r.lines[r.head:]...)
		r.head = 0
	}
}

// tail returns the last n lines (all kept lines when n <= 0), each ending
// in a newline but an unfinished last line, which ends as written.
func (r *outputRing) tail(n int) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.lines[r.head:]
	want := n
	if len(r.partial) > 0 && want > 0 {
		want-- // the unfinished line counts as one
	}
	if n > 0 && len(kept) > want {
		kept = kept[len(kept)-want:]
	}
	var b strings.Builder
	for _, l := range kept {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if len(r.partial) > 0 && n != 0 {
		b.Write(r.partial)
	}
	return b.String()
}

// output returns the writer for the child's stdout and stderr: the ring,
// and the lab's log at debug level when log is set.
func (in *instance) output(log *lineLogger) io.Writer {
	in.out = newOutputRing()
	if log == nil {
		return in.out
	}
	return io.MultiWriter(in.out, log)
}

// ContainerLogs returns the last tailLines lines (all kept when tailLines
// <= 0) of a container's output, as the kubelet's containerLogs endpoint
// does: of the instance the pod's status names, or with previous of the
// last terminated one. The errors are the kubelet's
// (pkg/kubelet/kubelet_pods.go GetKubeletContainerLogs and
// validateContainerLogStatus).
func (k *Kubelet) ContainerLogs(namespace, pod, container string, previous bool, tailLines int) (string, error) {
	pw := k.workerByName(namespace + "/" + pod)
	if pw == nil {
		return "", fmt.Errorf("pod %q cannot be found - no logs available", pod)
	}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	var c *containerState
	for _, cs := range pw.all() {
		if cs.spec.Name == container {
			c = cs
		}
	}
	if c == nil {
		return "", fmt.Errorf("container %q in pod %q is not available", container, pod)
	}
	id, err := logContainerID(pw.statusLocked(c, container), pod, container, previous)
	if err != nil {
		return "", err
	}
	for _, in := range []*instance{c.cur, c.prev} {
		if in != nil && in.id == id {
			return in.out.tail(tailLines), nil
		}
	}
	// The status names a run the node no longer keeps: only the current
	// and the previous are, as a node removes older dead containers.
	return "", fmt.Errorf("container %q in pod %q: no log of %s on this node", container, pod, id)
}

// workerByName finds a pod's worker by namespace/name. A deleted pod's
// worker can outlive it while its containers stop, and a new pod of the
// same name may already have one: the live pod wins, as the kubelet's pod
// manager looks pods up by full name.
func (k *Kubelet) workerByName(key string) *podWorker {
	k.mu.Lock()
	defer k.mu.Unlock()
	var found *podWorker
	for _, pw := range k.workers {
		if pw.key != key {
			continue
		}
		pw.mu.Lock()
		removed := pw.removed
		pw.mu.Unlock()
		if found == nil || !removed {
			found = pw
		}
	}
	return found
}

// statusLocked is the container's status as last generated, else as the
// pod in the API shows it (the kubelet falls back to it when its status
// manager has none); nil when neither has one.
func (pw *podWorker) statusLocked(c *containerState, name string) *corev1.ContainerStatus {
	if c != nil && c.lastStatus != nil {
		return c.lastStatus
	}
	if pw.pod == nil {
		return nil
	}
	for _, list := range [][]corev1.ContainerStatus{pw.pod.Status.ContainerStatuses, pw.pod.Status.InitContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// logContainerID is validateContainerLogStatus: which run's log to read,
// chosen from the status alone, so the log a person sees is the run the
// status shows them. With previous, the last terminated run; else the
// running one, else the one that ended.
func logContainerID(cs *corev1.ContainerStatus, pod, container string, previous bool) (string, error) {
	if cs == nil {
		return "", fmt.Errorf("container %q in pod %q is not available", container, pod)
	}
	last := cs.LastTerminationState.Terminated
	waiting, running, terminated := cs.State.Waiting, cs.State.Running, cs.State.Terminated
	switch {
	case previous:
		if last == nil || last.ContainerID == "" {
			return "", fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
		}
		return last.ContainerID, nil
	case running != nil:
		return cs.ContainerID, nil
	case terminated != nil:
		if terminated.ContainerID != "" {
			return terminated.ContainerID, nil
		}
		if last != nil && last.ContainerID != "" {
			return last.ContainerID, nil
		}
		return "", fmt.Errorf("container %q in pod %q is terminated", container, pod)
	case last != nil:
		if last.ContainerID == "" {
			return "", fmt.Errorf("container %q in pod %q is terminated", container, pod)
		}
		return last.ContainerID, nil
	case waiting != nil:
		return "", fmt.Errorf("container %q in pod %q is waiting to start: %v", container, pod, waiting.Reason)
	}
	return "", fmt.Errorf("container %q in pod %q is waiting to start - no logs yet", container, pod)
}
