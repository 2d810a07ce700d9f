package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/lab/kubelet"
)

// The command an apply into an unwatched namespace suggests builds all the
// session built: the starting files, then every path applied so far in
// order (one applied again moves to its last place), not only the last.
func TestApplySuggestsEverythingApplied(t *testing.T) {
	pod := func(name, ns string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
			"\nspec:\n  containers:\n  - name: c\n    image: x\n"
	}
	dir := writeFiles(t, map[string]string{
		"shop.yaml":  pod("shop", "shop"),
		"more.yaml":  pod("more", "shop"),
		"other.yaml": pod("other", "other"),
		"third.yaml": pod("third", "third"),
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	const prefix = "which the dashboard does not show: it watches namespace shop, the one its starting manifests use; to watch all of them, quit and run "
	l := newLab(t, serverArgv, at("shop.yaml"))
	a := l.Actions()
	for _, step := range []struct {
		apply string
		note  string
	}{
		{"more.yaml", ""}, // the watched namespace: nothing to say
		{"other.yaml", "applied to namespace other, " + prefix +
			"proberctl lab -f " + at("shop.yaml") + " -f " + at("more.yaml") + " -f " + at("other.yaml")},
		{"third.yaml", "applied to namespace third, " + prefix +
			"proberctl lab -f " + at("shop.yaml") + " -f " + at("more.yaml") + " -f " + at("other.yaml") + " -f " + at("third.yaml")},
		{"more.yaml", ""},
		{"shop.yaml", ""},
		{"other.yaml", "applied to namespace other, " + prefix +
			"proberctl lab -f " + at("third.yaml") + " -f " + at("more.yaml") + " -f " + at("shop.yaml") + " -f " + at("other.yaml")},
	} {
		r := a.Apply(context.Background(), at(step.apply))
		if r.Err != nil {
			t.Fatalf("apply %s: %v", step.apply, r.Err)
		}
		if r.Note != step.note {
			t.Errorf("apply %s: note\n%q\nwant\n%q", step.apply, r.Note, step.note)
		}
	}
	// A path that fails to read applied nothing and is not suggested.
	if r := a.Apply(context.Background(), at("missing.yaml")); r.Err == nil {
		t.Fatal("apply of a missing file succeeded")
	}
	r := a.Apply(context.Background(), at("third.yaml"))
	want := "applied to namespace third, " + prefix +
		"proberctl lab -f " + at("more.yaml") + " -f " + at("shop.yaml") + " -f " + at("other.yaml") + " -f " + at("third.yaml")
	if r.Err != nil || r.Note != want {
		t.Errorf("apply third.yaml again: %v, note\n%q\nwant\n%q", r.Err, r.Note, want)
	}
}

// An action on a pod whose server is not listening yet names the pod, its
// IP and the manifest's port, as the probe events do; the loopback port
// the lab kubelet really uses comes only at the end, in parentheses.
func TestActionErrorNamesPodPort(t *testing.T) {
	dir := writeFiles(t, map[string]string{"slow.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: slow
spec:
  containers:
  - name: web
    image: example.com/web:1
    ports:
    - containerPort: 80
    env:
    - name: START_WAIT_SECS
      value: "600"
`})
	l := startLab(t, dir)
	var pod *corev1.Pod
	waitFor(t, 30*time.Second, "container of pod slow started", func() (bool, string) {
		p, err := l.Client().CoreV1().Pods(Namespace).Get(context.Background(), "slow", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = p
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running != nil {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", p.Status.ContainerStatuses)
	})
	addr, err := kubelet.PodAddress(pod, 80)
	if err != nil {
		t.Fatal(err)
	}
	ip, hostPort, _ := net.SplitHostPort(addr)
	if hostPort == "80" {
		t.Skip("the lab kubelet served port 80 as itself; nothing to tell apart")
	}
	a := l.Actions()
	target := kube.Target{Namespace: Namespace, Pod: "slow"}
	for _, tc := range []struct {
		action string
		do     func() kube.Result
	}{
		{"healthz", func() kube.Result { return a.Healthz(context.Background(), target) }},
		{"info", func() kube.Result { return a.Info(context.Background(), target) }},
		{"crash", func() kube.Result { return a.Crash(context.Background(), target) }},
	} {
		r := tc.do()
		if r.Err == nil {
			t.Fatalf("%s on a pod still in its start wait: no error, %+v", tc.action, r)
		}
		msg := r.Err.Error()
		t.Logf("%s: %s", tc.action, msg)
		want := fmt.Sprintf("%s default/slow: nothing listens on port 80 of pod slow (%s): the container is not running or not listening yet", tc.action, ip)
		if !strings.HasPrefix(msg, want) {
			t.Errorf("%s: error\n%q\nwant it to start with\n%q", tc.action, msg, want)
		}
		tail := "(the lab serves it at " + addr + ")"
		if !strings.HasSuffix(msg, tail) || strings.Contains(strings.TrimSuffix(msg, tail), ":"+hostPort) {
			t.Errorf("%s: error %q names the lab's port %s other than in a closing %q", tc.action, msg, hostPort, tail)
		}
		if !errors.Is(r.Err, syscall.ECONNREFUSED) {
			t.Errorf("%s: error %v does not wrap ECONNREFUSED", tc.action, r.Err)
		}
	}
}
