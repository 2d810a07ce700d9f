package controller

import (
	"context"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Progressing condition reasons for pausing and resuming
// (pkg/controller/deployment/util/deployment_util.go).
const (
	reasonPaused  = "DeploymentPaused"
	reasonResumed = "DeploymentResumed"
)

// hasProgressDeadline is deployment_util.go HasProgressDeadline: a deadline
// is set and is not the "never" value MaxInt32.
func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// checkPausedConditions is sync.go checkPausedConditions: pausing sets
// Progressing to Unknown with reason DeploymentPaused, resuming to Unknown
// with DeploymentResumed. The resumed condition's lastUpdateTime is when the
// progress deadline starts counting again, so the time spent paused never
// counts against it. A ProgressDeadlineExceeded condition is left alone.
func (m *Manager) checkPausedConditions(ctx context.Context, d *appsv1.Deployment) (*appsv1.Deployment, error) {
	if !hasProgressDeadline(d) {
		return d, nil
	}
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	if cur != nil && cur.Reason == reasonTimedOut {
		return d, nil
	}
	pausedCond := cur != nil && cur.Reason == reasonPaused
	var c appsv1.DeploymentCondition
	switch {
	case d.Spec.Paused && !pausedCond:
		c = newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonPaused, "Deployment is paused", m.clock.Now())
	case !d.Spec.Paused && pausedCond:
		c = newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonResumed, "Deployment is resumed", m.clock.Now())
	default:
		return d, nil
	}
	st := d.Status.DeepCopy()
	setCondition(st, c)
	return m.writeDeploymentStatus(ctx, d, *st)
}
