package controller

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Rollback event reasons (pkg/controller/deployment/util/deployment_util.go).
const (
	reasonRollbackRevisionNotFound  = "DeploymentRollbackRevisionNotFound"
	reasonRollbackTemplateUnchanged = "DeploymentRollbackTemplateUnchanged"
	reasonRollbackDone              = "DeploymentRollback"
)

// The usual rollback in the lab is applying an earlier manifest again:
// the template then equals an old replica set's, which
// replicaSetsAndSyncRevision finds, gives the next revision (recording the
// old one in the revision history) and the rollout scales up; no replica set
// is created. What follows is the other way a manifest can ask for one: the
// deprecated.deployment.rollback.to annotation (apps/v1's form of the old
// spec.rollbackTo), which kube-controller-manager still honours.

// rollbackTo is rollback.go getRollbackTo: the revision the annotation asks
// for, or nil if there is none or it is not a number.
func rollbackTo(d *appsv1.Deployment) *int64 {
	v := d.Annotations[appsv1.DeprecatedRollbackTo]
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// rollback is rollback.go rollback: copy the template of the replica set
// with the asked-for revision (0: the one before the current) into the
// Deployment, and drop the annotation in the same write. The next sync
// rolls out as for any template change.
func (m *Manager) rollback(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	d, newRS, oldRSs, err := m.replicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	want := *rollbackTo(d)
	if want == 0 {
		if want = lastRevision(all); want == 0 {
			m.dEvents.Eventf(d, corev1.EventTypeWarning, reasonRollbackRevisionNotFound, "Unable to find last revision.")
			return m.clearRollbackTo(ctx, d)
		}
	}
	for _, rs := range all {
		if rs == nil || revision(rs) != want {
			continue
		}
		next := d.DeepCopy()
		if equalIgnoreHash(&next.Spec.Template, &rs.Spec.Template) {
			m.dEvents.Eventf(d, corev1.EventTypeWarning, reasonRollbackTemplateUnchanged,
				"The rollback revision contains the same template as current deployment %q", d.Name)
			return m.clearRollbackTo(ctx, next)
		}
		// deployment_util.go SetFromReplicaSetTemplate and
		// SetDeploymentAnnotationsTo: the replica set's template without
		// its hash label, and its annotations but the controller's own.
		next.Spec.Template.ObjectMeta = *rs.Spec.Template.ObjectMeta.DeepCopy()
		next.Spec.Template.Spec = *rs.Spec.Template.Spec.DeepCopy()
		delete(next.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		kept := map[string]string{}
		for k, v := range next.Annotations {
			if skipCopyAnnotation(k) {
				kept[k] = v
			}
		}
		for k, v := range rs.Annotations {
			if !skipCopyAnnotation(k) {
				kept[k] = v
			}
		}
		next.Annotations = kept
		if err := m.clearRollbackTo(ctx, next); err != nil {
			return err
		}
		m.dEvents.Eventf(d, corev1.EventTypeNormal, reasonRollbackDone, "Rolled back deployment %q to revision %d", d.Name, want)
		return nil
	}
	m.dEvents.Eventf(d, corev1.EventTypeWarning, reasonRollbackRevisionNotFound, "Unable to find the revision to rollback to.")
	return m.clearRollbackTo(ctx, d)
}

// clearRollbackTo is rollback.go updateDeploymentAndClearRollbackTo.
func (m *Manager) clearRollbackTo(ctx context.Context, d *appsv1.Deployment) error {
	next := d.DeepCopy()
	delete(next.Annotations, appsv1.DeprecatedRollbackTo)
	_, err := m.client.AppsV1().Deployments(d.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("clear %s of deployment %s/%s: %w", appsv1.DeprecatedRollbackTo, d.Namespace, d.Name, err)
	}
	return nil
}

// lastRevision is deployment_util.go LastRevision: the second highest
// revision among the replica sets.
func lastRevision(rss []*appsv1.ReplicaSet) int64 {
	var top, second int64
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		switch v := revision(rs); {
		case v >= top:
			second, top = top, v
		case v > second:
			second = v
		}
	}
	return second
}
