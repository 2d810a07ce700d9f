package kube

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube/kubetest"
)

func TestLogContainer(t *testing.T) {
	pod := func(ann string, names ...string) *corev1.Pod {
		p := &corev1.Pod{}
		if ann != "" {
			p.Annotations = map[string]string{DefaultContainerAnnotation: ann}
		}
		for _, n := range names {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n})
		}
		return p
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		want     string
		previous bool
		note     string
	}{
		{"only one", pod("", "prober-foo"), "prober-foo", true, "container prober-foo, previous instance"},
		{"only one, annotation ignored", pod("other", "prober-foo"), "prober-foo", false, "container prober-foo"},
		{"annotation", pod("b", "a", "b"), "b", false, "container b (named by " + DefaultContainerAnnotation + ", of a, b)"},
		{"first", pod("", "a", "b"), "a", true, "container a (first of a, b), previous instance"},
		{"annotation names none", pod("c", "a", "b"), "a", false,
			`container a (first of a, b; ` + DefaultContainerAnnotation + ` names "c", which the pod does not have)`},
		{"no containers", pod(""), "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := LogContainer(tc.pod)
			if got != tc.want {
				t.Errorf("container %q, want %q", got, tc.want)
			}
			if got == "" {
				return
			}
			if note := LogNote(got, why, tc.previous); note != tc.note {
				t.Errorf("note %q, want %q", note, tc.note)
			}
		})
	}
}

func TestTailBody(t *testing.T) {
	short := "a\nb\n"
	if got := TailBody([]byte(short)); got != short {
		t.Errorf("short log changed: %q", got)
	}
	var b strings.Builder
	for i := 0; b.Len() <= 2*MaxBody; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	long := b.String()
	got := TailBody([]byte(long))
	const marker = "... (earlier output truncated)\n"
	if !strings.HasPrefix(got, marker) {
		t.Fatalf("truncated log does not say so: %.60q", got)
	}
	kept := strings.TrimPrefix(got, marker)
	if len(kept) > MaxBody || !strings.HasSuffix(long, kept) || !strings.HasPrefix(kept, "line ") {
		t.Errorf("kept %d bytes starting %.20q: want the end of the log, at most %d bytes, from a line start", len(kept), kept, MaxBody)
	}
}

// fakeKubelet serves the kubelet's containerLogs endpoint over TLS
// (pkg/kubelet/server/server.go: GET
// /containerLogs/{namespace}/{pod}/{container}), so the test sees what the
// API server forwards. The test control plane has no kubelet; this one
// answers from lines, and refuses previous as a kubelet does for a
// container that never restarted.
type fakeKubelet struct {
	srv   *httptest.Server
	lines int

	mu   sync.Mutex
	reqs []*url.URL
}

func newFakeKubelet(t *testing.T, lines int) *fakeKubelet {
	f := &fakeKubelet{lines: lines}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKubelet) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.URL)
	f.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "containerLogs" {
		http.NotFound(w, r)
		return
	}
	pod, container := parts[2], parts[3]
	q := r.URL.Query()
	if q.Get("previous") == "true" {
		// validateContainerLogStatus's refusal, which the kubelet
		// answers with 400 and the text.
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod), http.StatusBadRequest)
		return
	}
	first := 0
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n < f.lines {
		first = f.lines - n
	}
	for i := first; i < f.lines; i++ {
		fmt.Fprintf(w, "%s line %d\n", container, i)
	}
}

func (f *fakeKubelet) last() *url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return nil
	}
	return f.reqs[len(f.reqs)-1]
}

// TestLogsThroughAPIServer reads logs through a real kube-apiserver's
// pods/log, which looks the pod's node up and forwards to its kubelet: a
// Node object points at the fake kubelet on loopback. What reaches the
// kubelet (container, previous, tailLines) and what comes back (the tail,
// the kubelet's refusal in its own words, the API server's refusals) is
// checked. The test API server has no --kubelet-certificate-authority, so
// it does not verify the kubelet's certificate
// (pkg/kubelet/client/kubelet_client.go transportConfig), as on a cluster
// set up without one; the kubelet's own choice of which run to read is the lab
// kubelet's, tested in lab/kubelet.
func TestLogsThroughAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kl := newFakeKubelet(t, 300)
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(kl.srv.URL, "https://"))
	port, _ := strconv.Atoi(portStr)

	nodeName := "fake-kubelet-" + ns
	node, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), nodeName, metav1.DeleteOptions{}) })
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	mkPod := func(name, node, ann string, containers ...string) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node}}
		if ann != "" {
			p.Annotations = map[string]string{DefaultContainerAnnotation: ann}
		}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "proberctl:test"})
		}
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("one", nodeName, "", "prober-foo")
	mkPod("two", nodeName, "sidecar", "prober-foo", "sidecar")
	mkPod("unscheduled", "", "", "prober-foo")

	a, err := NewClusterActions(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	target := func(pod string) Target { return Target{Namespace: ns, Pod: pod} }

	r := a.Logs(ctx, target("one"), false)
	if r.Err != nil || r.Action != "logs" || r.Code != 200 || r.Note != "container prober-foo" {
		t.Fatalf("logs: %+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.Body, "\n"), "\n")
	if len(lines) != LogTailLines || lines[0] != "prober-foo line 100" || lines[len(lines)-1] != "prober-foo line 299" {
		t.Errorf("got %d lines, %q to %q; want the last %d of 300", len(lines), lines[0], lines[len(lines)-1], LogTailLines)
	}
	u := kl.last()
	if want := "/containerLogs/" + ns + "/one/prober-foo"; u == nil || u.Path != want {
		t.Fatalf("kubelet asked for %v, want path %s", u, want)
	}
	if q := u.Query(); q.Get("tailLines") != "200" || q.Get("previous") == "true" {
		t.Errorf("kubelet query %q: want tailLines=200 and not previous", u.RawQuery)
	}

	r = a.Logs(ctx, target("one"), true)
	want := fmt.Sprintf("previous terminated container %q in pod %q not found", "prober-foo", "one")
	if r.Err == nil || !strings.Contains(r.Err.Error(), want) || r.Code != 400 || r.Note != "container prober-foo, previous instance" {
		t.Errorf("logs --previous: %+v; want the kubelet's %q, code 400", r, want)
	} else {
		t.Logf("logs --previous: %v", r.Err)
	}
	if q := kl.last().Query(); q.Get("previous") != "true" || q.Get("tailLines") != "200" {
		t.Errorf("kubelet query %q: want previous=true&tailLines=200", kl.last().RawQuery)
	}

	r = a.Logs(ctx, target("two"), false)
	if r.Err != nil || !strings.HasSuffix(r.Body, "sidecar line 299\n") || !strings.HasPrefix(r.Note, "container sidecar (named by ") {
		t.Errorf("logs of the annotated container: %+v", r)
	}

	for _, tc := range []struct{ pod, want string }{
		{"unscheduled", "pod unscheduled does not have a host assigned"},
		{"missing", `pods "missing" not found`},
	} {
		r := a.Logs(ctx, target(tc.pod), false)
		if r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) {
			t.Errorf("logs %s: %v, want %q", tc.pod, r.Err, tc.want)
		}
	}
}
