//go:build !serveonly

package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/proberctl/proberctl/internal/syncbuf"
	"github.com/proberctl/proberctl/kube"
)

// noCluster leaves the command no kubeconfig and no in-cluster config.
func noCluster(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
}

func TestKubeCommandsUsage(t *testing.T) {
	noCluster(t)
	checkUsage(t, []usageCase{
		{name: "watch help teaches", args: []string{"watch", "--help"}, code: 0,
			stdout: []string{"kubectl", "-o json", "--for 2m", "--lab -f demo/foo-1.0.1.yaml", "--selector", "--all-namespaces"}},
		{name: "crash help teaches", args: []string{"crash", "--help"}, code: 0,
			stdout: []string{"pods/proxy", "connection closed: the container exited", "proberctl crash -n default"}},
		{name: "resolve help", args: []string{"help", "resolve"}, code: 0, stdout: []string{"proberctl resolve [flags] POD HOST", "foo-nodeport-svc"}},
		{name: "one-pod help offers no -l or -A", args: []string{"healthz", "--help"}, code: 0,
			stdout: []string{"--namespace", "prober-foo-"}, notStdout: []string{"--selector", "--all-namespaces"}},
		{name: "watch help selects the demo's pods", args: []string{"watch", "--help"}, code: 0, stdout: []string{"-l app=prober-foo"}},
		// Refused before the lab starts a process: no lab, no node port.
		{name: "bad selector with --lab", args: []string{"watch", "--lab", "-l", "app in foo"}, code: 2,
			stderr: []string{`invalid --selector "app in foo"`}, notStderr: []string{"start the lab"}},
		{name: "watch takes no arguments", args: []string{"watch", "pods"}, code: 2, stderr: []string{"watch takes no arguments", "-l"}},
		{name: "-f needs --lab", args: []string{"watch", "-f", "x.yaml"}, code: 2, stderr: []string{"only works with --lab"}},
		{name: "unknown output", args: []string{"watch", "-o", "yaml"}, code: 2, stderr: []string{`unknown output format "yaml"`, "wide, json"}},
		{name: "negative --for", args: []string{"watch", "--for", "-1s"}, code: 2, stderr: []string{"--for must not be negative"}},
		{name: "bad --for", args: []string{"watch", "--for", "soon"}, code: 2, stderr: []string{"--for"}},
		{name: "crash needs a pod", args: []string{"crash"}, code: 2, stderr: []string{"crash takes POD, got 0"}},
		{name: "resolve needs a host", args: []string{"resolve", "pod-1"}, code: 2, stderr: []string{"resolve takes POD HOST, got 1"}},
		{name: "no -A on one pod", args: []string{"healthz", "-A", "pod-1"}, code: 2, stderr: []string{"-n instead of -A"}},
		{name: "no -l on one pod", args: []string{"healthz", "-l", "app=foo", "pod-1"}, code: 2, stderr: []string{"does not apply"}},
		{name: "no cluster points at the lab", args: []string{"healthz", "pod-1"}, code: 1, stderr: []string{"no kubeconfig found", "proberctl lab"}},
		{name: "watch without a cluster", args: []string{"watch"}, code: 1, stderr: []string{"no kubeconfig found", "proberctl lab"}},
		{name: "bad selector", args: []string{"watch", "-l", "app in foo"}, code: 2, stderr: []string{`invalid --selector "app in foo"`, "--help"}},
		{name: "bad request timeout", args: []string{"watch", "--request-timeout", "abc"}, code: 2, stderr: []string{`invalid --request-timeout "abc"`, "--help"}},
		{name: "bad request timeout on one pod", args: []string{"healthz", "--request-timeout", "abc", "pod-1"}, code: 2, stderr: []string{`invalid --request-timeout "abc"`}},
	})
}

func TestPrintResult(t *testing.T) {
	target := kube.Target{Namespace: "demo", Pod: "foo-1"}
	for _, tc := range []struct {
		r    kube.Result
		want string
	}{
		{kube.Result{Action: "healthz", Target: target, Code: 200, Latency: 3141 * time.Microsecond, Body: `{ "status": "ok" }`},
			"healthz demo/foo-1: HTTP 200 in 3.1ms\n{ \"status\": \"ok\" }\n"},
		{kube.Result{Action: "crash", Target: target, Code: 503, Latency: time.Millisecond, Note: kube.NoteContainerExited},
			"crash demo/foo-1: connection closed: the container exited in 1ms\n"},
		{kube.Result{Action: "resolve", Target: target, Err: errors.New("boom")},
			"resolve demo/foo-1: no response\n"},
	} {
		var b bytes.Buffer
		printResult(&b, tc.r)
		if b.String() != tc.want {
			t.Errorf("printResult = %q, want %q", b.String(), tc.want)
		}
	}
}

func TestNoPods(t *testing.T) {
	pod := kube.Delta{Kind: kube.KindPod, Key: "default/p"}
	event := kube.Delta{Kind: kube.KindEvent, Key: "default/e"}
	for _, tc := range []struct {
		name      string
		namespace string
		batches   []kube.Batch
		want      []string // check's answer per batch
	}{
		{"empty namespace", "demo", []kube.Batch{{}, {Deltas: []kube.Delta{event}, Synced: true}, {Synced: true}},
			[]string{"", "No resources found in demo namespace.", ""}},
		{"all namespaces", "", []kube.Batch{{Synced: true}}, []string{"No resources found"}},
		{"a pod in the synced batch", "demo", []kube.Batch{{Deltas: []kube.Delta{pod}, Synced: true}}, []string{""}},
		{"a pod before sync", "demo", []kube.Batch{{Deltas: []kube.Delta{pod}}, {Synced: true}}, []string{"", ""}},
		// Pods that come and go later do not matter: the note is about
		// the first list only, as kubectl's.
		{"a pod after sync", "demo", []kube.Batch{{Synced: true}, {Deltas: []kube.Delta{pod}, Synced: true}},
			[]string{"No resources found in demo namespace.", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := noPods{namespace: tc.namespace}
			for i, b := range tc.batches {
				if got := n.check(b); got != tc.want[i] {
					t.Errorf("batch %d: check = %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

// TestRunWatchSaysNoPods: a watch of a namespace with no pods says so on
// the status stream, as kubectl get pods -w does, and one with pods does
// not.
func TestRunWatchSaysNoPods(t *testing.T) {
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "prober-foo-1", Namespace: "default", CreationTimestamp: metav1.Now()}})
	for _, tc := range []struct {
		name, namespace string
		sayEmpty        bool
		want, notWant   string
	}{
		{"empty", "other", true, "No resources found in other namespace.", ""},
		{"pods", "default", true, "prober-foo-1", "No resources found"},
		// The lab's watch: its pods are not made yet at the first list.
		{"empty, not said", "other", false, "", "No resources found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, status syncbuf.Buffer
			p, err := kube.NewLinePrinter(&out, "")
			if err != nil {
				t.Fatal(err)
			}
			p.Status = &status
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- runWatch(ctx, client, kube.WatchOptions{Namespace: tc.namespace}, p, tc.sayEmpty) }()
			// The note comes with the first synced batch, after the
			// "connected" line; wait for that line, then for the note.
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(status.String(), "connected") || (tc.want != "" && !strings.Contains(out.String()+status.String(), tc.want)) {
				if time.Now().After(deadline) {
					cancel()
					t.Fatalf("no %q within 30s; stdout %q, status %q", tc.want, out.String(), status.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runWatch: %v", err)
			}
			if tc.notWant != "" && strings.Contains(status.String(), tc.notWant) {
				t.Errorf("status has %q: %q", tc.notWant, status.String())
			}
		})
	}
}
