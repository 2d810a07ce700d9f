package kube

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/homedir"
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
	// Namespace is the effective namespace: --namespace, else the context's,
	// else in a pod its own (POD_NAMESPACE, else the service account's
	// namespace file), else "default"; and "" with --all-namespaces. It is
	// a valid namespace name.
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
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "the namespace to look at (default: the context's namespace; in a pod, the pod's)")
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
	if err := CheckSelector(f.Selector); err != nil {
		return cc, err
	}
	timeout, err := parseRequestTimeout(f.RequestTimeout)
	if err != nil {
		return cc, UsageError{err}
	}
	if f.Kubeconfig != "" {
		if _, err := os.Stat(f.Kubeconfig); err != nil {
			return cc, fmt.Errorf("--kubeconfig %s: %w", f.Kubeconfig, err)
		}
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	// clientcmd fixes ~/.kube/config when it loads (loader.go,
	// RecommendedHomeFile). Follow $HOME if it changed since, as tests
	// change it, and then migrate no legacy file into the new home.
	home := filepath.Join(homedir.HomeDir(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" && home != clientcmd.RecommendedHomeFile {
		rules.Precedence = []string{home}
		rules.MigrationRules = nil
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.Context}
	if f.Namespace != "" {
		overrides.Context.Namespace = f.Namespace
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)

	// The merged kubeconfig (empty when there is none), read first so that
	// a wrong context is reported with the contexts there are.
	raw, err := loader.RawConfig()
	if err != nil {
		return cc, fmt.Errorf("load kubeconfig: %w", err)
	}
	ctxName := raw.CurrentContext
	if f.Context != "" {
		ctxName = f.Context
	}
	if ctxName != "" && raw.Contexts[ctxName] == nil {
		what := "context"
		if f.Context == "" {
			what = "current-context"
		}
		return cc, fmt.Errorf("%s %q does not exist in %s (%s)", what, ctxName, kubeconfigWhere(rules), contextList(raw))
	}

	restCfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return cc, emptyConfigError(raw, ctxName, rules)
		}
		if len(raw.Contexts) == 0 && inClusterProblem() == "" {
			return cc, fmt.Errorf("in-cluster config (no kubeconfig, and KUBERNETES_SERVICE_HOST is set): %w", err)
		}
		return cc, fmt.Errorf("load kubeconfig: %w", err)
	}
	restCfg.Timeout = timeout
	restCfg.UserAgent = "proberctl (" + rest.DefaultKubernetesUserAgent() + ")"

	ns, _, err := loader.Namespace()
	if err != nil {
		return cc, fmt.Errorf("namespace from kubeconfig: %w", err)
	}
	if len(raw.Contexts) > 0 {
		cc.Context = ctxName
	}
	cc.REST = restCfg
	cc.Namespace = ns
	cc.Selector = f.Selector
	cc.AllNamespaces = f.AllNamespaces
	if f.AllNamespaces {
		cc.Namespace = ""
		return cc, nil
	}
	// A namespace name is a DNS label (k8s.io/apimachinery
	// pkg/api/validation/generic.go, ValidateNamespaceName); anything else
	// would only come back from every list call as an error.
	if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
		from := "from --namespace"
		switch {
		case f.Namespace != "":
		case cc.Context != "":
			from = fmt.Sprintf("from context %q", cc.Context)
		default:
			from = "the pod's, from POD_NAMESPACE or " + inClusterDir + "/namespace"
		}
		return cc, fmt.Errorf("invalid namespace %q (%s): %s", ns, from, strings.Join(msgs, "; "))
	}
	return cc, nil
}

// inClusterDir is where the kubelet mounts a pod's ServiceAccount token, CA
// and namespace, and where rest.InClusterConfig reads them (k8s.io/client-go
// rest/config.go, tokenFile and rootCAFile).
const inClusterDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// inClusterProblem says why the in-cluster configuration cannot be used, in
// the terms of clientcmd's inClusterClientConfig.Possible
// (k8s.io/client-go tools/clientcmd/client_config.go), or "" when it can.
func inClusterProblem() string {
	var unset []string
	for _, name := range []string{"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"} {
		if os.Getenv(name) == "" {
			unset = append(unset, name)
		}
	}
	switch len(unset) {
	case 2:
		return "not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)"
	case 1:
		return "not running in a pod (" + unset[0] + " is not set)"
	}
	if fi, err := os.Stat(inClusterDir + "/token"); err != nil || fi.IsDir() {
		return "KUBERNETES_SERVICE_HOST is set, but there is no service account token at " + inClusterDir +
			"/token (does the pod set automountServiceAccountToken: false?)"
	}
	return ""
}

// kubeconfigWhere names the kubeconfig files Load read, for messages.
func kubeconfigWhere(rules *clientcmd.ClientConfigLoadingRules) string {
	if rules.ExplicitPath != "" {
		return rules.ExplicitPath
	}
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		return "$KUBECONFIG (" + env + ")"
	}
	var paths []string
	for _, p := range rules.Precedence {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return strings.Join(paths, ", ")
}

// contextList names the contexts a kubeconfig has, for messages.
func contextList(raw clientcmdapi.Config) string {
	if len(raw.Contexts) == 0 {
		return "it has no contexts"
	}
	names := make([]string, 0, len(raw.Contexts))
	for name := range raw.Contexts {
		names = append(names, name)
	}
	sort.Strings(names)
	return "contexts: " + strings.Join(names, ", ")
}

// emptyConfigError explains clientcmd's "no configuration has been
// provided", which it returns for an incomplete kubeconfig as for none at
// all, when the in-cluster configuration cannot stand in. kubectl goes on to
// try localhost:8080; we say what is missing instead.
func emptyConfigError(raw clientcmdapi.Config, ctxName string, rules *clientcmd.ClientConfigLoadingRules) error {
	where := kubeconfigWhere(rules)
	if ctxName == "" {
		if len(raw.Contexts) > 0 {
			return fmt.Errorf("%s sets no current-context: choose one with --context NAME (%s), or set it with 'kubectl config use-context NAME'", where, contextList(raw))
		}
		return errNoKubeconfig(where)
	}
	kctx := raw.Contexts[ctxName] // Load checked that it exists
	cluster := raw.Clusters[kctx.Cluster]
	switch {
	case kctx.Cluster == "":
		return fmt.Errorf("context %q in %s names no cluster", ctxName, where)
	case cluster == nil:
		return fmt.Errorf("context %q in %s names cluster %q, which is not defined there", ctxName, where, kctx.Cluster)
	case cluster.Server == "":
		return fmt.Errorf("cluster %q (of context %q) in %s has no server", kctx.Cluster, ctxName, where)
	}
	return errNoKubeconfig(where)
}

// errNoKubeconfig says where we looked, why the pod's service account was
// no way in either, and what works without a cluster.
func errNoKubeconfig(where string) error {
	why := inClusterProblem()
	if why == "" {
		why = "the in-cluster configuration is not usable"
	}
	return fmt.Errorf("%w (looked in %s) and %s: "+
		"pass --kubeconfig FILE or set KUBECONFIG=FILE[:FILE...], or run 'proberctl lab', which needs no cluster", ErrNoKubeconfig, where, why)
}

// UsageError is a flag given a value it does not accept: the command was
// called wrong, so a command line exits 2 for it, as for its other usage
// errors (package main tells it by IsUsage, without importing kube).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// IsUsage marks the error as the caller's mistake in calling the command.
func (UsageError) IsUsage() bool { return true }

// CheckSelector refuses a -l/--selector the API server would refuse, as a
// UsageError that says what is accepted; "" selects everything.
func CheckSelector(sel string) error {
	if sel == "" {
		return nil
	}
	if _, err := labels.Parse(sel); err != nil {
		return UsageError{fmt.Errorf("invalid --selector %q: %w (accepted: key=value, key!=value, key in (a,b), key, !key, comma-separated)", sel, err)}
	}
	return nil
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
