package store

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

// selector is a list or watch's label and field selectors. The fake
// clientset filters lists by label only and watches not at all; the
// apiserver filters both by both.
type selector struct {
	labels labels.Selector
	fields fields.Selector
}

func (s selector) everything() bool { return s.labels.Empty() && s.fields.Empty() }

func parseSelector(opts metav1.ListOptions) (selector, error) {
	l, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return selector{}, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	f, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return selector{}, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector %q: %v", opts.FieldSelector, err))
	}
	return selector{labels: l, fields: f}, nil
}

// fieldSet is the object's selectable fields, as the registry's
// GetAttrs/ToSelectableFields offer them (pkg/registry/core/pod/strategy.go,
// pkg/registry/core/event/strategy.go; every kind has metadata.name and
// metadata.namespace).
func fieldSet(obj runtime.Object) fields.Set {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	set := fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
	switch o := obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = o.Spec.NodeName
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		set["status.phase"] = string(o.Status.Phase)
		set["status.podIP"] = o.Status.PodIP
		set["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *corev1.Event:
		set["involvedObject.kind"] = o.InvolvedObject.Kind
		set["involvedObject.namespace"] = o.InvolvedObject.Namespace
		set["involvedObject.name"] = o.InvolvedObject.Name
		set["involvedObject.uid"] = string(o.InvolvedObject.UID)
		set["involvedObject.apiVersion"] = o.InvolvedObject.APIVersion
		set["involvedObject.resourceVersion"] = o.InvolvedObject.ResourceVersion
		set["involvedObject.fieldPath"] = o.InvolvedObject.FieldPath
		set["reason"] = o.Reason
		set["reportingComponent"] = o.ReportingController
		set["source"] = o.Source.Component
		set["type"] = o.Type
	}
	return set
}

// check refuses a field selector naming a field the kind does not offer,
// as the apiserver does ("field label not supported").
func (s selector) check(sample runtime.Object) error {
	set := fieldSet(sample)
	for _, r := range s.fields.Requirements() {
		if _, ok := set[r.Field]; !ok {
			return apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
		}
	}
	return nil
}

func (s selector) matches(obj runtime.Object) bool {
	if s.everything() {
		return true
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return s.labels.Matches(labels.Set(m.GetLabels())) && s.fields.Matches(fieldSet(obj))
}

// list serves a list with both selectors applied.
func (s *Store) list(a k8stesting.ListActionImpl) (runtime.Object, error) {
	sel, err := parseSelector(a.GetListOptions())
	if err != nil {
		return nil, err
	}
	gvk := a.GetKind()
	obj, err := s.tracker.List(a.GetResource(), gvk, a.GetNamespace(), a.GetListOptions())
	if err != nil || sel.everything() {
		return obj, err
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if sample, err := scheme.Scheme.New(gvk); err == nil {
		if err := sel.check(sample); err != nil {
			return nil, err
		}
	}
	var keep []runtime.Object
	for _, it := range items {
		if sel.matches(it) {
			keep = append(keep, it)
		}
	}
	if err := meta.SetList(obj, keep); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return obj, nil
}

// filter turns a watch's events into what a watch with sel sees: an object
// that starts matching is Added, one that stops matching is Deleted, and
// the rest are dropped (staging/src/k8s.io/apiserver/pkg/storage/cacher,
// the watch filter's transitions).
type filter struct {
	sel     selector
	matched map[string]bool
}

func newFilter(sel selector) *filter {
	if sel.everything() {
		return nil
	}
	return &filter{sel: sel, matched: map[string]bool{}}
}

func (f *filter) apply(ev watch.Event) (watch.Event, bool) {
	if f == nil {
		return ev, true
	}
	m, err := meta.Accessor(ev.Object)
	if err != nil {
		return ev, true // errors and bookmarks pass
	}
	key := m.GetNamespace() + "/" + m.GetName()
	was := f.matched[key]
	now := f.sel.matches(ev.Object)
	switch ev.Type {
	case watch.Deleted:
		delete(f.matched, key)
		return ev, was
	case watch.Added, watch.Modified:
		if now {
			f.matched[key] = true
		} else {
			delete(f.matched, key)
		}
		switch {
		case now && was:
			return watch.Event{Type: watch.Modified, Object: ev.Object}, true
		case now:
			return watch.Event{Type: watch.Added, Object: ev.Object}, true
		case was:
			return watch.Event{Type: watch.Deleted, Object: ev.Object}, true
		}
		return ev, false
	}
	return ev, true
}
