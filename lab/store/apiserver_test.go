package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/kube/kubetest"
	"github.com/proberctl/proberctl/lab/controller"
	"github.com/proberctl/proberctl/lab/manifest"
	"github.com/proberctl/proberctl/lab/store"
)

// TestDefaultsMatchAPIServer applies the demo to a real kube-apiserver
// 1.37.2 and to the lab's store and compares what each stored: the
// Deployment's spec (its pod template included, so the pod-template-hash
// and pod names match a cluster's), a pod made from its template, and the
// Service's spec but for the addresses each allocates.
func TestDefaultsMatchAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	// A namespace of its own: the control plane is shared, and with
	// -count=2 a fixed name exists already on the second run.
	ns := env.Namespace(t)
	// The demo's Service takes node port 30080 on the shared apiserver;
	// give it back, or the next run (-count=2) is refused the port.
	t.Cleanup(func() {
		if err := env.Client.CoreV1().Services(ns).Delete(context.Background(), "foo-nodeport-svc", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete the demo's service: %v", err)
		}
	})
	s := store.New(store.Options{})
	defer s.Close()
	apply := func(c kubernetes.Interface) {
		objs, err := manifest.LoadFS(demo.FS, demo.Service, demo.Stage1)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if m, ok := o.Obj.(metav1.Object); ok {
				m.SetNamespace(ns)
			}
		}
		if _, err := manifest.Apply(ctx, c, ns, objs); err != nil {
			t.Fatal(err)
		}
	}
	apply(env.Client)
	apply(s.Client())

	real, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "prober-foo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lab, err := s.Client().AppsV1().Deployments(ns).Get(ctx, "prober-foo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(real.Spec, lab.Spec) {
		t.Errorf("Deployment spec differs (- apiserver, + lab):\n%s", diff.Diff(real.Spec, lab.Spec))
	}
	if r, l := controller.ComputeHash(&real.Spec.Template, nil), controller.ComputeHash(&lab.Spec.Template, nil); r != l {
		t.Errorf("pod-template-hash %s in the lab, %s on the apiserver's template", l, r)
	}

	// A pod from the template, as the ReplicaSet controller makes it: the
	// lab adds what the default admission plugins add, except the service
	// account token volume (the lab has no tokens).
	if err := kubetest.EnsureServiceAccount(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns, Labels: real.Spec.Template.Labels}, Spec: *real.Spec.Template.Spec.DeepCopy()}
	rp, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod.DeepCopy(), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := s.Client().CoreV1().Pods(ns).Create(ctx, pod.DeepCopy(), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rps := rp.Spec.DeepCopy()
	rps.Volumes = nil
	for i := range rps.Containers {
		rps.Containers[i].VolumeMounts = nil
	}
	if !equality.Semantic.DeepEqual(*rps, lp.Spec) {
		t.Errorf("Pod spec differs (- apiserver without the token volume, + lab):\n%s", diff.Diff(*rps, lp.Spec))
	}
	if rp.Status.Phase != lp.Status.Phase || rp.Status.QOSClass != lp.Status.QOSClass {
		t.Errorf("new pod status: apiserver %s/%s, lab %s/%s", rp.Status.Phase, rp.Status.QOSClass, lp.Status.Phase, lp.Status.QOSClass)
	}

	rs, err := env.Client.CoreV1().Services(ns).Get(ctx, "foo-nodeport-svc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := s.Client().CoreV1().Services(ns).Get(ctx, "foo-nodeport-svc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsp, lsp := rs.Spec.DeepCopy(), ls.Spec.DeepCopy()
	rsp.ClusterIP, rsp.ClusterIPs, lsp.ClusterIP, lsp.ClusterIPs = "", nil, "", nil
	if !equality.Semantic.DeepEqual(rsp, lsp) {
		t.Errorf("Service spec differs (- apiserver, + lab):\n%s", diff.Diff(rsp, lsp))
	}
}

// TestValidationMatchesAPIServer makes each write of the validation table
// on a real kube-apiserver 1.37.2 and on the lab's store: both accept it or
// both refuse it with the same StatusError (reason Invalid, kind, name,
// message and causes), and the apiserver's causes are the table's, so
// TestValidation, which runs without a control plane, checks the
// apiserver's texts too.
func TestValidationMatchesAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	// A namespace of its own (with the service account the admission
	// plugin looks up before validation runs): the control plane is
	// shared, and with -count=2 a fixed name exists already.
	ns := env.Namespace(t)
	s := store.New(store.Options{})
	defer s.Close()
	for i, tc := range validationCases() {
		t.Run(tc.name, func(t *testing.T) {
			realErr := tc.run(ctx, env.Client, ns, caseName(i), t)
			labErr := tc.run(ctx, s.Client(), ns, caseName(i), t)
			rc, err := causes(realErr)
			if err != nil {
				t.Fatalf("apiserver: %v", err)
			}
			if !slices.Equal(rc, tc.want) {
				t.Errorf("the apiserver's causes:\n  %s\nthe table's:\n  %s", strings.Join(rc, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if realErr == nil && labErr == nil {
				return
			}
			var rs, ls *apierrors.StatusError
			if !errors.As(realErr, &rs) || !errors.As(labErr, &ls) {
				t.Fatalf("apiserver: %v\nlab:       %v", realErr, labErr)
			}
			r, l := rs.ErrStatus, ls.ErrStatus
			if r.Reason != l.Reason || r.Code != l.Code || r.Message != l.Message {
				t.Errorf("apiserver: %s %d %s\nlab:       %s %d %s", r.Reason, r.Code, r.Message, l.Reason, l.Code, l.Message)
			}
			if !equality.Semantic.DeepEqual(r.Details, l.Details) {
				t.Errorf("details differ (- apiserver, + lab):\n%s", diff.Diff(r.Details, l.Details))
			}
		})
	}
}
