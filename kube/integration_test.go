package kube

// Integration tests on a real etcd and kube-apiserver (package kubetest).
// They skip with one line unless PROBERCTL_CONTROLPLANE names the binaries;
// `make test` sets it.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/proberctl/proberctl/internal/syncbuf"
	"github.com/proberctl/proberctl/internal/testbin"
	"github.com/proberctl/proberctl/kube/kubetest"
	"github.com/proberctl/proberctl/kube/kubetest/netns"
)

func TestMain(m *testing.M) {
	// The outage tests make client-go's reflectors log their retries;
	// the watcher reports them as Conn changes, which the tests check.
	SilenceKlog(io.Discard)
	code := kubetest.Run(m)
	testbin.Cleanup()
	os.Exit(code)
}

// needBinary is the binary under test, built once per test process on
// first use. Call it before starting a deadline: the first call builds.
func needBinary(t *testing.T) string {
	t.Helper()
	return testbin.Build(t, testbin.Options{})
}

func clientset(t testing.TB, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serverRow is a pod's row as the API server prints it for kubectl: GET
// pods with Accept: as=Table (k8s.io/kubernetes pkg/printers/internalversion,
// printPod, run server side).
type serverRow struct{ Name, Ready, Status, Restarts, Age string }

func serverTable(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) (map[string]serverRow, time.Time, time.Time) {
	t.Helper()
	before := time.Now()
	raw, err := client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	after := time.Now()
	if err != nil {
		t.Fatalf("GET pods as Table: %v", err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatalf("decode Table: %v", err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got := strings.Join(names[:5], ","); got != "Name,Ready,Status,Restarts,Age" {
		t.Fatalf("server Table columns %v, want Name,Ready,Status,Restarts,Age first", names)
	}
	rows := map[string]serverRow{}
	for _, r := range table.Rows {
		cell := func(i int) string { return fmt.Sprint(r.Cells[i]) }
		rows[cell(0)] = serverRow{cell(0), cell(1), cell(2), cell(3), cell(4)}
	}
	return rows, before, after
}

// matchesServer compares our columns with the server's row. The server
// printed at some instant between before and after, so the clock-dependent
// cells (AGE, "(5m ago)") must equal ours at one of the two ends.
func matchesServer(pod *corev1.Pod, row serverRow, before, after time.Time) string {
	a, b := PodStatus(pod, before), PodStatus(pod, after)
	if a.Ready != row.Ready || a.Status != row.Status {
		return fmt.Sprintf("READY/STATUS %s %s, server %s %s", a.Ready, a.Status, row.Ready, row.Status)
	}
	if row.Restarts != a.Restarts && row.Restarts != b.Restarts {
		return fmt.Sprintf("RESTARTS %q..%q, server %q", a.Restarts, b.Restarts, row.Restarts)
	}
	if row.Age != a.Age && row.Age != b.Age {
		return fmt.Sprintf("AGE %q..%q, server %q", a.Age, b.Age, row.Age)
	}
	return ""
}

// TestPodStatusMatchesAPIServer puts every pod fixture into a real API
// server (spec on create, then the status as a kubelet writes it, then a
// deletion for the Terminating ones) and checks our columns against the
// server's own printing, which is kubectl's.
func TestPodStatusMatchesAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pods := env.Client.CoreV1().Pods(ns)

	files, err := filepath.Glob(filepath.Join("testdata", "pods", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no pod fixtures: %v", err)
	}
	for _, f := range files {
		fx := loadPod(t, f)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fx.Name, Labels: fx.Labels,
				// Holds deleted pods in Terminating: nothing here finishes them.
				Finalizers: []string{"proberctl.test/hold"}},
			Spec: fx.Spec,
		}
		created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: create: %v", f, err)
		}
		created.Status = fx.Status
		if len(fx.Status.PodIPs) > 0 {
			created.Status.PodIP = fx.Status.PodIPs[0].IP
		}
		if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("%s: update status: %v", f, err)
		}
		if fx.DeletionTimestamp != nil {
			if err := pods.Delete(ctx, fx.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](30)}); err != nil {
				t.Fatalf("%s: delete: %v", f, err)
			}
		}
	}

	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, before, after := serverTable(ctx, t, env.Client, ns)
	if len(rows) != len(files) || len(list.Items) != len(files) {
		t.Fatalf("server has %d rows and %d pods, want %d", len(rows), len(list.Items), len(files))
	}
	for i := range list.Items {
		p := &list.Items[i]
		row, ok := rows[p.Name]
		if !ok {
			t.Errorf("%s: no server row", p.Name)
			continue
		}
		if diff := matchesServer(p, row, before, after); diff != "" {
			t.Errorf("%s: %s", p.Name, diff)
		}
	}
}

// view helpers for the integration tests: wait on a watcher's batches.
func podIn(v *view, key string) *corev1.Pod {
	d, ok := v.objs[deltaKey{KindPod, key}]
	if !ok || d.Type != Upsert {
		return nil
	}
	return d.Obj.(*corev1.Pod)
}

// kubeletStatus is the status a kubelet writes for a one-container pod.
func kubeletStatus(ip string, ready bool, restarts int32, state corev1.ContainerState, last *corev1.ContainerStateTerminated) corev1.PodStatus {
	now := metav1.Now()
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now}
	}
	cs := corev1.ContainerStatus{Name: "app", Image: "proberctl:test", ImageID: "proberctl:test@sha256:" + strings.Repeat("0", 64),
		ContainerID: "containerd://app", Ready: ready, Started: ptr.To(state.Running != nil), RestartCount: restarts, State: state}
	if last != nil {
		cs.LastTerminationState.Terminated = last
	}
	return corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now,
		Conditions: []corev1.PodCondition{cond(corev1.PodScheduled, true), cond(corev1.PodInitialized, true),
			cond(corev1.ContainersReady, ready), cond(corev1.PodReady, ready)},
		ContainerStatuses: []corev1.ContainerStatus{cs},
	}
}

func setStatus(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string, st corev1.PodStatus) {
	t.Helper()
	pod, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = st
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status of %s: %v", name, err)
	}
}

// TestWatcherOnAPIServer: the watcher sees pods, kubelet-like status
// changes, events and replica sets on a real API server, and its columns
// match the server's after each change.
func TestWatcherOnAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := env.Client

	w := NewWatcher(clientset(t, env.Config), WatchOptions{Namespace: ns, LabelSelector: "app=foo"})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "sync", func(v *view) bool { return v.synced && v.conn.State == Connected })

	labels := map[string]string{"app": "foo", "version": "1.0.1"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "foo"}}
	dep, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "foo"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: dep.Name, UID: dep.UID, Controller: ptr.To(true)}}
	if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "foo-5d8f", OwnerReferences: owner, Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Selector: sel, Template: tmpl}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"foo-5d8f-a", "bar-1"} {
		lbl := labels
		if name == "bar-1" {
			lbl = map[string]string{"app": "bar"}
		}
		if _, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbl}, Spec: tmpl.Spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "foo-service"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "foo"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "foo-service-x",
		Labels: map[string]string{discoveryv1.LabelServiceName: "foo-service"}}, AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "foo-5d8f-a", Namespace: ns}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := ns + "/foo-5d8f-a"
	waitFor(t, w, v, "created objects", func(v *view) bool {
		return podIn(v, key) != nil && v.has(KindReplicaSet, ns+"/foo-5d8f", Upsert) && v.has(KindDeployment, ns+"/foo", Upsert) &&
			v.has(KindService, ns+"/foo-service", Upsert) && v.has(KindEndpointSlice, ns+"/foo-service-x", Upsert)
	})
	if podIn(v, ns+"/bar-1") != nil {
		t.Error("pod bar-1 shown despite -l app=foo")
	}
	if podIn(v, key).ManagedFields != nil {
		t.Error("managed fields not stripped")
	}

	// The kubelet's story of a liveness failure, step by step; after each
	// step our columns equal the server's.
	ip := "10.1.0.5"
	steps := []struct {
		name   string
		status corev1.PodStatus
		want   string // STATUS
	}{
		{"running, not ready yet", kubeletStatus(ip, false, 0, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}, nil), "Running"},
		{"ready", kubeletStatus(ip, true, 0, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}, nil), "Running"},
		{"killed by liveness, back-off", kubeletStatus(ip, false, 1, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			&corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(time.Now().Add(-90 * time.Second))}), "CrashLoopBackOff"},
		{"restarted", kubeletStatus(ip, true, 1, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
			&corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(time.Now().Add(-90 * time.Second))}), "Running"},
	}
	for _, s := range steps {
		setStatus(ctx, t, c, ns, "foo-5d8f-a", s.status)
		waitFor(t, w, v, s.name, func(v *view) bool {
			p := podIn(v, key)
			return p != nil && PodStatus(p, time.Now()).Status == s.want &&
				len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready == s.status.ContainerStatuses[0].Ready
		})
		rows, before, after := serverTable(ctx, t, c, ns)
		if diff := matchesServer(podIn(v, key), rows["foo-5d8f-a"], before, after); diff != "" {
			t.Errorf("%s: %s", s.name, diff)
		}
	}

	// Events: the kubelet's, then the same one counted again; a node's is
	// not shown.
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "foo-5d8f-a.1"}, Type: corev1.EventTypeWarning, Reason: "Unhealthy",
		Message:        "Liveness probe failed: HTTP probe failed with statuscode: 500",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "foo-5d8f-a", FieldPath: "spec.containers{app}"},
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"}, Count: 1,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now()}
	if ev, err = c.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "node-1.1"}, Reason: "NodeReady",
		InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-1", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev.Count = 2
	if _, err := c.CoreV1().Events(ns).Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "event counted twice", func(v *view) bool {
		d, ok := v.objs[deltaKey{KindEvent, ns + "/foo-5d8f-a.1"}]
		return ok && d.Obj.(*corev1.Event).Count == 2
	})
	if _, ok := v.objs[deltaKey{KindEvent, ns + "/node-1.1"}]; ok {
		t.Error("a Node's event was shown")
	}
	if err := c.CoreV1().Pods(ns).Delete(ctx, "foo-5d8f-a", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, v, "pod deletion", func(v *view) bool { return v.has(KindPod, key, Deleted) })
}

// startServe runs "proberctl serve" inside host on port 8080 and waits until
// it answers /healthz; the returned channel closes when it exits.
func startServe(t *testing.T, host *netns.Host) <-chan struct{} {
	t.Helper()
	cmd := host.Command(needBinary(t), "serve")
	cmd.Env = append(os.Environ(), "PORT=8080", "START_WAIT_SECS=0", "CRASH_FACTOR=0", "HEALTH_STATUS_FACTOR=0", "CONTENT=hello from "+host.Name)
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs // one writer: exec serialises its writes
	exited := host.Start(t, cmd)
	url := fmt.Sprintf("http://%s/healthz", netip.AddrPortFrom(host.Addr, 8080))
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return exited
			}
		}
		select {
		case <-exited:
			t.Fatalf("proberctl serve exited before answering %s; its output:\n%s", url, logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("proberctl serve did not answer %s within 30s; its output:\n%s", url, logs)
		}
	}
}

// runCLI runs the proberctl binary and returns its output and exit code.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin := needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run proberctl %v: %v", args, err)
	}
	return string(out), 0
}

// TestActionsThroughPodsProxy fires healthz, info, resolve and crash at a
// real "proberctl serve" in a network namespace, through a real API
// server's pods/proxy, from the library and from the CLI.
func TestActionsThroughPodsProxy(t *testing.T) {
	env := kubetest.Start(t)
	host := netns.New(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	exited := startServe(t, host)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe-0", Labels: map[string]string{"app": "probe"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test", Args: []string{"serve"},
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setStatus(ctx, t, env.Client, ns, "probe-0", kubeletStatus(host.Addr.String(), true, 0,
		corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}, nil))

	a, err := NewClusterActions(env.Config, WithDefaultNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Namespace: ns, Pod: "probe-0"}
	for _, tc := range []struct {
		name string
		fire func() Result
		body string // a substring
	}{
		{"healthz", func() Result { return a.Healthz(ctx, target) }, `"status"`},
		{"info", func() Result { return a.Info(ctx, target) }, `"hostname"`},
		{"resolve", func() Result { return a.Resolve(ctx, target, netip.AddrPortFrom(host.Addr, 8080).String()) }, "hello from " + host.Name},
	} {
		r := tc.fire()
		if !r.OK() || r.Code != 200 || !strings.Contains(r.Body, tc.body) || r.Latency <= 0 {
			t.Errorf("%s: code %d err %v latency %v body %q, want 200 with %q", tc.name, r.Code, r.Err, r.Latency, r.Body, tc.body)
		}
	}

	kubeconfig := kubetest.Kubeconfig(t, env.Config, ns)
	out, code := runCLI(t, "healthz", "--kubeconfig", kubeconfig, "probe-0")
	if code != 0 || !strings.Contains(out, "healthz "+ns+"/probe-0: HTTP 200") {
		t.Errorf("proberctl healthz: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, "resolve", "--kubeconfig", kubeconfig, "-n", ns, "probe-0", netip.AddrPortFrom(host.Addr, 8080).String())
	if code != 0 || !strings.Contains(out, "hello from "+host.Name) {
		t.Errorf("proberctl resolve: exit %d\n%s", code, out)
	}

	r := a.Crash(ctx, target)
	t.Logf("crash through the real API server: code %d note %q body %q err %v", r.Code, r.Note, r.Body, r.Err)
	if !r.OK() || r.Note != NoteContainerExited {
		t.Errorf("crash: code %d note %q err %v, want success with note %q", r.Code, r.Note, r.Err, NoteContainerExited)
	}
	select {
	case <-exited:
	case <-ctx.Done():
		t.Fatal("proberctl serve did not exit after the crash")
	}

	// Nothing listens now: healthz fails and says why.
	r = a.Healthz(ctx, target)
	t.Logf("healthz of the crashed server: code %d err %v", r.Code, r.Err)
	if r.OK() || !strings.Contains(r.Err.Error(), "connection refused") {
		t.Errorf("healthz after crash: code %d err %v, want a connection-refused failure", r.Code, r.Err)
	}
	out, code = runCLI(t, "healthz", "--kubeconfig", kubeconfig, "probe-0")
	if code != 1 || !strings.Contains(out, "connection refused") {
		t.Errorf("proberctl healthz after crash: exit %d, want 1\n%s", code, out)
	}

	// The CLI's crash, on a fresh server.
	exited = startServe(t, host)
	out, code = runCLI(t, "crash", "--kubeconfig", kubeconfig, "probe-0")
	if code != 0 || !strings.Contains(out, NoteContainerExited) {
		t.Errorf("proberctl crash: exit %d\n%s", code, out)
	}
	select {
	case <-exited:
	case <-ctx.Done():
		t.Fatal("proberctl serve did not exit after the CLI crash")
	}

	// Delete and apply.
	if r := a.Delete(ctx, target, ptr.To[int64](0)); !r.OK() {
		t.Errorf("delete: %v", r.Err)
	}
	for range 2 { // applying twice is a no-op the second time
		r := a.Apply(ctx, filepath.Join("testdata", "manifests", "dir"))
		if !r.OK() || r.Body != "configmap/one serverside-applied\nconfigmap/two serverside-applied" {
			t.Fatalf("apply: body %q err %v", r.Body, r.Err)
		}
	}
	cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "one", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.ManagedFields) == 0 || cm.ManagedFields[0].Manager != FieldManager || cm.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("configmap managed fields = %+v, want an Apply by %q", cm.ManagedFields, FieldManager)
	}
}

// TestForbiddenIsClear: an identity RBAC limits gets a Conn and errors that
// name what was refused.
func TestForbiddenIsClear(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "target"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}}
	if _, err := env.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "reader"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		user, want string
		pods       bool // may list pods: must get a Synced batch with the target
	}{
		{"nobody", "RBAC refused list pods, list events, list replicasets, list deployments, list endpointslices, list services in namespace " + ns + " (as nobody)", false},
		{"reader", "RBAC refused list events, list replicasets, list deployments, list endpointslices, list services in namespace " + ns + " (as reader)", true},
	} {
		t.Run(tc.user, func(t *testing.T) {
			w := NewWatcher(clientset(t, env.RestrictedConfig(t, tc.user)), WatchOptions{Namespace: ns})
			wctx, wcancel := context.WithCancel(ctx)
			defer wcancel()
			if err := w.Start(wctx); err != nil {
				t.Fatal(err)
			}
			v := newView()
			// Refusals arrive informer by informer; wait for all of them.
			waitFor(t, w, v, "forbidden", func(v *view) bool { return v.conn.State == Forbidden && v.conn.Detail == tc.want })
			if !tc.pods {
				if v.synced {
					t.Error("synced while pods cannot be listed")
				}
				return
			}
			// The refused kinds must not hold back the sync: the reader
			// sees its pods, and the refusal stays in the Conn.
			waitFor(t, w, v, "synced with the target pod", func(v *view) bool {
				return v.synced && v.has(KindPod, ns+"/target", Upsert)
			})
			if v.conn.State != Forbidden || v.conn.Detail != tc.want {
				t.Errorf("conn after sync = %v %q, want Forbidden %q", v.conn.State, v.conn.Detail, tc.want)
			}
		})
	}

	a, err := NewClusterActions(env.RestrictedConfig(t, "reader"), WithDefaultNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Namespace: ns, Pod: "target"}
	// k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors.go
	// forbiddenMessage names user, verb and resource.
	for _, tc := range []struct {
		name string
		r    Result
		want string
	}{
		{"healthz", a.Healthz(ctx, target), `forbidden by RBAC: User "reader" cannot get resource "pods/proxy" in API group "" in the namespace "` + ns + `"`},
		{"delete", a.Delete(ctx, target, nil), `forbidden by RBAC: User "reader" cannot delete resource "pods" in API group "" in the namespace "` + ns + `"`},
		{"apply", a.Apply(ctx, filepath.Join("testdata", "manifests", "dir")), `forbidden by RBAC: User "reader" cannot patch resource "configmaps" in API group "" in the namespace "` + ns + `"`},
	} {
		if tc.r.OK() || !strings.Contains(tc.r.Err.Error(), tc.want) || tc.r.Code != 403 {
			t.Errorf("%s: code %d err %v, want 403 with %q", tc.name, tc.r.Code, tc.r.Err, tc.want)
		}
	}
}

// tcpProxy forwards a loopback port to the API server and can be cut and
// restored on the same port: from the client's side that is the API server
// going away and coming back while the real one keeps running and accepting
// writes from others (a network partition).
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{addr: "127.0.0.1:0", target: target}
	p.up(t)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.conns = ln, ln.Addr().String(), map[net.Conn]bool{}
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

// down closes the listener and every connection through it.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// TestWatcherSurvivesAPIServerOutage: the connection to the API server is
// cut, the watcher says Disconnected with the dial error and keeps going,
// and when the server is back it says Connected and catches up on what
// changed meanwhile.
//
// TestWatcherSurvivesAPIServerRestart covers a real apiserver stop; this
// test stays for what that one cannot: a pod created while the watcher is
// cut off. With the apiserver itself down nothing can be written, so only a
// partition shows that the relist after reconnecting delivers changes the
// watcher missed, not just those made after it is back.
func TestWatcherSurvivesAPIServerOutage(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	proxy := newTCPProxy(t, strings.TrimPrefix(env.Config.Host, "https://"))
	cfg := rest.CopyConfig(env.Config)
	cfg.Host = "https://" + proxy.addr
	w := NewWatcher(clientset(t, cfg), WatchOptions{Namespace: ns})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "sync", func(v *view) bool { return v.synced && v.conn.State == Connected })

	proxy.down()
	waitFor(t, w, v, "disconnected", func(v *view) bool { return v.conn.State == Disconnected })
	t.Logf("while down: %s", v.conn.Detail)
	if !strings.Contains(v.conn.Detail, "connection refused") {
		t.Errorf("detail = %q, want the dial error", v.conn.Detail)
	}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "born-during-outage"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	proxy.up(t)
	waitFor(t, w, v, "recovery", func(v *view) bool {
		return v.conn.State == Connected && podIn(v, ns+"/born-during-outage") != nil
	})
}

// TestWatcherSurvivesAPIServerRestart stops the real kube-apiserver and
// starts it again on the same address (kubetest.StopAPIServer): the watcher
// says Disconnected with the reason while it is down, returns to Connected
// on its own once it is back, and delivers what changes after the restart.
// It stops the package's shared apiserver, so it must not call t.Parallel;
// StopAPIServer's cleanup starts it again should the test fail midway.
func TestWatcherSurvivesAPIServerRestart(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pods := env.Client.CoreV1().Pods(ns)
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}

	w := NewWatcher(clientset(t, env.Config), WatchOptions{Namespace: ns})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v := newView()
	waitFor(t, w, v, "sync", func(v *view) bool { return v.synced && v.conn.State == Connected })
	before, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "before-restart", Labels: map[string]string{"step": "1"}}, Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	beforeKey, afterKey := ns+"/before-restart", ns+"/after-restart"
	waitFor(t, w, v, "pod created before the restart", func(v *view) bool { return podIn(v, beforeKey) != nil })

	stopAt := time.Now()
	env.StopAPIServer(t)
	t.Logf("apiserver stopped in %s", time.Since(stopAt).Round(time.Millisecond))
	// Once the process is gone every new connection is refused; the
	// watcher's reflectors find that out on their next list or watch.
	var details []string
	waitFor(t, w, v, "disconnected, connection refused", func(v *view) bool {
		if v.conn.State == Disconnected && (len(details) == 0 || details[len(details)-1] != v.conn.Detail) {
			details = append(details, v.conn.Detail)
		}
		return v.conn.State == Disconnected && strings.Contains(v.conn.Detail, "connection refused")
	})
	t.Logf("while stopped: %q", details)
	const prefix = "API server unreachable, retrying: "
	for _, d := range details {
		if !strings.HasPrefix(d, prefix) {
			t.Errorf("disconnected detail %q, want it to start with %q", d, prefix)
		}
	}
	if addr := strings.TrimPrefix(env.Config.Host, "https://"); !strings.Contains(v.conn.Detail, addr) {
		t.Errorf("detail %q does not name the API server's address %s", v.conn.Detail, addr)
	}

	startAt := time.Now()
	env.StartAPIServer(t)
	t.Logf("apiserver ready again in %s", time.Since(startAt).Round(time.Millisecond))
	// The reflectors retry with a jittered back-off of up to twice 30 s
	// (client-go tools/cache/reflector.go, NewReflectorWithOptions, and
	// apimachinery wait.Backoff.Step apply jitter after the cap), so a
	// slow restart on a loaded machine can take longer than waitFor's 30 s.
	waitForWithin(t, 90*time.Second, w, v, "connected again", func(v *view) bool { return v.conn.State == Connected })
	t.Logf("watcher connected again %s after the start began", time.Since(startAt).Round(time.Millisecond))
	if v.conn.Detail != "" {
		t.Errorf("connected with detail %q, want none", v.conn.Detail)
	}

	// Changes after the restart arrive: a new pod, and a change to the one
	// the watcher had before the stop.
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}, Spec: spec}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a pod after the restart: %v", err)
	}
	before.Labels["step"] = "2"
	if _, err := pods.Update(ctx, before, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update the pod made before the restart: %v", err)
	}
	waitFor(t, w, v, "changes after the restart", func(v *view) bool {
		b := podIn(v, beforeKey)
		return podIn(v, afterKey) != nil && b != nil && b.Labels["step"] == "2"
	})
	if v.conn.State != Connected {
		t.Errorf("conn %v %q after the changes, want Connected", v.conn.State, v.conn.Detail)
	}
}

// TestWatchCommand runs "proberctl watch -o json" on the real API server: a
// pod's rows arrive as it changes, and an interrupt ends it with status 0.
func TestWatchCommand(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	bin := needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kubeconfig := kubetest.Kubeconfig(t, env.Config, ns)

	w := startWatchJSON(ctx, t, bin, "--kubeconfig", kubeconfig)
	w.waitLine("the sync", func(m map[string]any) bool { return m["kind"] == "Synced" })
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"version": "2.0"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.waitLine("the pending pod", func(m map[string]any) bool {
		return m["kind"] == "Pod" && m["name"] == "web-1" && m["status"] == "Pending" && m["ready"] == "0/1" && m["version"] == "2.0"
	})
	setStatus(ctx, t, env.Client, ns, "web-1", kubeletStatus("10.1.0.9", true, 0,
		corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}, nil))
	w.waitLine("the running pod", func(m map[string]any) bool {
		return m["kind"] == "Pod" && m["name"] == "web-1" && m["status"] == "Running" && m["ready"] == "1/1" && m["ip"] == "10.1.0.9"
	})
	if err := w.interrupt(); err != nil {
		t.Errorf("watch after an interrupt: %v, want exit 0; stderr:\n%s", err, w.stderr.String())
	}
}

// watchJSON is a running "proberctl watch -o json": its lines decoded one
// object at a time, and its stderr for failure messages.
type watchJSON struct {
	t      *testing.T
	ctx    context.Context
	cmd    *exec.Cmd
	lines  chan map[string]any
	stderr *syncbuf.Buffer
	// onLine, when set, sees every line waitLine reads, matching or not.
	onLine func(map[string]any)
}

// startWatchJSON starts "proberctl watch -o json --for 50s" with args; ctx
// bounds it.
func startWatchJSON(ctx context.Context, t *testing.T, bin string, args ...string) *watchJSON {
	t.Helper()
	w := &watchJSON{t: t, ctx: ctx, lines: make(chan map[string]any), stderr: &syncbuf.Buffer{}}
	w.cmd = exec.CommandContext(ctx, bin, append([]string{"watch", "-o", "json", "--for", "50s"}, args...)...)
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stderr = w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.lines)
		dec := json.NewDecoder(stdout)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return
			}
			w.lines <- m
		}
	}()
	return w
}

// waitLine reads lines until one matches; the watch ending or ctx running
// out first fails the test.
func (w *watchJSON) waitLine(what string, match func(map[string]any) bool) {
	w.t.Helper()
	for {
		select {
		case m, ok := <-w.lines:
			if !ok {
				w.t.Fatalf("watch ended before %s; stderr:\n%s", what, w.stderr.String())
			}
			if w.onLine != nil {
				w.onLine(m)
			}
			if match(m) {
				return
			}
		case <-w.ctx.Done():
			w.t.Fatalf("no line for %s; stderr:\n%s", what, w.stderr.String())
		}
	}
}

// interrupt ends the watch as Ctrl-C does and returns how it exited.
func (w *watchJSON) interrupt() error {
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		w.t.Fatal(err)
	}
	for range w.lines { // drain so the process can exit
	}
	return w.cmd.Wait()
}
