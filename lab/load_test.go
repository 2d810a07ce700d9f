package lab

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// writeFiles writes name -> content into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  serviceAccountName: web
  containers:
  - name: web
    image: example.com/web:1
    env:
    - name: CONTENT
      valueFrom:
        configMapKeyRef: {name: web-settings, key: content}
    readinessProbe:
      httpGet: {path: /readyz, port: 80}
      periodSeconds: 1
`

// An app's directory holds kinds the lab does not run beside the ones it
// does: they are left out, each with a warning naming kind, name and file,
// and the rest runs, at start and when applied from the dashboard.
func TestAppDirectorySkipsUnsupportedKinds(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"pod.yaml":    webPod,
		"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  content: hello\n",
		"sa.yml":      "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n",
	})
	l := newLab(t, serverArgv, dir)
	want := []string{
		`skipped ConfigMap "web-settings" (v1) in ` + filepath.Join(dir, "config.yaml") + `: the lab does not run this kind`,
		`skipped ServiceAccount "web" (v1) in ` + filepath.Join(dir, "sa.yml") + `: the lab does not run this kind`,
	}
	if got := l.Notices(); !slices.Equal(got, want) {
		t.Errorf("Notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	start(t, l)
	waitFor(t, 30*time.Second, "pod web ready", func() (bool, string) {
		p, err := l.Client().CoreV1().Pods(Namespace).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return ready(p), describe([]corev1.Pod{*p})
	})

	r := l.Actions().Apply(context.Background(), dir)
	if r.Err != nil {
		t.Fatalf("apply %s: %v", dir, r.Err)
	}
	for _, w := range append([]string{"pod/web unchanged"}, want...) {
		if !strings.Contains(r.Body, w) {
			t.Errorf("apply body %q lacks %q", r.Body, w)
		}
	}
	if !strings.Contains(r.Note, "2 document(s) of kinds the lab does not run left out") {
		t.Errorf("apply note %q does not say documents were left out", r.Note)
	}
}

// Only when nothing runnable is left is the whole refused, naming what was
// found.
func TestNothingRunnableRefused(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\n",
	})
	_, err := New(Options{Files: []string{dir}, ServerArgv: serverArgv})
	if err == nil {
		t.Fatal("New with only a ConfigMap: no error")
	}
	for _, w := range []string{"nothing to run in " + dir, `kind ConfigMap "web-settings" in ` + filepath.Join(dir, "config.yaml"), "Deployment"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
