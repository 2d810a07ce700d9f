package kube

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// ConfigFlags are the kubectl-like flags every cluster command takes. Create
// them with AddConfigFlags and call Load after the flag set is parsed.
type ConfigFlags struct {
	Kubeconfig     string
	Context        string
	Namespace      string
	Selector       string
	AllNamespaces  bool
	RequestTimeout string
}

// ClusterConfig is what Load resolves: how to reach the API server and what
// to look at there.
type ClusterConfig struct {
	REST *rest.Config
	// Context is the kubeconfig context in use, "" in-cluster.
	Context string
	// Namespace is the effective namespace: --namespace, else the context's
	// (else "default"), and "" with --all-namespaces.
	Namespace string
	// Selector is the validated --selector, "" for everything.
	Selector      string
	AllNamespaces bool
}

// WatchConfig is REST for long-lived watches: the same, without
// --request-timeout, which bounds a whole request and would cut every watch
// (and so churn the informers) after that long.
func (c ClusterConfig) WatchConfig() *rest.Config {
	if c.REST == nil {
		return nil
	}
	cfg := rest.CopyConfig(c.REST)
	cfg.Timeout = 0
	return cfg
}

// AddConfigFlags registers --kubeconfig, --context, -n/--namespace,
// -l/--selector, -A/--all-namespaces and --request-timeout on fs, with the
// meaning kubectl gives them.
func AddConfigFlags(fs *pflag.FlagSet) *ConfigFlags {
	f := &ConfigFlags{}
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, whose paths are merged, else ~/.kube/config, else the in-cluster service account)")
	fs.StringVar(&f.Context, "context", "", "the kubeconfig context to use (default: the current context)")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "the namespace to look at (default: the context's namespace)")
	fs.StringVarP(&f.Selector, "selector", "l", "", "label selector for pods, e.g. app=foo or 'version in (1.0.1,1.0.2)'")
	fs.BoolVarP(&f.AllNamespaces, "all-namespaces", "A", false, "look at every namespace")
	fs.StringVar(&f.RequestTimeout, "request-timeout", "0", "how long to wait for a single API request before giving up (not the long-lived watches): 0 for no limit, a number of seconds, or a duration like 5s or 2m")
	return f
}

// Load resolves the flags to a cluster configuration the way kubectl does:
// an explicit --kubeconfig, else the files in $KUBECONFIG merged in order,
// else ~/.kube/config, else the in-cluster service account when run in a pod.
func (f *ConfigFlags) Load() (ClusterConfig, error) {
	var cc ClusterConfig
	if f.Selector != "" {
		if _, err := labels.Parse(f.Selector); err != nil {
			return cc, fmt.Errorf("invalid --selector %q: %w (accepted: key=value, key!=value, key in (a,b), key, !key, comma-separated)", f.Selector, err)
		}
	}
	timeout, err := parseRequestTimeout(f.RequestTimeout)
	if err != nil {
		return cc, err
	}
	if f.Kubeconfig != "" {
		if _, err := os.Stat(f.Kubeconfig); err != nil {
			return cc, fmt.Errorf("--kubeconfig %s: %w", f.Kubeconfig, err)
		}
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.Context}
	if f.Namespace != "" {
		overrides.Context.Namespace = f.Namespace
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)

	restCfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return cc, errNoKubeconfig(rules)
		}
		return cc, fmt.Errorf("load kubeconfig: %w", err)
	}
	restCfg.Timeout = timeout
	restCfg.UserAgent = "proberctl (" + rest.DefaultKubernetesUserAgent() + ")"

	ns, _, err := loader.Namespace()
	if err != nil {
		return cc, fmt.Errorf("namespace from kubeconfig: %w", err)
	}
	if raw, err := loader.RawConfig(); err == nil {
		cc.Context = raw.CurrentContext
		if f.Context != "" {
			cc.Context = f.Context
		}
	}
	cc.REST = restCfg
	cc.Namespace = ns
	cc.Selector = f.Selector
	cc.AllNamespaces = f.AllNamespaces
	if f.AllNamespaces {
		cc.Namespace = ""
	}
	return cc, nil
}

// errNoKubeconfig says where we looked and what works without a cluster.
func errNoKubeconfig(rules *clientcmd.ClientConfigLoadingRules) error {
	where := "~/.kube/config"
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		where = "$KUBECONFIG (" + env + ")"
	} else if len(rules.Precedence) > 0 {
		where = strings.Join(rules.Precedence, ", ")
	}
	return fmt.Errorf("%w (looked in %s) and not running in a pod: "+
		"pass --kubeconfig FILE or set KUBECONFIG, or try 'proberctl lab', which needs no cluster", ErrNoKubeconfig, where)
}

// parseRequestTimeout accepts what kubectl's --request-timeout accepts: "0"
// (no limit), a bare number of seconds, or a Go duration.
func parseRequestTimeout(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > math.MaxInt64/int(time.Second) {
			return 0, fmt.Errorf("invalid --request-timeout %q: want 0 or a positive number of seconds (at most %d)", s, math.MaxInt64/int(time.Second))
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid --request-timeout %q: want 0, a number of seconds, or a duration like 5s or 2m", s)
	}
	return d, nil
}

// SilenceKlog sends client-go's klog output to w (io.Discard to drop it).
// client-go logs reflector and watch errors through klog to stderr, which
// would scribble over a full-screen dashboard; the connection state is
// reported through Batch.Conn instead.
func SilenceKlog(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	// klog keeps its own flag set; these are the documented knobs for
	// redirecting it (k8s.io/klog/v2 klog.go: LogToStderr, SetOutput).
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.LogToStderr(false)
	klog.SetOutput(w)
}

// ErrNoKubeconfig is matched by errors.Is when Load found no configuration.
var ErrNoKubeconfig = errors.New("no kubeconfig found")
