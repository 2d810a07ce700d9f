package controller

import (
	"context"
	"math"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
)

// isScalingEvent is sync.go isScalingEvent: spec.replicas differs from the
// desired-replicas annotation of an active replica set, so the Deployment
// was resized since those replica sets were last scaled. It returns the
// Deployment as the revision sync left it.
func (m *Manager) isScalingEvent(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (*appsv1.Deployment, bool, error) {
	d, newRS, oldRSs, err := m.replicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return nil, false, err
	}
	for _, rs := range activeOnly(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)) {
		desired, ok := annotationInt32(rs, DesiredReplicasAnnotation)
		if ok && desired != *d.Spec.Replicas {
			return d, true, nil
		}
	}
	return d, false, nil
}

// sync is sync.go sync, the path of a resize and of a paused Deployment:
// never create a replica set, resize the existing ones (proportionally when
// several have pods), clean up old ones when paused, and write the status
// without judging progress.
func (m *Manager) sync(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	d, newRS, oldRSs, err := m.replicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	for _, t := range scaleTargets(d, newRS, oldRSs) {
		if _, _, err := m.scaleReplicaSet(ctx, t.rs, t.size, d, t.force); err != nil {
			return err
		}
	}
	if d.Spec.Paused && rollbackTo(d) == nil {
		if err := m.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	_, err = m.writeDeploymentStatus(ctx, d, m.calculateStatus(all, newRS, d))
	return err
}

// scaleTarget is one scaleReplicaSet call that sync.go scale makes.
type scaleTarget struct {
	rs    *appsv1.ReplicaSet
	size  int32
	force bool // write the replica annotations even if the size stays
}

// scaleTargets is the decision half of sync.go scale:
//   - at most one replica set has pods: it (or the newest, if none has)
//     gets all of spec.replicas;
//   - the new replica set is saturated (desired-replicas annotation and
//     size equal spec.replicas, all available): old ones go to zero;
//   - otherwise, for RollingUpdate, the difference between replicas+maxSurge
//     and the pods the active replica sets ask for is shared among them in
//     proportion to their size (getProportion), and what rounding leaves
//     over goes to the first in order: the largest, the newest of equals
//     when growing and the oldest of equals when shrinking.
//
// Recreate with several active replica sets changes nothing here; its
// rollout scales the old ones to zero anyway.
func scaleTargets(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) []scaleTarget {
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if *rs.Spec.Replicas == *d.Spec.Replicas {
			return nil
		}
		return []scaleTarget{{rs: rs, size: *d.Spec.Replicas}}
	}
	if isSaturated(d, newRS) {
		var out []scaleTarget
		for _, rs := range activeOnly(oldRSs) {
			out = append(out, scaleTarget{rs: rs, size: 0})
		}
		return out
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return nil
	}
	all := activeOnly(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS))
	var allowed int32
	if *d.Spec.Replicas > 0 {
		allowed = *d.Spec.Replicas + MaxSurge(d)
	}
	toAdd := allowed - replicaCount(all)
	switch {
	case toAdd > 0:
		sort.SliceStable(all, func(i, j int) bool { return bySize(all[i], all[j], true) })
	case toAdd < 0:
		sort.SliceStable(all, func(i, j int) bool { return bySize(all[i], all[j], false) })
	}
	sizes := make([]int32, len(all))
	var added int32
	for i, rs := range all {
		sizes[i] = *rs.Spec.Replicas
		if toAdd != 0 {
			p := replicaSetProportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	out := make([]scaleTarget, len(all))
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			sizes[0] = max(sizes[0]+toAdd-added, 0)
		}
		out[i] = scaleTarget{rs: rs, size: sizes[i], force: true}
	}
	return out
}

// bySize is controller_utils.go ReplicaSetsBySizeNewer (newer true) and
// ReplicaSetsBySizeOlder: larger first; among equals, by creation time (then
// name), newest or oldest first.
func bySize(a, b *appsv1.ReplicaSet, newer bool) bool {
	if *a.Spec.Replicas != *b.Spec.Replicas {
		return *a.Spec.Replicas > *b.Spec.Replicas
	}
	if newer {
		a, b = b, a
	}
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

// findActiveOrLatest is deployment_util.go FindActiveOrLatest: the only
// replica set with pods; the new one, or else the newest old one, if none
// has pods; nil if several have.
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	old := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sort.SliceStable(old, func(i, j int) bool { return newerFirst(old[i], old[j]) })
	active := activeOnly(append(append([]*appsv1.ReplicaSet(nil), old...), newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return old[0]
	case 1:
		return active[0]
	}
	return nil
}

// newerFirst orders replica sets newest first (the reverse of
// ReplicaSetsByCreationTimestamp, which breaks ties by name).
func newerFirst(a, b *appsv1.ReplicaSet) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name > b.Name
	}
	return b.CreationTimestamp.Before(&a.CreationTimestamp)
}

// isSaturated is deployment_util.go IsSaturated.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, err := strconv.Atoi(rs.Annotations[DesiredReplicasAnnotation])
	if err != nil {
		return false
	}
	return *rs.Spec.Replicas == *d.Spec.Replicas && int32(desired) == *d.Spec.Replicas &&
		rs.Status.AvailableReplicas == *d.Spec.Replicas
}

// replicaSetProportion is deployment_util.go GetReplicaSetProportion: the
// replica set's share of toAdd, never past what is left to hand out.
func replicaSetProportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || *rs.Spec.Replicas == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// replicaSetFraction is deployment_util.go getReplicaSetFraction: the
// replica set's size scaled by (replicas+maxSurge now) / (the max-replicas
// annotation, replicas+maxSurge when it was last scaled), rounded half away
// from zero, less its size. Without a usable annotation the Deployment's
// status.replicas stands in; scaling to zero removes everything.
func replicaSetFraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if *d.Spec.Replicas == 0 {
		return -*rs.Spec.Replicas
	}
	maxNow := *d.Spec.Replicas + MaxSurge(d)
	maxBefore, ok := annotationInt32(rs, MaxReplicasAnnotation)
	if !ok || maxBefore == 0 {
		maxBefore = d.Status.Replicas
		if maxBefore == 0 {
			return 0
		}
	}
	size := float64(*rs.Spec.Replicas*maxNow) / float64(maxBefore)
	return int32(math.Round(size)) - *rs.Spec.Replicas
}

// annotationInt32 reads a non-negative int32 annotation
// (deployment_util.go getNonNegativeInt32FromAnnotation).
func annotationInt32(rs *appsv1.ReplicaSet, k string) (int32, bool) {
	v, ok := rs.Annotations[k]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}
