package manifest

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/lab/store"
)

func names(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, metaOf(o.Obj).GetName())
	}
	return out
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		paths   []string
		want    []string
		wantErr []string // substrings the error must hold
	}{
		{name: "multi-document file", paths: []string{"testdata/multi.yaml"}, want: []string{"web", "web"}},
		{name: "directory in name order, other files skipped", paths: []string{"testdata/dir"}, want: []string{"a", "b"}},
		{name: "repeated -f", paths: []string{"testdata/dir/b.yaml", "testdata/dir/a.yml"}, want: []string{"b", "a"}},
		{name: "unsupported kind", paths: []string{"testdata/configmap.yaml"},
			wantErr: []string{"testdata/configmap.yaml (document 2)", "kind ConfigMap", "Deployment"}},
		{name: "unknown field", paths: []string{"testdata/typo.yaml"}, wantErr: []string{"testdata/typo.yaml", "containerz"}},
		{name: "no name", paths: []string{"testdata/noname.yaml"}, wantErr: []string{"noname.yaml", "metadata.name"}},
		{name: "no kind", paths: []string{"testdata/nokind.yaml"}, wantErr: []string{"nokind.yaml", "apiVersion and kind are required"}},
		{name: "missing file", paths: []string{"testdata/absent.yaml"}, wantErr: []string{"testdata/absent.yaml", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Load(tc.paths...)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; want one holding %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not hold %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(objs); !slices.Equal(got, tc.want) {
				t.Errorf("objects %v, want %v", got, tc.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	s := store.New(store.Options{})
	defer s.Close()
	ctx := context.Background()
	c := s.Client()
	objs, err := Load(filepath.Join("testdata", "multi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := Apply(ctx, c, "default", objs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deployment.apps/web created", "service/web created"}
	if !slices.Equal(lines, want) {
		t.Errorf("first apply: %q, want %q", lines, want)
	}
	svc, err := c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP

	objs, _ = Load(filepath.Join("testdata", "multi.yaml"))
	lines, err = Apply(ctx, c, "default", objs)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"deployment.apps/web unchanged", "service/web unchanged"}; !slices.Equal(lines, want) {
		t.Errorf("second apply: %q, want %q", lines, want)
	}

	objs, _ = Load(filepath.Join("testdata", "multi.yaml"))
	objs[0].Obj.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "CONTENT", Value: "v2"}}
	lines, err = Apply(ctx, c, "default", objs)
	if err != nil {
		t.Fatal(err)
	}
	if lines[0] != "deployment.apps/web configured" {
		t.Errorf("changed template: %q", lines[0])
	}
	d, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 2 || d.Spec.Template.Spec.Containers[0].Env[0].Value != "v2" {
		t.Errorf("after apply: generation %d env %v", d.Generation, d.Spec.Template.Spec.Containers[0].Env)
	}
	svc, _ = c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if svc.Spec.ClusterIP != ip || svc.Spec.Ports[0].NodePort != 30090 {
		t.Errorf("service allocations changed by apply: %s %d", svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
	}
}

// TestApplyKeepsControllerAnnotations checks that an apply leaves the
// annotations the Deployment controller wrote, as a server-side apply
// would, and still removes one the manifest set before and no longer does.
func TestApplyKeepsControllerAnnotations(t *testing.T) {
	s := store.New(store.Options{})
	defer s.Close()
	ctx := context.Background()
	c := s.Client()
	objs, err := Load(filepath.Join("testdata", "multi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs[0].Obj.(*appsv1.Deployment).Annotations = map[string]string{"team": "foo"}
	if _, err := Apply(ctx, c, "default", objs); err != nil {
		t.Fatal(err)
	}
	// What the controller writes after its sync.
	d, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Annotations["deployment.kubernetes.io/revision"] = "1"
	if _, err := c.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	objs, _ = Load(filepath.Join("testdata", "multi.yaml"))
	objs[0].Obj.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "CONTENT", Value: "v2"}}
	if _, err := Apply(ctx, c, "default", objs); err != nil {
		t.Fatal(err)
	}
	d, err = c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"deployment.kubernetes.io/revision": "1"}
	if !maps.Equal(d.Annotations, want) {
		t.Errorf("annotations after the second apply: %v, want %v (the controller's kept, the manifest's dropped one gone)", d.Annotations, want)
	}
}

// TestApplyInvalid checks that Apply hands on the store's refusal as the
// apiserver's StatusError, naming the file, and leaves what is running
// alone: here a Deployment whose selector changed, which apps/v1 forbids.
func TestApplyInvalid(t *testing.T) {
	s := store.New(store.Options{})
	defer s.Close()
	ctx := context.Background()
	c := s.Client()
	path := filepath.Join("testdata", "multi.yaml")
	objs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, c, "default", objs); err != nil {
		t.Fatal(err)
	}
	objs, _ = Load(path)
	d := objs[0].Obj.(*appsv1.Deployment)
	d.Spec.Selector.MatchLabels["tier"] = "web"
	d.Spec.Template.Labels["tier"] = "web"
	_, err = Apply(ctx, c, "default", objs)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("apply of a changed selector: %v, want an Invalid StatusError", err)
	}
	for _, w := range []string{path, `Deployment.apps "web" is invalid: spec.selector: Invalid value: `, "field is immutable"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	got, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Spec.Selector.MatchLabels["tier"]; ok || got.Generation != 1 {
		t.Errorf("the refused apply changed the Deployment: selector %v, generation %d", got.Spec.Selector.MatchLabels, got.Generation)
	}
}
