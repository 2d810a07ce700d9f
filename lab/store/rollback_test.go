package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/kube/kubetest"
	"github.com/proberctl/proberctl/lab/manifest"
	"github.com/proberctl/proberctl/lab/store"
)

// rollbackCase writes a Deployment whose deprecated.deployment.rollback.to
// annotation is value, by create, update or merge patch. The apiserver
// converts the annotation to the internal spec.rollbackTo.revision
// (pkg/apis/apps/v1/conversion.go), so a value that is no int64 cannot be
// decoded: 400 on create and update, 422 for the patch; "" is dropped and a
// number stored in its canonical form.
type rollbackCase struct {
	value  string
	method string // "create", "update", "patch"
	// Exactly one of these: the annotation as stored ("-" for none), or
	// the refusal.
	stored string
	refuse string // "BadRequest" or "Invalid"
}

var rollbackCases = []rollbackCase{
	{"abc", "create", "", "BadRequest"},
	{"abc", "update", "", "BadRequest"},
	{"abc", "patch", "", "Invalid"},
	{" 1", "create", "", "BadRequest"},
	{"1.5", "update", "", "BadRequest"},
	{"99999999999999999999", "patch", "", "Invalid"},
	{"", "create", "-", ""},
	{"", "patch", "-", ""},
	{"+05", "create", "5", ""},
	{"+05", "update", "5", ""},
	{"3", "patch", "3", ""},
}

// parseError is the conversion's error text for value.
func parseError(value string) string {
	why := "invalid syntax"
	if value == "99999999999999999999" {
		why = "value out of range"
	}
	return fmt.Sprintf("failed to parse annotation[deprecated.deployment.rollback.to]=%s as int64: strconv.ParseInt: parsing %q: %s", value, value, why)
}

// run makes the case's write in namespace ns under name and returns its
// error and, if accepted, the annotation as stored ("-" for none).
func (tc rollbackCase) run(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string) (string, error) {
	t.Helper()
	objs, err := manifest.LoadFS(demo.FS, demo.Stage1)
	if err != nil {
		t.Fatal(err)
	}
	var d *appsv1.Deployment
	for _, o := range objs {
		if x, ok := o.Obj.(*appsv1.Deployment); ok {
			d = x.DeepCopy()
		}
	}
	d.Namespace, d.Name = ns, name
	api := c.AppsV1().Deployments(ns)
	var got *appsv1.Deployment
	switch tc.method {
	case "create":
		d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: tc.value}
		got, err = api.Create(ctx, d, metav1.CreateOptions{})
	case "update", "patch":
		cur, cerr := api.Create(ctx, d, metav1.CreateOptions{})
		if cerr != nil {
			t.Fatal(cerr)
		}
		if tc.method == "update" {
			cur.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: tc.value}
			got, err = api.Update(ctx, cur, metav1.UpdateOptions{})
			break
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, appsv1.DeprecatedRollbackTo, tc.value)
		got, err = api.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	}
	if err != nil {
		return "", err
	}
	// What a later read returns, not only the write's answer.
	if got, err = api.Get(ctx, got.Name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Annotations[appsv1.DeprecatedRollbackTo]; ok {
		return v, nil
	}
	return "-", nil
}

// check holds a write's outcome against the case's.
func (tc rollbackCase) check(t *testing.T, who, stored string, err error) {
	t.Helper()
	if tc.refuse == "" {
		if err != nil || stored != tc.stored {
			t.Errorf("%s: stored %q, error %v; want %q stored", who, stored, err, tc.stored)
		}
		return
	}
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("%s: error %v, want a %s StatusError", who, err, tc.refuse)
	}
	st := se.ErrStatus
	switch tc.refuse {
	case "BadRequest":
		want := `Deployment in version "v1" cannot be handled as a Deployment: ` + parseError(tc.value)
		if st.Reason != metav1.StatusReasonBadRequest || st.Code != 400 || st.Message != want || st.Details != nil {
			t.Errorf("%s: %s %d %q details %v; want BadRequest 400 %q, no details", who, st.Reason, st.Code, st.Message, st.Details, want)
		}
	case "Invalid":
		// The cause quotes the whole patched object, which differs
		// between the two (managedFields, times); its form and the
		// reason at its end do not.
		if st.Reason != metav1.StatusReasonInvalid || st.Code != 422 || st.Details == nil || len(st.Details.Causes) != 1 ||
			st.Details.Name != "" || st.Details.Kind != "" {
			t.Fatalf("%s: %s %d details %+v; want Invalid 422 with one cause, no kind or name", who, st.Reason, st.Code, st.Details)
		}
		c := st.Details.Causes[0]
		if c.Field != "patch" || c.Type != metav1.CauseTypeFieldValueInvalid ||
			!strings.HasPrefix(c.Message, `Invalid value: "{`) || !strings.HasSuffix(c.Message, `}": `+parseError(tc.value)) {
			t.Errorf("%s: cause %s %s %q; want FieldValueInvalid on patch, the patched object, then %q", who, c.Type, c.Field, c.Message, parseError(tc.value))
		}
		if !strings.HasPrefix(st.Message, ` "" is invalid: patch: Invalid value: "{`) {
			t.Errorf("%s: message %q", who, st.Message)
		}
	}
}

// TestRollbackToAnnotation runs the table on the lab's store alone.
func TestRollbackToAnnotation(t *testing.T) {
	ctx := context.Background()
	s := store.New(store.Options{})
	defer s.Close()
	for i, tc := range rollbackCases {
		t.Run(fmt.Sprintf("%s %q", tc.method, tc.value), func(t *testing.T) {
			stored, err := tc.run(ctx, t, s.Client(), "default", fmt.Sprintf("rollback-%d", i))
			tc.check(t, "lab", stored, err)
		})
	}
}

// TestRollbackToAnnotationMatchesAPIServer runs it on a real kube-apiserver
// v1.37.2 too, where the table's outcomes come from.
func TestRollbackToAnnotationMatchesAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	for i, tc := range rollbackCases {
		t.Run(fmt.Sprintf("%s %q", tc.method, tc.value), func(t *testing.T) {
			stored, err := tc.run(ctx, t, env.Client, ns, fmt.Sprintf("rollback-%d", i))
			tc.check(t, "apiserver", stored, err)
		})
	}
}
