package kube

// The in-cluster fallback, tested as a pod meets it: no kubeconfig, the
// KUBERNETES_SERVICE_HOST/PORT variables the kubelet sets, and a
// ServiceAccount token, CA and namespace at the fixed paths
// rest.InClusterConfig reads (k8s.io/client-go rest/config.go, tokenFile and
// rootCAFile; the namespace file is read by clientcmd's
// inClusterClientConfig.Namespace in tools/clientcmd/client_config.go).
// Those paths cannot be pointed elsewhere, so the proberctl binary runs in a
// private mount namespace where a tmpfs holds them: the host's filesystem is
// never written.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/proberctl/proberctl/internal/syncbuf"
	"github.com/proberctl/proberctl/kube/kubetest"
)

// inClusterSADir is where the kubelet mounts a pod's ServiceAccount token.
const inClusterSADir = "/var/run/secrets/kubernetes.io/serviceaccount"

// inPodScript runs under `unshare --mount --propagation private`, so its
// mounts are seen by this process alone and vanish when it exits. It puts a
// tmpfs on the deepest directory of inClusterSADir that exists (on a host
// that is not itself a pod that is /run, through the /var/run symlink; the
// process under test talks to 127.0.0.1 and needs nothing there), creates
// the rest of the path on it, copies the files of directory $1 (none when
// $1 is empty) and execs the remaining arguments. mount -n keeps libmount
// from recording the mount in the host's /run/mount/utab.
const inPodScript = `set -eu
src=$1; shift
d=` + inClusterSADir + `
while [ -n "$d" ] && [ ! -d "$d" ]; do d=${d%/*}; done
mount -n -t tmpfs -o mode=0755,size=1m proberctl-incluster-test "$d"
mkdir -p ` + inClusterSADir + `
if [ -n "$src" ]; then cp "$src"/token "$src"/ca.crt "$src"/namespace ` + inClusterSADir + `/; fi
exec "$@"
`

// needInPodSandbox skips (fails with PROBERCTL_REQUIRE_INTEGRATION=1) unless
// the test can make a private mount namespace: root, and unshare and mount
// (Debian's util-linux and mount, both in the base system).
func needInPodSandbox(t *testing.T) {
	t.Helper()
	skip := func(msg string) {
		t.Helper()
		if os.Getenv(kubetest.EnvRequireIntegration) == "1" {
			t.Fatal("in-cluster test: " + msg + "; " + kubetest.EnvRequireIntegration + "=1 makes this a failure, not a skip")
		}
		t.Skip("in-cluster test skipped: " + msg)
	}
	if uid := os.Geteuid(); uid != 0 {
		skip(fmt.Sprintf("mounting the service account files in a private mount namespace needs root (running as uid %d)", uid))
	}
	for _, tool := range []string{"unshare", "mount", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(fmt.Sprintf("no %s command (Debian packages util-linux and mount)", tool))
		}
	}
}

// inPod returns a command running proberctl with args as a process in a pod
// sees the world: no kubeconfig (an empty HOME, no KUBECONFIG), the API
// server in KUBERNETES_SERVICE_HOST and _PORT, and the files of saFiles in
// inClusterSADir (an empty directory there when saFiles is "").
func inPod(ctx context.Context, t *testing.T, bin, apiHost, saFiles string, args ...string) *exec.Cmd {
	t.Helper()
	u, err := url.Parse(apiHost)
	if err != nil {
		t.Fatal(err)
	}
	cmdArgs := append([]string{"--mount", "--propagation", "private", "sh", "-c", inPodScript, "sh", saFiles, bin}, args...)
	cmd := exec.CommandContext(ctx, "unshare", cmdArgs...)
	// A fresh environment, so nothing of the test's own (KUBECONFIG,
	// POD_NAMESPACE) leaks in.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"KUBERNETES_SERVICE_HOST=" + u.Hostname(),
		"KUBERNETES_SERVICE_PORT=" + u.Port(),
	}
	return cmd
}

// serviceAccountFiles creates ServiceAccount name in ns, asks the TokenRequest
// API for a token of it, and writes what the kubelet would mount for it
// (token, ca.crt, namespace) into a new directory.
func serviceAccountFiles(ctx context.Context, t *testing.T, env *kubetest.Env, ns, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 600 s is the shortest lifetime the API server accepts
	// (k8s.io/kubernetes pkg/apis/authentication/validation, ValidateTokenRequest).
	tr, err := env.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, name, err)
	}
	dir := t.TempDir()
	for file, data := range map[string][]byte{
		"token":     []byte(tr.Status.Token),
		"ca.crt":    env.Config.CAData,
		"namespace": []byte(ns),
	} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitAuthorized waits until the API server's authorizer grants user the
// rules' list verbs in ns: RBAC reads its bindings from an informer, so a
// RoleBinding just created may not be in force yet, and the watch must not
// meet a refusal that is only a lag.
func waitAuthorized(ctx context.Context, t *testing.T, env *kubetest.Env, ns, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	for _, rule := range rules {
		for _, resource := range rule.Resources {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user,
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: "list", Group: rule.APIGroups[0], Resource: resource,
				},
			}}
			for {
				got, err := env.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("SubjectAccessReview: %v", err)
				}
				if got.Status.Allowed {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%s may still not list %s in %s: %+v", user, resource, ns, got.Status)
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
}

// jsonLines runs cmd and hands its stdout's JSON objects to the returned
// channel, which closes when stdout ends; stderr collects stderr.
func jsonLines(t *testing.T, cmd *exec.Cmd) (lines <-chan map[string]any, stderr *syncbuf.Buffer) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan map[string]any)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"kind": "not JSON", "line": sc.Text()}
			}
			ch <- m
		}
	}()
	return ch, stderr
}

// TestInCluster runs the proberctl binary as a pod would, and where there is
// neither a kubeconfig nor a pod's service account.
func TestInCluster(t *testing.T) {
	bin := needBinary(t)
	t.Run("watch", func(t *testing.T) { testInClusterWatch(t, bin) })
	t.Run("no cluster", func(t *testing.T) { testNoClusterError(t, bin) })
}

// testInClusterWatch runs "proberctl watch -o json" as a pod would, with a
// real ServiceAccount token from the TokenRequest API: it authenticates as
// the ServiceAccount, looks at the pod's namespace unless -n or -A says
// otherwise, and an identity without RBAC gets the Forbidden line.
func testInClusterWatch(t *testing.T, bin string) {
	needInPodSandbox(t)
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// "watcher" may read what the watcher lists in its own namespace only;
	// "nobody" has no role at all.
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "proberctl-watch"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "events", "services"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"replicasets", "deployments"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{discoveryv1.GroupName}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
	}}
	if _, err := env.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "proberctl-watch"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "watcher", Namespace: ns}}}
	if _, err := env.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAuthorized(ctx, t, env, ns, "system:serviceaccount:"+ns+":watcher", role.Rules)
	saFiles := map[string]string{
		"watcher": serviceAccountFiles(ctx, t, env, ns, "watcher"),
		"nobody":  serviceAccountFiles(ctx, t, env, ns, "nobody"),
	}

	const allKinds = "list pods, list events, list replicasets, list deployments, list endpointslices, list services"
	tests := []struct {
		name string
		sa   string
		args []string
		// wantForbidden is the Connection detail to wait for; "" means
		// the watch must sync, see a pod created in ns, and never be
		// refused.
		wantForbidden string
	}{
		{name: "the pod's namespace with its token", sa: "watcher"},
		{name: "no RBAC", sa: "nobody", wantForbidden: "RBAC refused " + allKinds + " in namespace " + ns + " (as system:serviceaccount:" + ns + ":nobody)"},
		{name: "-n wins over the pod's namespace", sa: "watcher", args: []string{"-n", "kube-system"}, wantForbidden: "RBAC refused " + allKinds + " in namespace kube-system (as system:serviceaccount:" + ns + ":watcher)"},
		{name: "-A", sa: "watcher", args: []string{"-A"}, wantForbidden: "RBAC refused " + allKinds + " in all namespaces (as system:serviceaccount:" + ns + ":watcher)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			args := append([]string{"watch", "-o", "json", "--for", "90s"}, tt.args...)
			cmd := inPod(ctx, t, bin, env.Config.Host, saFiles[tt.sa], args...)
			lines, stderr := jsonLines(t, cmd)
			defer func() {
				cmd.Process.Signal(os.Interrupt)
				for range lines { // drain so the process can exit
				}
				if err := cmd.Wait(); err != nil {
					t.Errorf("watch after an interrupt: %v, want exit 0; stderr:\n%s", err, stderr)
				}
			}()
			wait := func(what string, match func(map[string]any) bool) {
				t.Helper()
				for {
					select {
					case m, ok := <-lines:
						if !ok {
							t.Fatalf("watch ended before %s; stderr:\n%s", what, stderr)
						}
						if tt.wantForbidden == "" && m["kind"] == "Connection" && m["state"] == Forbidden.String() {
							t.Fatalf("refused before %s: %v", what, m)
						}
						if match(m) {
							return
						}
					case <-ctx.Done():
						t.Fatalf("no line for %s; stderr:\n%s", what, stderr)
					}
				}
			}
			if tt.wantForbidden != "" {
				wait("Forbidden: "+tt.wantForbidden, func(m map[string]any) bool {
					return m["kind"] == "Connection" && m["state"] == Forbidden.String() && m["detail"] == tt.wantForbidden
				})
				return
			}
			wait("the sync", func(m map[string]any) bool { return m["kind"] == "Synced" })
			pod := fmt.Sprintf("probe-%d", i)
			if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			wait("pod "+pod+" in namespace "+ns, func(m map[string]any) bool {
				return m["kind"] == "Pod" && m["name"] == pod && m["namespace"] == ns && m["status"] == "Pending"
			})
		})
	}
}

// testNoClusterError runs "proberctl watch" where there is no kubeconfig and
// no usable in-cluster configuration: it must exit 1 with one line that says
// where it looked, why the pod's service account was no way in, and what the
// user can do.
func testNoClusterError(t *testing.T, bin string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advice := "pass --kubeconfig FILE or set KUBECONFIG=FILE[:FILE...], or run 'proberctl lab', which needs no cluster"
	tests := []struct {
		name string
		// inPod runs it with KUBERNETES_SERVICE_HOST/PORT set and an empty
		// service account directory (a pod with
		// automountServiceAccountToken: false).
		inPod bool
		want  []string
	}{
		{name: "not in a pod", want: []string{
			"proberctl watch: no kubeconfig found (looked in ", "/.kube/config)",
			"and not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)", advice}},
		{name: "in a pod without a token", inPod: true, want: []string{
			"proberctl watch: no kubeconfig found (looked in ",
			"KUBERNETES_SERVICE_HOST is set, but there is no service account token at " + inClusterSADir + "/token (does the pod set automountServiceAccountToken: false?)", advice}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cmd *exec.Cmd
			if tt.inPod {
				needInPodSandbox(t)
				cmd = inPod(ctx, t, bin, "https://127.0.0.1:6443", "", "watch")
			} else {
				cmd = exec.CommandContext(ctx, bin, "watch")
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			}
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("watch: %v, want exit status 1; output:\n%s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n != 0 {
				t.Errorf("output has %d lines, want one:\n%s", n+1, out)
			}
		})
	}
}
