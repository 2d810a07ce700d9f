package store

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What the apiserver's conversion of a request to its internal version
// refuses or rewrites, for the kinds the lab stores.
//
// An apps/v1 Deployment's deprecated.deployment.rollback.to annotation
// becomes the internal spec.rollbackTo.revision on the way in and the
// annotation again on the way out (pkg/apis/apps/v1/conversion.go
// Convert_v1_Deployment_To_apps_Deployment and back). So a value that is not
// an int64 makes the object undecodable: a create or update is refused as a
// bad request (apiserver endpoints/handlers create.go and update.go,
// transformDecodeError), a patch whose result has it as an invalid patch
// (handlers/patch.go); an empty value is dropped, and a number is stored as
// its canonical form ("+05" becomes "5").

// convertIn applies the conversion to obj in place, or says why it fails.
func convertIn(obj runtime.Object) error {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return nil
	}
	v, ok := d.Annotations[appsv1.DeprecatedRollbackTo]
	if !ok {
		return nil
	}
	if v == "" {
		delete(d.Annotations, appsv1.DeprecatedRollbackTo)
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("failed to parse annotation[%s]=%s as int64: %v", appsv1.DeprecatedRollbackTo, v, err)
	}
	d.Annotations[appsv1.DeprecatedRollbackTo] = strconv.FormatInt(n, 10)
	return nil
}

// decodeBody is convertIn for a create or update body: a failure is the
// handlers' "<Kind> in version "v1" cannot be handled as a <Kind>".
func decodeBody(obj runtime.Object) error {
	err := convertIn(obj)
	if err == nil {
		return nil
	}
	gvk := kindOf(obj)
	return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
}

// decodePatched is convertIn for the result of a patch, given as the JSON
// the patch produced: a failure is an invalid "patch" of no kind or name.
func decodePatched(obj runtime.Object, patched []byte) error {
	err := convertIn(obj)
	if err == nil {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(patched), err.Error())})
}

func kindOf(obj runtime.Object) schema.GroupVersionKind {
	switch obj.(type) {
	case *appsv1.Deployment:
		return appsv1.SchemeGroupVersion.WithKind("Deployment")
	}
	return obj.GetObjectKind().GroupVersionKind()
}
