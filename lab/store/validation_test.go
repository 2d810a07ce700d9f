package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/lab/store"
)

// TestValidation runs the validation table against the lab's store alone,
// so it runs without a control plane; TestValidationMatchesAPIServer holds
// the same table against a real kube-apiserver.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	s := store.New(store.Options{})
	defer s.Close()
	const ns = "lab-validation"
	for i, tc := range validationCases() {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(ctx, s.Client(), ns, caseName(i), t)
			got, cerr := causes(err)
			if cerr != nil {
				t.Fatal(cerr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("causes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestValidationMessage checks the error a bad manifest gets reads as
// kubectl prints the apiserver's: kind, name, then the causes.
func TestValidationMessage(t *testing.T) {
	ctx := context.Background()
	s := store.New(store.Options{})
	defer s.Close()
	d := loadDemo(t, "default", "prober-foo").deployment
	d.Spec.Template.Spec.Containers[0].LivenessProbe.PeriodSeconds = -1
	d.Spec.Template.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2
	_, err := s.Client().AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	want := `Deployment.apps "prober-foo" is invalid: [` +
		`spec.template.spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0, ` +
		`spec.template.spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1]`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n  %v\nwant:\n  %s", err, want)
	}
}

// TestNegativePodGracePeriod checks a pod's negative
// terminationGracePeriodSeconds is stored as 1, as SetDefaults_Pod does,
// while a template keeps what it says.
func TestNegativePodGracePeriod(t *testing.T) {
	ctx := context.Background()
	s := store.New(store.Options{})
	defer s.Close()
	objs := loadDemo(t, "default", "prober-foo")
	g := int64(-5)
	objs.pod.Spec.TerminationGracePeriodSeconds = &g
	objs.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds = &g
	p, err := s.Client().CoreV1().Pods("default").Create(ctx, objs.pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Spec.TerminationGracePeriodSeconds; got == nil || *got != 1 {
		t.Errorf("pod terminationGracePeriodSeconds %v, want 1", got)
	}
	d, err := s.Client().AppsV1().Deployments("default").Create(ctx, objs.deployment, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.TerminationGracePeriodSeconds; got == nil || *got != -5 {
		t.Errorf("template terminationGracePeriodSeconds %v, want -5", got)
	}
}
