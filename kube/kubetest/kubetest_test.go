package kubetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/proberctl/proberctl/internal/testbin"
	"github.com/proberctl/proberctl/kube/kubetest"
	"github.com/proberctl/proberctl/kube/kubetest/netns"
)

func TestMain(m *testing.M) {
	code := kubetest.Run(m)
	testbin.Cleanup()
	os.Exit(code)
}

const probePort = 8080

// TestKubeletPodThroughProxy plays the kubelet for one pod whose IP is a
// network namespace running the probe server, and checks what a dashboard
// relies on: the status comes back through an informer and pods/proxy
// reaches the server.
func TestKubeletPodThroughProxy(t *testing.T) {
	env := kubetest.Start(t)
	host := netns.New(t)
	content := "probe server in " + host.Name
	startProbeServer(t, host, content)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.Namespace(t)

	// Watch first, so the status arrives as a watch event, as it does for
	// the dashboard.
	factory := informers.NewSharedInformerFactoryWithOptions(env.Client, 0, informers.WithNamespace(ns))
	pods := factory.Core().V1().Pods()
	deployments := factory.Apps().V1().Deployments()
	running := make(chan *corev1.Pod, 1)
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if pod := obj.(*corev1.Pod); pod.Status.Phase == corev1.PodRunning {
				select {
				case running <- pod:
				default:
				}
			}
		},
	})
	deployments.Informer() // register before Start
	factory.Start(ctx.Done())
	// Shutdown waits for the informers, which stop only when ctx is done.
	defer func() { cancel(); factory.Shutdown() }()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("informer cache for %v did not sync", typ)
		}
	}

	labels := map[string]string{"app": "probe"}
	container := corev1.Container{
		Name:  "probe",
		Image: "proberctl:test",
		Args:  []string{"serve"},
		Ports: []corev1.ContainerPort{{ContainerPort: probePort}},
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{container}},
			},
		},
	}
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe-0", Namespace: ns, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{container}},
	}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	patchRunning(ctx, t, env.Client, ns, pod.Name, host.Addr, host.HostAddr)

	var got *corev1.Pod
	select {
	case got = <-running:
	case <-ctx.Done():
		t.Fatalf("informer never saw pod %s/%s Running", ns, pod.Name)
	}
	if got.Status.PodIP != host.Addr.String() {
		t.Errorf("informer pod IP = %q, want %q", got.Status.PodIP, host.Addr)
	}
	if n := len(got.Status.ContainerStatuses); n != 1 || !got.Status.ContainerStatuses[0].Ready {
		t.Errorf("informer container statuses = %+v, want one ready container", got.Status.ContainerStatuses)
	}
	if got.Spec.ServiceAccountName != "default" {
		t.Errorf("pod service account = %q, want the admission plugin's %q", got.Spec.ServiceAccountName, "default")
	}
	if _, err := deployments.Lister().Deployments(ns).Get(dep.Name); err != nil {
		t.Errorf("deployment through the informer: %v", err)
	}

	// pods/proxy as the administrator and as a user granted exactly it.
	proxyUser := "proxy-user"
	grant(ctx, t, env.Client, ns, proxyUser, rbacv1.PolicyRule{
		APIGroups: []string{""}, Resources: []string{"pods/proxy"}, Verbs: []string{"get"},
	})
	for _, tc := range []struct {
		name   string
		client kubernetes.Interface
	}{
		{"admin", env.Client},
		{"user granted pods/proxy", clientFor(t, env, proxyUser)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := tc.client.CoreV1().Pods(ns).ProxyGet("http", pod.Name, fmt.Sprint(probePort), "/", nil).DoRaw(ctx)
			if err != nil {
				t.Fatalf("GET pods/%s:%d/proxy/: %v", pod.Name, probePort, err)
			}
			if !strings.Contains(string(body), content) {
				t.Errorf("GET pods/%s:%d/proxy/ = %q, want it to contain %q", pod.Name, probePort, body, content)
			}
		})
	}
}

// TestPodsProxyForbidden checks that RBAC guards pods/proxy separately from
// pods, and that the refusal names the verb and the subresource, which is
// what the dashboard shows a user who lacks the permission.
func TestPodsProxyForbidden(t *testing.T) {
	env := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.Namespace(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "target", Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "proberctl:test"}}},
	}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}

	for _, tc := range []struct {
		name     string
		user     string
		rules    []rbacv1.PolicyRule
		readPods bool // the rules allow GET on the pod itself
	}{
		{name: "no role", user: "nobody"},
		{
			name:     "may read pods",
			user:     "pod-reader",
			rules:    []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
			readPods: true,
		},
		{
			name:  "may proxy services only",
			user:  "service-proxier",
			rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grant(ctx, t, env.Client, ns, tc.user, tc.rules...)
			client := clientFor(t, env, tc.user)

			_, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			if tc.readPods && err != nil {
				t.Errorf("GET pod: %v, want allowed", err)
			}
			if !tc.readPods && !apierrors.IsForbidden(err) {
				t.Errorf("GET pod: %v, want Forbidden", err)
			}

			// Through the REST client and Result.Error rather than
			// ProxyGet: ProxyGet's DoRaw returns an error without the
			// server's Status message (client-go rest/request.go,
			// transformResponse and Result.Error).
			err = client.CoreV1().RESTClient().Get().
				Namespace(ns).Resource("pods").SubResource("proxy").
				Name(utilnet.JoinSchemeNamePort("http", pod.Name, fmt.Sprint(probePort))).Suffix("/").
				Do(ctx).Error()
			if !apierrors.IsForbidden(err) {
				t.Fatalf("GET pods/proxy: %v, want Forbidden", err)
			}
			// k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go, forbiddenMessage.
			want := fmt.Sprintf("User %q cannot get resource %q in API group %q in the namespace %q", tc.user, "pods/proxy", "", ns)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("GET pods/proxy error = %q, want it to contain %q", err, want)
			}
		})
	}
}

// TestStartSkipsWithoutBinaries runs a test binary's worth of Start without
// PROBERCTL_CONTROLPLANE, in a child process, and checks the one-line skip
// and that PROBERCTL_REQUIRE_INTEGRATION=1 turns it into a failure.
func TestStartSkipsWithoutBinaries(t *testing.T) {
	if os.Getenv("KUBETEST_CHILD") == "1" {
		kubetest.Start(t)
		t.Fatal("Start returned without binaries")
	}
	for _, tc := range []struct {
		name     string
		env      []string
		wantFail bool
		wantLine string
	}{
		{"unset skips", nil, false, "PROBERCTL_CONTROLPLANE is not set; run `make test`"},
		{"unset and required fails", []string{"PROBERCTL_REQUIRE_INTEGRATION=1"}, true, "makes this a failure"},
		{"empty dir skips", []string{"PROBERCTL_CONTROLPLANE=" + t.TempDir()}, false, "no executable etcd in PROBERCTL_CONTROLPLANE="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestStartSkipsWithoutBinaries$", "-test.v")
			cmd.Env = append(filteredEnv(), "KUBETEST_CHILD=1")
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.wantFail {
				t.Errorf("child failed = %v (%v), want %v; output:\n%s", failed, err, tc.wantFail, out)
			}
			if !strings.Contains(string(out), tc.wantLine) {
				t.Errorf("child output lacks %q:\n%s", tc.wantLine, out)
			}
			if !tc.wantFail && !strings.Contains(string(out), "--- SKIP") {
				t.Errorf("child did not skip:\n%s", out)
			}
		})
	}
}

// filteredEnv is the environment without the variables the child must not
// inherit from `make test`.
func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, kubetest.EnvControlPlane+"=") && !strings.HasPrefix(kv, kubetest.EnvRequireIntegration+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// patchRunning patches the pod's status the way the kubelet reports a
// started, ready container (a strategic merge patch on the status
// subresource, as pkg/kubelet/status/status_manager.go sends it).
func patchRunning(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string, podIP, hostIP netip.Addr) {
	t.Helper()
	now := metav1.Now()
	status := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    hostIP.String(),
		HostIPs:   []corev1.HostIP{{IP: hostIP.String()}},
		PodIP:     podIP.String(),
		PodIPs:    []corev1.PodIP{{IP: podIP.String()}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name:         "probe",
			Image:        "proberctl:test",
			ImageID:      "proberctl:test@sha256:0000000000000000000000000000000000000000000000000000000000000000",
			ContainerID:  "containerd://kubetest-probe-0",
			Ready:        true,
			Started:      ptr.To(true),
			RestartCount: 0,
			State:        corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		}},
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		t.Fatalf("encode status patch: %v", err)
	}
	if _, err := client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("patch pod %s/%s status: %v", ns, name, err)
	}
}

// grant binds user to a Role with rules in ns (nothing when rules is empty).
func grant(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	if len(rules) == 0 {
		return
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns}, Rules: rules}
	if _, err := client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role %s: %v", user, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role binding %s: %v", user, err)
	}
}

func clientFor(t *testing.T, env *kubetest.Env, user string) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(env.RestrictedConfig(t, user))
	if err != nil {
		t.Fatalf("clientset for %s: %v", user, err)
	}
	return client
}

// startProbeServer builds proberctl and runs `proberctl serve` inside host
// on probePort, answering GET / with content, and waits until it answers.
func startProbeServer(t *testing.T, host *netns.Host, content string) {
	t.Helper()
	cmd := host.Command(testbin.Build(t, testbin.Options{}), "serve")
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", probePort), "CONTENT="+content)
	log, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	exited := host.Start(t, cmd)

	url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(host.Addr, probePort))
	client := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), content) {
				return
			}
		}
		select {
		case <-exited:
			logs, _ := os.ReadFile(log.Name())
			t.Fatalf("probe server exited before answering on %s:\n%s", url, logs)
		case <-deadline.C:
			t.Fatalf("probe server did not answer on %s within 30s", url)
		case <-tick.C:
		}
	}
}
