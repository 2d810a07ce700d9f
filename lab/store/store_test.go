package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

func pod(name, gen string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, GenerateName: gen, Namespace: "default", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}},
	}
}

func TestCreateFillsServerFields(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	c := s.Client()
	p, err := c.CoreV1().Pods("default").Create(ctx, pod("", "web-"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Name, "web-") || len(p.Name) != len("web-")+5 {
		t.Errorf("name %q: want web- and 5 random characters", p.Name)
	}
	if p.UID == "" || p.CreationTimestamp.IsZero() || p.ResourceVersion == "" || p.Generation != 1 {
		t.Errorf("server fields not set: uid %q created %v rv %q generation %d", p.UID, p.CreationTimestamp, p.ResourceVersion, p.Generation)
	}
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %q, want Pending", p.Status.Phase)
	}
	if got := p.Spec.Containers[0].ImagePullPolicy; got != corev1.PullAlways {
		t.Errorf("imagePullPolicy %q for an untagged image, want Always", got)
	}
	got, err := c.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil || got.UID != p.UID || got.ResourceVersion != p.ResourceVersion {
		t.Fatalf("get after create: %v %+v", err, got.ObjectMeta)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod(p.Name, ""), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create of %s: %v, want AlreadyExists", p.Name, err)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod("", ""), metav1.CreateOptions{}); err == nil {
		t.Error("create without name or generateName succeeded")
	}
}

func TestUpdateSemantics(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	pods := s.Client().CoreV1().Pods("default")
	p, err := pods.Create(ctx, pod("a", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Status through the main resource is ignored; through status it lands.
	withStatus := p.DeepCopy()
	withStatus.Status.Phase = corev1.PodRunning
	withStatus.Labels["v"] = "2"
	u, err := pods.Update(ctx, withStatus, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Status.Phase != corev1.PodPending || u.Labels["v"] != "2" {
		t.Errorf("main update: phase %q labels %v; want Pending and the new label", u.Status.Phase, u.Labels)
	}
	rv1, _ := strconv.Atoi(p.ResourceVersion)
	rv2, _ := strconv.Atoi(u.ResourceVersion)
	if rv2 <= rv1 {
		t.Errorf("resourceVersion %d after update, was %d", rv2, rv1)
	}
	// A stale resourceVersion conflicts, as etcd's compare-and-swap does.
	if _, err := pods.Update(ctx, withStatus, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v, want Conflict", err)
	}
	st := u.DeepCopy()
	st.Status.Phase = corev1.PodRunning
	st.Labels["v"] = "3"
	u2, err := pods.UpdateStatus(ctx, st, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u2.Status.Phase != corev1.PodRunning || u2.Labels["v"] != "2" {
		t.Errorf("status update: phase %q labels %v; want Running and the old label", u2.Status.Phase, u2.Labels)
	}
	// Strategic merge patch of status, as the kubelet sends.
	patch := []byte(`{"status":{"podIP":"127.0.0.1"}}`)
	u3, err := pods.Patch(ctx, "a", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if u3.Status.PodIP != "127.0.0.1" || u3.Status.Phase != corev1.PodRunning {
		t.Errorf("patched status %+v", u3.Status)
	}
}

func TestDeploymentDefaultsAndGeneration(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	deps := s.Client().AppsV1().Deployments("default")
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i:1",
					LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}}}}},
		},
	}
	got, err := deps.Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ru := got.Spec.Strategy.RollingUpdate
	if got.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru.MaxSurge.String() != "25%" || ru.MaxUnavailable.String() != "25%" ||
		*got.Spec.RevisionHistoryLimit != 10 || *got.Spec.ProgressDeadlineSeconds != 600 || *got.Spec.Replicas != 1 {
		t.Errorf("deployment defaults: %+v", got.Spec)
	}
	pr := got.Spec.Template.Spec.Containers[0].LivenessProbe
	if pr.PeriodSeconds != 10 || pr.TimeoutSeconds != 1 || pr.FailureThreshold != 3 || pr.SuccessThreshold != 1 {
		t.Errorf("probe defaults: %+v", pr)
	}
	got.Labels = map[string]string{"a": "b"}
	got, err = deps.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || got.Generation != 1 {
		t.Fatalf("metadata-only update: generation %d, %v; want 1", got.Generation, err)
	}
	got.Spec.Replicas = ptr(int32(3))
	got, err = deps.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || got.Generation != 2 {
		t.Fatalf("spec update: generation %d, %v; want 2", got.Generation, err)
	}

	bad := d.DeepCopy()
	bad.Name = "bad"
	bad.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
	if _, err := deps.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("selector not matching the template: %v", err)
	}
}

func TestServiceAllocation(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	svcs := s.Client().CoreV1().Services("default")
	mk := func(name string, nodePort int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: nodePort}}}}
	}
	a, err := svcs.Create(ctx, mk("a", 30080), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec.ClusterIP == "" || a.Spec.Ports[0].TargetPort.IntValue() != 80 || a.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("service defaults: %+v", a.Spec)
	}
	for _, tc := range []struct {
		name string
		port int32
		want string
	}{
		{"taken", 30080, "already allocated"},
		{"range", 80, "valid range"},
	} {
		if _, err := svcs.Create(ctx, mk(tc.name, tc.port), metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	auto, err := svcs.Create(ctx, mk("auto", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := auto.Spec.Ports[0].NodePort; n < NodePortMin || n > NodePortMax || n == 30080 {
		t.Errorf("allocated node port %d", n)
	}
	if err := svcs.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, mk("again", 30080), metav1.CreateOptions{}); err != nil {
		t.Errorf("node port not freed by delete: %v", err)
	}
}

func TestGracefulPodDeletion(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	pods := s.Client().CoreV1().Pods("default")
	for _, name := range []string{"bound", "unbound"} {
		if _, err := pods.Create(ctx, pod(name, ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Target: corev1.ObjectReference{Kind: "Node", Name: "lab"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "unbound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unbound pod after delete: %v, want NotFound", err)
	}
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(5))}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "bound", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bound pod gone after a graceful delete: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 5 || p.Spec.NodeName != "lab" {
		t.Errorf("graceful delete: %+v", p.ObjectMeta)
	}
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after grace 0: %v, want NotFound", err)
	}
}

func TestGarbageCollection(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	c := s.Client()
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"}, Spec: appsv1.ReplicaSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: pod("", "").Spec}}}
	rs, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := pod("owned", "")
	owned.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}
	for _, p := range []*corev1.Pod{owned, pod("free", "")} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AppsV1().ReplicaSets("default").Delete(ctx, "rs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "owned pod collected", func() bool {
		_, err := c.CoreV1().Pods("default").Get(ctx, "owned", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := c.CoreV1().Pods("default").Get(ctx, "free", metav1.GetOptions{}); err != nil {
		t.Errorf("pod without owner collected: %v", err)
	}
}

// TestInformers checks that client-go's list+watch machinery, which the
// dashboard's watcher and the controllers use, sees creates, updates and
// deletes, including a burst far beyond the fake watcher's 100-event buffer.
func TestInformers(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := s.Client()
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod("before", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace("default"))
	inf := f.Core().V1().Pods().Informer()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("cache did not sync")
	}
	const n = 500
	for i := range n {
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod(fmt.Sprintf("p%d", i), ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lister := f.Core().V1().Pods().Lister()
	waitFor(t, "all pods in the informer cache", func() bool {
		l, _ := lister.List(labelsEverything())
		return len(l) == n+1
	})
	if err := c.CoreV1().Pods("default").Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delete seen", func() bool {
		_, err := lister.Pods("default").Get("before")
		return apierrors.IsNotFound(err)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func labelsEverything() labels.Selector { return labels.Everything() }

// TestSelectors: lists and watches honour label and field selectors as the
// apiserver does, including objects moving in and out of a watch's
// selection, and bad selectors are errors, not panics.
func TestSelectors(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ctx := context.Background()
	pods := s.Client().CoreV1().Pods("default")
	w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: "app=a"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	mk := func(name, app string) {
		p := pod(name, "")
		p.Labels = map[string]string{"app": app}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	relabel := func(name, app string) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Labels["app"] = app
		if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("a1", "a")
	mk("b1", "b")
	relabel("b1", "a") // enters the selection
	relabel("a1", "b") // leaves it
	want := []string{"ADDED a1", "ADDED b1", "DELETED a1"}
	var got []string
	for len(got) < len(want) {
		select {
		case ev := <-w.ResultChan():
			got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Object.(*corev1.Pod).Name))
		case <-time.After(5 * time.Second):
			t.Fatalf("watch events %q, want %q", got, want)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("watch events %q, want %q", got, want)
	}

	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a1"}, Target: corev1.ObjectReference{Name: "lab"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=lab"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Name != "a1" {
		t.Errorf("list by spec.nodeName: %v %v", l, err)
	}
	// (A malformed selector is not tried: the fake's typed client parses
	// it, and panics, before any reactor runs; kube.Watcher validates
	// selectors before it lists.)
	if _, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.nope=x"}); err == nil || !strings.Contains(err.Error(), "field label not supported") {
		t.Errorf("list by an unknown field: %v", err)
	}
}
