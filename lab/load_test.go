package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube"
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
  labels: {app: web}
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

// "lab -f demo/foo-1.0.1.yaml" and the dashboard's apply of a demo/ path
// read the same way outside the repository: from the demo built into the
// binary when the file is not on disk, saying so; from the disk when it
// is; and a path that is neither says where relative paths start and what
// is built in.
func TestDemoPathOutsideRepository(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)

	l := newLab(t, serverArgv, "demo/foo-1.0.1.yaml")
	builtin := "demo/foo-1.0.1.yaml is not in " + wd + ": read the copy built into proberctl"
	if got := l.Notices(); !slices.Equal(got, []string{builtin}) {
		t.Errorf("Notices = %q, want %q", got, builtin)
	}
	if len(l.objs) != 1 || l.objs[0].Source != "demo/foo-1.0.1.yaml" {
		t.Fatalf("objects %+v, want the built-in Deployment, named as typed", l.objs)
	}

	missing := "manifest demo/nope.yaml: no such file or directory (relative paths are from " + wd + "); built in: demo/foo-1.0.1.yaml"
	if _, err := New(Options{Files: []string{"demo/nope.yaml"}, ServerArgv: serverArgv}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("New with demo/nope.yaml: %v, want %q", err, missing)
	}

	// The dashboard's apply: the same reading, the same words.
	a := l.Actions()
	r := a.Apply(context.Background(), "demo/foo-1.0.2.yaml")
	if r.Err != nil || r.Body != "deployment.apps/prober-foo created" ||
		r.Note != "demo/foo-1.0.2.yaml is not in "+wd+": read the copy built into proberctl" {
		t.Errorf("apply demo/foo-1.0.2.yaml: body %q note %q err %v", r.Body, r.Note, r.Err)
	}
	if r := a.Apply(context.Background(), "demo/nope.yaml"); r.Err == nil || !strings.Contains(r.Err.Error(), missing) {
		t.Errorf("apply demo/nope.yaml: %v, want %q", r.Err, missing)
	}

	// A file on disk at that path wins over the built-in copy.
	if err := os.Mkdir("demo", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("demo/foo-1.0.2.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: on-disk\nspec:\n  containers:\n  - name: c\n    image: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := a.Apply(context.Background(), "demo/foo-1.0.2.yaml"); r.Err != nil || r.Body != "pod/on-disk created" || r.Note != "" {
		t.Errorf("apply of demo/foo-1.0.2.yaml on disk: body %q note %q err %v", r.Body, r.Note, r.Err)
	}
	if _, err := l.Client().CoreV1().Pods(Namespace).Get(context.Background(), "on-disk", metav1.GetOptions{}); err != nil {
		t.Errorf("the file on disk was not applied: %v", err)
	}
}

// The lab's errors read as one chain, without a "lab:" of their own: the
// command adds what it was doing ("start the lab: ").
func TestStartErrorChain(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"refused.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_1\nspec:\n  containers:\n  - name: c\n    image: x\n",
	})
	file := filepath.Join(dir, "refused.yaml")
	l := newLab(t, serverArgv, file)
	err := l.Start(context.Background())
	want := "apply the manifests: " + file + ": create pod/Web_1: Pod \"Web_1\" is invalid: metadata.name: Invalid value: \"Web_1\""
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Start with a refused pod: %v\nwant it to start %q", err, want)
	}
	if err := l.Start(context.Background()); err == nil || err.Error() != "the lab is already started" {
		t.Errorf("second Start: %v", err)
	}
	for _, err := range []error{err, func() error { _, err := New(Options{}); return err }()} {
		if err != nil && strings.Contains(err.Error(), "lab: ") {
			t.Errorf("error %q stutters a \"lab: \" prefix", err)
		}
	}
	if _, err := New(Options{}); err == nil || !strings.HasPrefix(err.Error(), "lab.Options.ServerArgv is required") {
		t.Errorf("New without ServerArgv: %v", err)
	}
}

// An apply from the dashboard into a namespace it does not watch says where
// the objects went and how to see them; objects naming no namespace go to
// the watched one, as a cluster's apply uses the dashboard's namespace.
func TestApplyNamesUnwatchedNamespace(t *testing.T) {
	pod := func(name, ns string) string {
		s := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n"
		if ns != "" {
			s += "  namespace: " + ns + "\n"
		}
		return s + "spec:\n  containers:\n  - name: c\n    image: x\n"
	}
	dir := writeFiles(t, map[string]string{
		"shop.yaml":  pod("shop", "shop"),
		"plain.yaml": pod("plain", ""),
		"other.yaml": pod("other", "other") + "---\n" + pod("third", "third") + "---\n" + pod("again", "other"),
		"both.yaml":  pod("b1", "shop") + "---\n" + pod("b2", "default"),
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		name    string
		started []string // the lab's -f files
		apply   string
		wantNS  map[string]string // pod -> namespace it must be in
		note    string
	}{
		{name: "no namespace: the watched one", started: []string{at("shop.yaml")}, apply: "plain.yaml",
			wantNS: map[string]string{"plain": "shop"}},
		{name: "the watched namespace", started: []string{at("shop.yaml")}, apply: "shop.yaml", wantNS: map[string]string{"shop": "shop"}},
		{name: "other namespaces", started: []string{at("shop.yaml")}, apply: "other.yaml",
			wantNS: map[string]string{"other": "other", "third": "third", "again": "other"},
			note: "applied to namespaces other, third, which the dashboard does not show: it watches namespace shop, the one its starting manifests use; " +
				"to watch all of them, quit and run proberctl lab -f " + at("shop.yaml") + " -f " + at("other.yaml")},
		{name: "the demo's lab watches default", apply: "shop.yaml", wantNS: map[string]string{"shop": "shop"},
			note: "applied to namespace shop, which the dashboard does not show: it watches namespace default, the one its starting manifests use; " +
				"to watch all of them, quit and run proberctl lab -f demo/foo-service.yaml -f demo/foo-1.0.1.yaml -f " + at("shop.yaml")},
		{name: "a lab over several namespaces watches them all", started: []string{at("both.yaml")}, apply: "other.yaml",
			wantNS: map[string]string{"other": "other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, serverArgv, tc.started...)
			r := l.Actions().Apply(context.Background(), at(tc.apply))
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Note != tc.note {
				t.Errorf("note:\n%q\nwant:\n%q", r.Note, tc.note)
			}
			for name, ns := range tc.wantNS {
				if _, err := l.Client().CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
					t.Errorf("pod %s/%s: %v", ns, name, err)
				}
			}
		})
	}
}

// With each pod's server bound to its own IP, what reaches pods still
// does: probes (the pod gets ready), the Service proxy (the pod resolves
// its own Service through it) and the actions (/info, /healthz), all on
// the pod IP; /info shows the bound address.
func TestLabReachesPodsOnTheirIP(t *testing.T) {
	dir := writeFiles(t, map[string]string{"web.yaml": webPod + `---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
`})
	l := startLab(t, dir)
	var pod *corev1.Pod
	waitFor(t, 30*time.Second, "pod web ready", func() (bool, string) {
		p, err := l.Client().CoreV1().Pods(Namespace).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = p
		return ready(p), describe([]corev1.Pod{*p})
	})
	ip := pod.Status.PodIP
	if ip == "" {
		t.Fatal("no pod IP")
	}
	a := l.Actions()
	target := kube.Target{Namespace: Namespace, Pod: "web"}
	info := a.Info(context.Background(), target)
	if info.Err != nil || info.Code != 200 {
		t.Fatalf("info: %d %v", info.Code, info.Err)
	}
	var body struct {
		Listen string            `json:"listen"`
		Knobs  map[string]string `json:"knobs"`
	}
	if err := json.Unmarshal([]byte(info.Body), &body); err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(body.Listen)
	if err != nil || host != ip || body.Knobs["BIND_ADDRESS"] != ip {
		t.Errorf("/info listen %q, BIND_ADDRESS %q; want the pod IP %s", body.Listen, body.Knobs["BIND_ADDRESS"], ip)
	}
	if r := a.Healthz(context.Background(), target); r.Err != nil || r.Code != 200 {
		t.Errorf("healthz: %d %v", r.Code, r.Err)
	}
	// The pod fetches its own Service: through the proxy, back to the pod IP.
	var r kube.Result
	waitFor(t, 30*time.Second, "resolve through the Service", func() (bool, string) {
		r = a.Resolve(context.Background(), target, "web/info")
		return r.Err == nil && r.Code == 200 && strings.Contains(r.Body, `"listen": "`+body.Listen+`"`), fmt.Sprintf("%d %v %s", r.Code, r.Err, r.Body)
	})
	if !strings.Contains(r.Note, "the lab has no cluster DNS: service web") {
		t.Errorf("resolve note %q", r.Note)
	}
}
