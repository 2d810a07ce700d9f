package controller

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons (pkg/controller/deployment/util/deployment_util.go).
const (
	reasonRSUpdated        = "ReplicaSetUpdated"
	reasonNewRS            = "NewReplicaSetCreated"
	reasonFoundNewRS       = "FoundNewReplicaSet"
	reasonNewRSAvailable   = "NewReplicaSetAvailable"
	reasonTimedOut         = "ProgressDeadlineExceeded"
	reasonMinAvailable     = "MinimumReplicasAvailable"
	reasonMinUnavailable   = "MinimumReplicasUnavailable"
	reasonScalingRS        = "ScalingReplicaSet"
	reasonFailedRSCreation = "ReplicaSetCreateError"
)

// syncDeployment is deployment_controller.go syncDeployment: a paused
// Deployment or a resize goes through sync (scale what exists, create
// nothing); a rollback annotation is acted on; otherwise it finds or
// creates the replica set of the current template and rolls to it by the
// strategy.
func (m *Manager) syncDeployment(ctx context.Context, k string) error {
	ns, name := splitKey(k)
	d, err := m.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	rsList, err := m.ownedReplicaSets(ctx, d)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		// syncStatusOnly.
		d, newRS, oldRSs, err := m.replicaSetsAndSyncRevision(ctx, d, rsList, false)
		if err != nil {
			return err
		}
		_, err = m.writeDeploymentStatus(ctx, d, m.calculateStatus(append(oldRSs, newRS), newRS, d))
		return err
	}
	if d, err = m.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return m.sync(ctx, d, rsList)
	}
	if rollbackTo(d) != nil {
		return m.rollback(ctx, d, rsList)
	}
	d, scaling, err := m.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return m.sync(ctx, d, rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return m.rolloutRecreate(ctx, d, rsList)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return m.rolloutRolling(ctx, d, rsList)
	}
	return fmt.Errorf("deployment %s: strategy %q is not supported", k, d.Spec.Strategy.Type)
}

func (m *Manager) ownedReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	list, err := m.client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == d.UID {
			out = append(out, &list.Items[i])
		}
	}
	// Oldest first, as controller.ReplicaSetsByCreationTimestamp.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].CreationTimestamp.Equal(&out[j].CreationTimestamp) {
			return out[i].Name < out[j].Name
		}
		return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp)
	})
	return out, nil
}

// rolloutRolling is rolling.go rolloutRolling: scale the new replica set up
// as far as maxSurge allows; else scale old ones down as far as
// maxUnavailable allows; then write the status.
func (m *Manager) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	d, newRS, oldRSs, err := m.replicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)

	if *newRS.Spec.Replicas != *d.Spec.Replicas {
		target := *d.Spec.Replicas
		if *newRS.Spec.Replicas < *d.Spec.Replicas {
			if target, err = NewRSNewReplicas(d, all, newRS); err != nil {
				return err
			}
		}
		scaled, updated, err := m.scaleReplicaSet(ctx, newRS, target, d, false)
		if err != nil {
			return err
		}
		if scaled {
			*newRS = *updated
			return m.syncRolloutStatus(ctx, all, newRS, d)
		}
	}

	scaledDown, err := m.reconcileOldReplicaSets(ctx, all, activeOnly(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return m.syncRolloutStatus(ctx, all, newRS, d)
	}
	if deploymentComplete(d, &d.Status) {
		if err := m.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return m.syncRolloutStatus(ctx, all, newRS, d)
}

func activeOnly(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && *rs.Spec.Replicas > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// reconcileOldReplicaSets is rolling.go reconcileOldReplicaSets: remove old
// pods that are not available first (they add nothing to availability),
// then old available ones while more than the minimum stay available.
func (m *Manager) reconcileOldReplicaSets(ctx context.Context, all, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if replicaCount(oldRSs) == 0 {
		return false, nil
	}
	maxScaledDown := MaxScaledDown(d, all, newRS)
	if maxScaledDown <= 0 {
		return false, nil
	}
	// cleanupUnhealthyReplicas.
	var cleaned int32
	for i, rs := range oldRSs {
		if cleaned >= maxScaledDown {
			break
		}
		if *rs.Spec.Replicas == 0 || *rs.Spec.Replicas == rs.Status.AvailableReplicas {
			continue
		}
		n := min(maxScaledDown-cleaned, *rs.Spec.Replicas-rs.Status.AvailableReplicas)
		if n < 0 {
			// The status still counts pods of a larger size (the replica
			// set controller has not caught up with a scale-down): this
			// would scale up. Fail the sync as rolling.go
			// cleanupUnhealthyReplicas does; the retry reads newer status.
			return false, fmt.Errorf("when cleaning up unhealthy replicas, got invalid request to scale down %s/%s %d -> %d",
				rs.Namespace, rs.Name, *rs.Spec.Replicas, *rs.Spec.Replicas-n)
		}
		_, updated, err := m.scaleReplicaSet(ctx, rs, *rs.Spec.Replicas-n, d, false)
		if err != nil {
			return false, err
		}
		*oldRSs[i] = *updated
		cleaned += n
	}
	// scaleDownOldReplicaSetsForRollingUpdate.
	minAvailable := *d.Spec.Replicas - MaxUnavailable(d)
	available := availableCount(all)
	var scaled int32
	if available > minAvailable {
		total := available - minAvailable
		for _, rs := range oldRSs {
			if scaled >= total {
				break
			}
			if *rs.Spec.Replicas == 0 {
				continue
			}
			n := min(*rs.Spec.Replicas, total-scaled)
			if _, _, err := m.scaleReplicaSet(ctx, rs, *rs.Spec.Replicas-n, d, false); err != nil {
				return false, err
			}
			scaled += n
		}
	}
	return cleaned+scaled > 0, nil
}

// rolloutRecreate is recreate.go rolloutRecreate: scale every old replica
// set to zero, wait until none of their pods runs, then create the new one
// at full size.
func (m *Manager) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	d, newRS, oldRSs, err := m.replicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown := false
	for _, rs := range activeOnly(oldRSs) {
		scaled, _, err := m.scaleReplicaSet(ctx, rs, 0, d, false)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return m.syncRolloutStatus(ctx, all, newRS, d)
	}
	running, err := m.oldPodsRunning(ctx, d, newRS, oldRSs)
	if err != nil {
		return err
	}
	if running {
		return m.syncRolloutStatus(ctx, all, newRS, d)
	}
	if newRS == nil {
		if d, newRS, oldRSs, err = m.replicaSetsAndSyncRevision(ctx, d, rsList, true); err != nil {
			return err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, updated, err := m.scaleReplicaSet(ctx, newRS, *d.Spec.Replicas, d, false); err != nil {
		return err
	} else {
		*newRS = *updated
	}
	if deploymentComplete(d, &d.Status) {
		if err := m.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return m.syncRolloutStatus(ctx, all, newRS, d)
}

// oldPodsRunning is recreate.go oldPodsRunning: an old replica set still
// reports pods, or a pod of one is not finished (terminating counts).
func (m *Manager) oldPodsRunning(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) (bool, error) {
	var actual int32
	old := map[string]bool{}
	for _, rs := range oldRSs {
		actual += rs.Status.Replicas
		old[string(rs.UID)] = true
	}
	if actual > 0 {
		return true, nil
	}
	pods, err := m.client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil || !old[string(ref.UID)] {
			continue
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true, nil
		}
	}
	return false, nil
}

// replicaSetsAndSyncRevision is sync.go getAllReplicaSetsAndSyncRevision
// with getNewReplicaSet: find the replica set whose template equals the
// Deployment's, give it the next revision, or create it named
// "<deployment>-<pod-template-hash>".
func (m *Manager) replicaSetsAndSyncRevision(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.Deployment, *appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	var newRS *appsv1.ReplicaSet
	var oldRSs []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil && equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
			continue
		}
		oldRSs = append(oldRSs, rs)
	}
	var maxOld int64
	for _, rs := range oldRSs {
		maxOld = max(maxOld, revision(rs))
	}
	newRevision := strconv.FormatInt(maxOld+1, 10)

	if newRS != nil {
		// The existing replica set of this template (after a change back to
		// an earlier template, an old one: the lab's rollback) takes the
		// next revision and copies the Deployment's annotations, but keeps
		// its replica annotations: they record the size it was last scaled
		// for, which proportional scaling needs (sync.go getNewReplicaSet,
		// SetNewReplicaSetAnnotations with exists=true).
		next := newRS.DeepCopy()
		changed := setNewReplicaSetAnnotations(d, next, newRevision, true)
		if next.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			next.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			changed = true
		}
		if changed {
			updated, err := m.client.AppsV1().ReplicaSets(next.Namespace).Update(ctx, next, metav1.UpdateOptions{})
			if err != nil {
				return nil, nil, nil, err
			}
			// In place: rsList holds this pointer, and a second pass over
			// it in the same sync must not write the stale copy again.
			*newRS = *updated
		}
		newRevision = newRS.Annotations[RevisionAnnotation]
		d, err := m.setDeploymentRevision(ctx, d, newRevision)
		if err != nil {
			return nil, nil, nil, err
		}
		if cond := getCondition(d.Status, appsv1.DeploymentProgressing); hasProgressDeadline(d) && cond == nil {
			st := d.Status.DeepCopy()
			setCondition(st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", newRS.Name), m.clock.Now()))
			if d, err = m.writeDeploymentStatus(ctx, d, *st); err != nil {
				return nil, nil, nil, err
			}
		}
		return d, newRS, oldRSs, nil
	}
	if !create {
		return d, nil, oldRSs, nil
	}

	tmpl := *d.Spec.Template.DeepCopy()
	hash := ComputeHash(&tmpl, d.Status.CollisionCount)
	tmpl.Labels = cloneWith(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = cloneWith(sel.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, dKind)},
			Labels:          tmpl.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32), MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: tmpl},
	}
	n, err := NewRSNewReplicas(d, append(append([]*appsv1.ReplicaSet(nil), oldRSs...), rs), rs)
	if err != nil {
		return nil, nil, nil, err
	}
	*rs.Spec.Replicas = n
	setNewReplicaSetAnnotations(d, rs, newRevision, false)

	created, err := m.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		existing, gerr := m.client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, nil, nil, gerr
		}
		if ref := metav1.GetControllerOf(existing); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &existing.Spec.Template) {
			return d, existing, oldRSs, nil
		}
		// A hash collision: bump collisionCount so the next sync hashes
		// differently (sync.go getNewReplicaSet).
		st := d.Status.DeepCopy()
		if st.CollisionCount == nil {
			st.CollisionCount = new(int32)
		}
		*st.CollisionCount++
		if _, werr := m.writeDeploymentStatus(ctx, d, *st); werr != nil {
			return nil, nil, nil, werr
		}
		return nil, nil, nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		m.dEvents.Eventf(d, corev1.EventTypeWarning, reasonFailedRSCreation, "%s", msg)
		return nil, nil, nil, err
	}
	if n > 0 {
		// sync.go getNewReplicaSet.
		m.dEvents.Eventf(d, corev1.EventTypeNormal, reasonScalingRS, "Scaled up replica set %s from 0 to %d", created.Name, n)
	}
	d, err = m.setDeploymentRevision(ctx, d, newRevision)
	if err != nil {
		return nil, nil, nil, err
	}
	if hasProgressDeadline(d) {
		st := d.Status.DeepCopy()
		setCondition(st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewRS,
			fmt.Sprintf("Created new replica set %q", created.Name), m.clock.Now()))
		if d, err = m.writeDeploymentStatus(ctx, d, *st); err != nil {
			return nil, nil, nil, err
		}
	}
	return d, created, oldRSs, nil
}

func (m *Manager) setDeploymentRevision(ctx context.Context, d *appsv1.Deployment, rev string) (*appsv1.Deployment, error) {
	if d.Annotations[RevisionAnnotation] == rev {
		return d, nil
	}
	next := d.DeepCopy()
	setAnnotation(&next.ObjectMeta, RevisionAnnotation, rev)
	return m.client.AppsV1().Deployments(d.Namespace).Update(ctx, next, metav1.UpdateOptions{})
}

func (m *Manager) writeDeploymentStatus(ctx context.Context, d *appsv1.Deployment, st appsv1.DeploymentStatus) (*appsv1.Deployment, error) {
	if equality.Semantic.DeepEqual(d.Status, st) {
		return d, nil
	}
	next := d.DeepCopy()
	next.Status = st
	return m.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
}

func setAnnotation(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

func cloneWith(in map[string]string, k, v string) map[string]string {
	out := maps.Clone(in)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// setReplicasAnnotations is deployment_util.go SetReplicasAnnotations.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	d, mx := strconv.Itoa(int(desired)), strconv.Itoa(int(maxReplicas))
	if rs.Annotations[DesiredReplicasAnnotation] == d && rs.Annotations[MaxReplicasAnnotation] == mx {
		return false
	}
	setAnnotation(&rs.ObjectMeta, DesiredReplicasAnnotation, d)
	setAnnotation(&rs.ObjectMeta, MaxReplicasAnnotation, mx)
	return true
}

// scaleReplicaSet is sync.go scaleReplicaSet: write the new size and the
// replica annotations, and record "Scaled up/down replica set X from A to B".
// Unless force is set (proportional scaling), an unchanged size writes
// nothing, not even stale annotations. rs is updated in place with what
// the API returned, so callers holding it see the new size.
func (m *Manager) scaleReplicaSet(ctx context.Context, rs *appsv1.ReplicaSet, size int32, d *appsv1.Deployment, force bool) (bool, *appsv1.ReplicaSet, error) {
	sizeChanged := *rs.Spec.Replicas != size
	if !force && !sizeChanged {
		return false, rs, nil
	}
	next := rs.DeepCopy()
	annChanged := setReplicasAnnotations(next, *d.Spec.Replicas, *d.Spec.Replicas+MaxSurge(d))
	if !sizeChanged && !annChanged {
		return false, rs, nil
	}
	old := *rs.Spec.Replicas
	*next.Spec.Replicas = size
	updated, err := m.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return false, nil, err
	}
	*rs = *updated
	if sizeChanged {
		op := "down"
		if size > old {
			op = "up"
		}
		m.dEvents.Eventf(d, corev1.EventTypeNormal, reasonScalingRS, "Scaled %s replica set %s from %d to %d", op, rs.Name, old, size)
	}
	return sizeChanged, updated, nil
}

// cleanupDeployment is sync.go cleanupDeployment: keep at most
// revisionHistoryLimit old replica sets that are scaled to zero, deleting
// the oldest first.
func (m *Manager) cleanupDeployment(ctx context.Context, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment) error {
	if d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit == math.MaxInt32 {
		return nil
	}
	var cleanable []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			cleanable = append(cleanable, rs)
		}
	}
	diff := len(cleanable) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	sort.SliceStable(cleanable, func(i, j int) bool { return revision(cleanable[i]) < revision(cleanable[j]) })
	for _, rs := range cleanable {
		if diff <= 0 {
			break
		}
		if rs.Status.Replicas != 0 || *rs.Spec.Replicas != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		if err := m.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		diff--
	}
	return nil
}

func deploymentComplete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	return st.UpdatedReplicas == *d.Spec.Replicas &&
		st.Replicas == *d.Spec.Replicas &&
		st.AvailableReplicas == *d.Spec.Replicas &&
		st.ObservedGeneration >= d.Generation
}

func deploymentProgressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		(st.Replicas-st.UpdatedReplicas) < (old.Replicas-old.UpdatedReplicas) ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas
}

// calculateStatus is sync.go calculateStatus with the Available condition.
func (m *Manager) calculateStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) appsv1.DeploymentStatus {
	var actual, updated, ready, available, terminating int32
	for _, rs := range all {
		if rs == nil {
			continue
		}
		actual += rs.Status.Replicas
		ready += rs.Status.ReadyReplicas
		available += rs.Status.AvailableReplicas
		if rs.Status.TerminatingReplicas != nil {
			terminating += *rs.Status.TerminatingReplicas
		}
	}
	if newRS != nil {
		updated = newRS.Status.Replicas
	}
	unavailable := max(replicaCount(all)-available, 0)
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            actual,
		UpdatedReplicas:     updated,
		ReadyReplicas:       ready,
		AvailableReplicas:   available,
		UnavailableReplicas: unavailable,
		TerminatingReplicas: &terminating,
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	now := m.clock.Now()
	if available >= *d.Spec.Replicas-MaxUnavailable(d) {
		setCondition(&st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, reasonMinAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(&st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, reasonMinUnavailable, "Deployment does not have minimum availability.", now))
	}
	return st
}

// syncRolloutStatus is progress.go syncRolloutStatus: the Progressing
// condition says the rollout completed, progressed, or passed its
// progressDeadlineSeconds without progress.
func (m *Manager) syncRolloutStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	st := m.calculateStatus(all, newRS, d)
	now := m.clock.Now()
	hasDeadline := hasProgressDeadline(d)
	if !hasDeadline {
		removeCondition(&st, appsv1.DeploymentProgressing)
	}
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == reasonNewRSAvailable
	var wait time.Duration
	if hasDeadline && !complete {
		name := fmt.Sprintf("Deployment %q", d.Name)
		if newRS != nil {
			name = fmt.Sprintf("ReplicaSet %q", newRS.Name)
		}
		switch {
		case deploymentComplete(d, &st):
			setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewRSAvailable, name+" has successfully progressed.", now))
		case deploymentProgressing(d, &st):
			c := newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonRSUpdated, name+" is progressing.", now)
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&st, appsv1.DeploymentProgressing)
			}
			setCondition(&st, c)
		case cur != nil && cur.Reason != reasonTimedOut && cur.Reason != reasonNewRSAvailable:
			deadline := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
			if deadline.Before(now) {
				setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonTimedOut, name+" has timed out progressing.", now))
			} else {
				// requeueStuckDeployment: look again when the deadline passes.
				wait = deadline.Sub(now) + time.Second
			}
		}
	}
	if _, err := m.writeDeploymentStatus(ctx, d, st); err != nil {
		return err
	}
	if wait > 0 {
		return requeue{after: wait}
	}
	return nil
}

func newCondition(t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string, now time.Time) appsv1.DeploymentCondition {
	ts := metav1.NewTime(now.Truncate(time.Second))
	return appsv1.DeploymentCondition{Type: t, Status: s, Reason: reason, Message: msg, LastUpdateTime: ts, LastTransitionTime: ts}
}

func getCondition(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			c := st.Conditions[i]
			return &c
		}
	}
	return nil
}

// setCondition is deployment_util.go SetDeploymentCondition: the same
// status and reason changes nothing; the same status keeps its transition
// time.
func setCondition(st *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := getCondition(*st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, c.Type)
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var out []appsv1.DeploymentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}
