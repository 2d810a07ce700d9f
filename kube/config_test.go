package kube

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
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
	var buf strings.Builder
	SilenceKlog(&syncWriter{w: &buf})
	t.Cleanup(func() { SilenceKlog(nil) })
	klog.ErrorS(errors.New("watch failed"), "reflector says")
	klog.Flush()
	if got := buf.String(); !strings.Contains(got, "reflector says") {
		t.Fatalf("klog output went elsewhere; writer got %q", got)
	}
}

// syncWriter serializes writes: klog may flush from its own goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
