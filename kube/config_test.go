package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/proberctl/proberctl/internal/syncbuf"
)

func TestConfigFlagsLoad(t *testing.T) {
	a := filepath.Join("testdata", "kubeconfig", "a.yaml")
	b := filepath.Join("testdata", "kubeconfig", "b.yaml")
	list := a + string(filepath.ListSeparator) + b
	tests := []struct {
		name       string
		kubeconfig string // $KUBECONFIG
		args       []string
		wantHost   string
		wantCtx    string
		wantNS     string
		wantTO     time.Duration
		wantErr    string
	}{
		{name: "explicit file, context namespace", args: []string{"--kubeconfig", a}, wantHost: "https://127.0.0.1:6443", wantCtx: "alpha", wantNS: "team-a"},
		{name: "KUBECONFIG list, first current-context wins", kubeconfig: list, wantHost: "https://127.0.0.1:6443", wantCtx: "alpha", wantNS: "team-a"},
		{name: "context from the second file", kubeconfig: list, args: []string{"--context", "beta"}, wantHost: "https://127.0.0.2:7443", wantCtx: "beta", wantNS: "default"},
		{name: "namespace flag", kubeconfig: list, args: []string{"-n", "demo"}, wantHost: "https://127.0.0.1:6443", wantCtx: "alpha", wantNS: "demo"},
		{name: "all namespaces", kubeconfig: list, args: []string{"-A", "-n", "demo"}, wantHost: "https://127.0.0.1:6443", wantCtx: "alpha", wantNS: ""},
		{name: "request timeout seconds", kubeconfig: a, args: []string{"--request-timeout", "7"}, wantHost: "https://127.0.0.1:6443", wantCtx: "alpha", wantNS: "team-a", wantTO: 7 * time.Second},
		{name: "request timeout duration", kubeconfig: a, args: []string{"--request-timeout", "1m"}, wantHost: "https://127.0.0.1:6443", wantCtx: "alpha", wantNS: "team-a", wantTO: time.Minute},
		{name: "bad request timeout", kubeconfig: a, args: []string{"--request-timeout", "soon"}, wantErr: `invalid --request-timeout "soon"`},
		{name: "bad selector", kubeconfig: a, args: []string{"-l", "app in foo"}, wantErr: `invalid --selector "app in foo"`},
		{name: "unknown context", kubeconfig: a, args: []string{"--context", "gamma"}, wantErr: `context "gamma" does not exist`},
		{name: "missing kubeconfig file", args: []string{"--kubeconfig", "testdata/kubeconfig/nope.yaml"}, wantErr: "--kubeconfig testdata/kubeconfig/nope.yaml"},
		{name: "no kubeconfig anywhere", kubeconfig: filepath.Join(t.TempDir(), "absent"), wantErr: "proberctl lab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			t.Setenv("KUBERNETES_SERVICE_HOST", "") // never in-cluster here
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f := AddConfigFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cc, err := f.Load()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(): %v", err)
			}
			if w := cc.WatchConfig(); w.Timeout != 0 || w.Host != cc.REST.Host {
				t.Errorf("WatchConfig() timeout %v host %q, want no timeout, same host", w.Timeout, w.Host)
			}
			if cc.REST.Host != tt.wantHost || cc.Context != tt.wantCtx || cc.Namespace != tt.wantNS || cc.REST.Timeout != tt.wantTO {
				t.Errorf("Load() = host %q ctx %q ns %q timeout %v, want %q %q %q %v",
					cc.REST.Host, cc.Context, cc.Namespace, cc.REST.Timeout, tt.wantHost, tt.wantCtx, tt.wantNS, tt.wantTO)
			}
		})
	}
}

func TestNoKubeconfigIsMatchable(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	f := AddConfigFlags(pflag.NewFlagSet("test", pflag.ContinueOnError))
	if _, err := f.Load(); !errors.Is(err, ErrNoKubeconfig) {
		t.Fatalf("Load() error = %v, want ErrNoKubeconfig", err)
	}
}

func TestSilenceKlog(t *testing.T) {
	var buf syncbuf.Buffer // klog may flush from its own goroutine
	SilenceKlog(&buf)
	t.Cleanup(func() { SilenceKlog(nil) })
	klog.ErrorS(errors.New("watch failed"), "reflector says")
	klog.Flush()
	if got := buf.String(); !strings.Contains(got, "reflector says") {
		t.Fatalf("klog output went elsewhere; writer got %q", got)
	}
}

// TestLoadLikeKubectl checks Load against kubectl's rules for kubeconfig
// files (k8s.io/client-go tools/clientcmd/loader.go,
// ClientConfigLoadingRules.Load): $KUBECONFIG's files are merged, the first
// file to set current-context or to define a context, cluster or user by a
// name wins, missing and empty entries are skipped, --kubeconfig replaces the
// list, and relative paths are resolved against their file's directory. The
// files live in t.TempDir(), named as the keys of files.
func TestLoadLikeKubectl(t *testing.T) {
	// kubeconfig returns a file of clusters, users and contexts named as
	// given; a context "X" uses cluster X and user X, and a cluster "X"
	// serves at https://X.test (a spec may carry its own lines).
	const (
		alpha = `
current-context: alpha
clusters:
- {name: alpha, cluster: {server: "https://alpha.test"}}
- {name: shared, cluster: {server: "https://shared-from-alpha.test"}}
users:
- {name: alpha, user: {token: alpha-token}}
contexts:
- {name: alpha, context: {cluster: alpha, user: alpha, namespace: team-a}}
- {name: shared, context: {cluster: shared, user: alpha, namespace: from-alpha}}
`
		beta = `
current-context: beta
clusters:
- {name: beta, cluster: {server: "https://beta.test"}}
- {name: shared, cluster: {server: "https://shared-from-beta.test"}}
users:
- {name: beta, user: {token: beta-token}}
contexts:
- {name: beta, context: {cluster: beta, user: beta}}
- {name: shared, context: {cluster: shared, user: beta, namespace: from-beta}}
- {name: gamma, context: {cluster: beta, user: beta, namespace: team-g}}
`
		noCurrent = `
clusters:
- {name: delta, cluster: {server: "https://delta.test", certificate-authority: certs/ca.pem}}
users:
- {name: delta, user: {token-file: token}}
contexts:
- {name: delta, context: {cluster: delta, user: delta, namespace: team-d}}
- {name: epsilon, context: {cluster: delta, user: delta}}
`
		noCluster = `
current-context: lost
contexts:
- {name: lost, context: {cluster: nowhere, user: nobody}}
`
		badNamespace = `
current-context: odd
clusters:
- {name: odd, cluster: {server: "https://odd.test"}}
contexts:
- {name: odd, context: {cluster: odd, namespace: Team_A}}
`
	)
	files := map[string]string{
		"alpha": alpha, "beta": beta, "no-current": noCurrent, "no-cluster": noCluster,
		"bad-namespace": badNamespace, "empty": "", "malformed": "clusters: [",
	}
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := os.MkdirAll(path("certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("certs/ca.pem"), []byte("read only when a client connects"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if body != "" {
			body = "apiVersion: v1\nkind: Config\n" + body
		}
		if err := os.WriteFile(path(name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	list := func(names ...string) string {
		paths := make([]string, len(names))
		for i, n := range names {
			if n != "" {
				paths[i] = path(n)
			}
		}
		return strings.Join(paths, string(filepath.ListSeparator))
	}

	tests := []struct {
		name       string
		kubeconfig string // $KUBECONFIG
		home       string // a file to put at ~/.kube/config
		args       []string
		wantHost   string
		wantToken  string
		wantCtx    string
		wantNS     string
		wantAll    bool
		wantCAFile string
		wantErr    []string
	}{
		{name: "~/.kube/config without KUBECONFIG", home: "alpha",
			wantHost: "https://alpha.test", wantToken: "alpha-token", wantCtx: "alpha", wantNS: "team-a"},
		{name: "KUBECONFIG replaces ~/.kube/config", kubeconfig: list("beta"), home: "alpha",
			wantHost: "https://beta.test", wantToken: "beta-token", wantCtx: "beta", wantNS: "default"},
		{name: "the first file's current-context wins", kubeconfig: list("alpha", "beta"),
			wantHost: "https://alpha.test", wantToken: "alpha-token", wantCtx: "alpha", wantNS: "team-a"},
		{name: "current-context from a later file when the first sets none", kubeconfig: list("no-current", "beta"),
			wantHost: "https://beta.test", wantToken: "beta-token", wantCtx: "beta", wantNS: "default"},
		{name: "the first file to define a context wins", kubeconfig: list("beta", "alpha"), args: []string{"--context", "shared"},
			wantHost: "https://shared-from-beta.test", wantToken: "beta-token", wantCtx: "shared", wantNS: "from-beta"},
		{name: "same, in the other order", kubeconfig: list("alpha", "beta"), args: []string{"--context", "shared"},
			wantHost: "https://shared-from-alpha.test", wantToken: "alpha-token", wantCtx: "shared", wantNS: "from-alpha"},
		{name: "missing and empty entries are skipped", kubeconfig: list("", "absent", "alpha", "", "empty"),
			wantHost: "https://alpha.test", wantToken: "alpha-token", wantCtx: "alpha", wantNS: "team-a"},
		{name: "--context reaches a context of a later file", kubeconfig: list("alpha", "beta"), args: []string{"--context", "gamma"},
			wantHost: "https://beta.test", wantToken: "beta-token", wantCtx: "gamma", wantNS: "team-g"},
		{name: "--context without a namespace means default", kubeconfig: list("alpha", "beta"), args: []string{"--context", "beta"},
			wantHost: "https://beta.test", wantToken: "beta-token", wantCtx: "beta", wantNS: "default"},
		{name: "-n wins over the context's namespace", kubeconfig: list("alpha", "beta"), args: []string{"--context", "gamma", "-n", "demo"},
			wantHost: "https://beta.test", wantToken: "beta-token", wantCtx: "gamma", wantNS: "demo"},
		{name: "-A wins over -n and the context's namespace", kubeconfig: list("alpha"), args: []string{"-n", "demo", "--all-namespaces"},
			wantHost: "https://alpha.test", wantToken: "alpha-token", wantCtx: "alpha", wantNS: "", wantAll: true},
		{name: "--kubeconfig replaces KUBECONFIG", kubeconfig: list("alpha"), args: []string{"--kubeconfig", path("beta")},
			wantHost: "https://beta.test", wantToken: "beta-token", wantCtx: "beta", wantNS: "default"},
		{name: "--kubeconfig is not merged with KUBECONFIG", kubeconfig: list("alpha"), args: []string{"--kubeconfig", path("beta"), "--context", "alpha"},
			wantErr: []string{`context "alpha" does not exist in ` + path("beta") + " (contexts: beta, gamma, shared)"}},
		{name: "relative paths resolve against the file's directory", kubeconfig: list("no-current"), args: []string{"--context", "delta"},
			wantHost: "https://delta.test", wantCtx: "delta", wantNS: "team-d", wantCAFile: path("certs/ca.pem")},
		{name: "no current-context", kubeconfig: list("no-current"),
			wantErr: []string{"$KUBECONFIG (" + list("no-current") + ") sets no current-context: choose one with --context NAME (contexts: delta, epsilon)"}},
		{name: "unknown context", kubeconfig: list("alpha", "beta"), args: []string{"--context", "zeta"},
			wantErr: []string{`context "zeta" does not exist in $KUBECONFIG`, "(contexts: alpha, beta, gamma, shared)"}},
		{name: "context naming a missing cluster", kubeconfig: list("no-cluster"),
			wantErr: []string{`context "lost" in $KUBECONFIG (` + list("no-cluster") + `) names cluster "nowhere", which is not defined there`}},
		{name: "invalid -n", kubeconfig: list("alpha"), args: []string{"-n", "Team_A"},
			wantErr: []string{`invalid namespace "Team_A" (from --namespace): a lowercase RFC 1123 label`}},
		{name: "invalid namespace in the context", kubeconfig: list("bad-namespace"),
			wantErr: []string{`invalid namespace "Team_A" (from context "odd"): a lowercase RFC 1123 label`}},
		{name: "-A needs no valid namespace", kubeconfig: list("bad-namespace"), args: []string{"-A"},
			wantHost: "https://odd.test", wantCtx: "odd", wantAll: true},
		{name: "malformed file", kubeconfig: list("alpha", "malformed"),
			wantErr: []string{"load kubeconfig: error loading config file \"" + path("malformed") + "\""}},
		{name: "only empty and missing files", kubeconfig: list("empty", "absent"),
			wantErr: []string{"no kubeconfig found (looked in $KUBECONFIG (" + list("empty", "absent") + ")) and not running in a pod", "proberctl lab"}},
		{name: "nothing at all", wantErr: []string{"no kubeconfig found (looked in ", "/.kube/config) and not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set): pass --kubeconfig FILE or set KUBECONFIG=FILE[:FILE...], or run 'proberctl lab', which needs no cluster"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			// Never in-cluster here; incluster_test.go covers that.
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			t.Setenv("KUBERNETES_SERVICE_PORT", "")
			if tt.home != "" {
				data, err := os.ReadFile(path(tt.home))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, ".kube", "config"), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f := AddConfigFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cc, err := f.Load()
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load() = host %q ctx %q ns %q, want an error with %q", cc.REST.Host, cc.Context, cc.Namespace, tt.wantErr)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Load() error = %v\nwant it to contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(): %v", err)
			}
			got := []string{cc.REST.Host, cc.REST.BearerToken, cc.Context, cc.Namespace, fmt.Sprint(cc.AllNamespaces), cc.REST.CAFile}
			want := []string{tt.wantHost, tt.wantToken, tt.wantCtx, tt.wantNS, fmt.Sprint(tt.wantAll), tt.wantCAFile}
			if !slices.Equal(got, want) {
				t.Errorf("Load() = host, token, context, namespace, all, CA file %q\nwant %q", got, want)
			}
		})
	}
}
