package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LogTailLines is how many lines Logs asks for: enough to see why a
// container crashed, few enough for an output pane.
const LogTailLines = 200

// DefaultContainerAnnotation names the container kubectl picks when a pod
// has several and none is named (k8s.io/kubectl/pkg/cmd/util/podcmd).
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// maxLogRead bounds what Logs reads of the stream: 200 lines of a chatty
// server are far below it, a runaway single line is not.
const maxLogRead = 4 << 20

// LogContainer picks the container Logs shows, as kubectl logs does without
// -c: the only one, else the one the default-container annotation names,
// else the first (also when the annotation names no container of the pod). why says how it was picked when the pod has several
// ("" for a pod with one container).
func LogContainer(pod *corev1.Pod) (name, why string) {
	cs := pod.Spec.Containers
	switch len(cs) {
	case 0:
		return "", ""
	case 1:
		return cs[0].Name, ""
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	all := strings.Join(names, ", ")
	if want := pod.Annotations[DefaultContainerAnnotation]; want != "" {
		for _, n := range names {
			if n == want {
				return n, "named by " + DefaultContainerAnnotation + ", of " + all
			}
		}
		// kubectl logs refuses here ("container c is not valid for pod
		// p out of: a, b", k8s.io/kubectl/pkg/cmd/util/podcmd
		// FindOrDefaultContainerByName); a dashboard key has no -c to
		// retry with, so show the first and say why in the note.
		return names[0], fmt.Sprintf("first of %s; %s names %q, which the pod does not have", all, DefaultContainerAnnotation, want)
	}
	return names[0], "first of " + all
}

// LogNote is the Note of a Logs result: which container, which instance.
func LogNote(container, why string, previous bool) string {
	n := "container " + container
	if why != "" {
		n += " (" + why + ")"
	}
	if previous {
		n += ", previous instance"
	}
	return n
}

// TailBody keeps the end of a log for a Result body: at most MaxBody bytes,
// cut at a line start, saying that earlier output was dropped.
func TailBody(b []byte) string {
	if len(b) <= MaxBody {
		return string(b)
	}
	b = b[len(b)-MaxBody:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 && i+1 < len(b) {
		b = b[i+1:]
	}
	return "... (earlier output truncated)\n" + string(b)
}

// Logs reads the tail of the pod's container output through the API server
// (GET pods/{name}/log with container, previous and tailLines), which asks
// the node's kubelet. The kubelet's refusals (no previous instance, a
// container still waiting) come back as the API server's BadRequest with the
// kubelet's own words, and the error keeps them.
func (a *ClusterActions) Logs(ctx context.Context, t Target, previous bool) (r Result) {
	// r is the named result, so the deferred Latency is returned.
	r = Result{Action: "logs", Target: t}
	start := time.Now()
	defer func() { r.Latency = time.Since(start) }()
	pods := a.client.CoreV1().Pods(t.Namespace)
	pod, err := pods.Get(ctx, t.Pod, metav1.GetOptions{})
	if err != nil {
		r.Code = errorCode(err)
		r.Err = describeAPIError("logs "+t.String(), err)
		return r
	}
	container, what, ok := PlanLogs(&r, pod, previous)
	if !ok {
		return r
	}
	tail := int64(LogTailLines)
	opts := &corev1.PodLogOptions{
		Container: container,
		Previous:  previous,
		TailLines: &tail,
	}
	stream, err := pods.GetLogs(t.Pod, opts).Stream(ctx)
	if err != nil {
		r.Code = errorCode(err)
		r.Err = describeLogError(what, err)
		return r
	}
	defer stream.Close()
	body, err := io.ReadAll(io.LimitReader(stream, maxLogRead))
	if err != nil {
		r.Err = fmt.Errorf("%s: reading the log: %w", what, err)
		return r
	}
	r.Code = 200
	r.Body = TailBody(body)
	return r
}

// describeLogError keeps the API server's (or kubelet's) message whole: for
// a BadRequest it is the reason itself, such as `previous terminated
// container "c" in pod "p" not found` (pkg/kubelet/kubelet_pods.go
// validateContainerLogStatus) or `pod p does not have a host assigned`
// (pkg/registry/core/pod/strategy.go LogLocation).
func describeLogError(what string, err error) error {
	var se apierrors.APIStatus
	if errors.As(err, &se) && apierrors.IsBadRequest(err) {
		msg := se.Status().Message
		if d := se.Status().Details; d != nil {
			for _, c := range d.Causes {
				if c.Type == metav1.CauseTypeUnexpectedServerResponse && c.Message != "" {
					msg = c.Message
				}
			}
		}
		return &wrapped{msg: fmt.Sprintf("%s: %s", what, strings.TrimSpace(msg)), err: err}
	}
	return describeAPIError(what, err)
}

// PlanLogs is what a log request does before the container's output is
// read, on a cluster and in the lab alike, as the API server's pods/log
// does before it asks the kubelet (pkg/registry/core/pod/strategy.go
// LogLocation): pick the container (LogContainer) and refuse a pod with no
// container or on no node. It sets r's Note, or its Code and Err when it
// refuses (ok false), and returns the container and the request's name for
// errors ("logs ns/pod (container c, previous instance)").
func PlanLogs(r *Result, pod *corev1.Pod, previous bool) (container, what string, ok bool) {
	container, why := LogContainer(pod)
	if container == "" {
		r.Err = fmt.Errorf("logs %s: the pod has no containers", r.Target)
		return "", "", false
	}
	r.Note = LogNote(container, why, previous)
	what = fmt.Sprintf("logs %s (container %s", r.Target, container)
	if previous {
		what += ", previous instance"
	}
	what += ")"
	if pod.Spec.NodeName == "" {
		// The API server answers an empty log for a pod on no node; say
		// why, in its words for exec and attach.
		r.Code = 400
		r.Err = fmt.Errorf("%s: pod %s does not have a host assigned (not scheduled to a node yet), so it has no logs", what, r.Target.Pod)
		return "", "", false
	}
	return container, what, true
}
