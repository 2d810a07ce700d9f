package controller

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// RevisionHistoryAnnotation lists, comma-separated, the revisions a replica
// set had before it became the new one again
// (pkg/controller/deployment/util/deployment_util.go).
const RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"

// maxRevHistoryLengthInChars bounds the revision history annotation
// (pkg/controller/deployment/sync.go).
const maxRevHistoryLengthInChars = 2000

// skipCopyAnnotation names the Deployment annotations a replica set does
// not inherit: the controller's own bookkeeping and kubectl's
// last-applied copy (deployment_util.go annotationsToSkip).
func skipCopyAnnotation(k string) bool {
	switch k {
	case corev1.LastAppliedConfigAnnotation, RevisionAnnotation, RevisionHistoryAnnotation,
		DesiredReplicasAnnotation, MaxReplicasAnnotation, appsv1.DeprecatedRollbackTo:
		return true
	}
	return false
}

// copyDeploymentAnnotations is deployment_util.go
// copyDeploymentAnnotationsToReplicaSet: every other Deployment annotation
// is set on the replica set; it reports whether one changed.
func copyDeploymentAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	changed := false
	for k, v := range d.Annotations {
		if cur, ok := rs.Annotations[k]; skipCopyAnnotation(k) || (ok && cur == v) {
			continue
		}
		setAnnotation(&rs.ObjectMeta, k, v)
		changed = true
	}
	return changed
}

// setNewReplicaSetAnnotations is deployment_util.go
// SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the
// revision to newRevision if it is lower, and when a replica set that had a
// revision gets a new one (it is the new replica set again, after a change
// back to its template), append the old revision to the revision history,
// dropping the oldest entries past 2000 characters. A replica set about to
// be created also gets the replica annotations.
func setNewReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool) bool {
	changed := copyDeploymentAnnotations(d, rs)
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	oldRevision, had := rs.Annotations[RevisionAnnotation]
	oldRev, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			// Upstream logs and leaves a malformed revision alone.
			return false
		}
		oldRev = 0
	}
	newRev, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldRev < newRev {
		rs.Annotations[RevisionAnnotation] = newRevision
		changed = true
		if had {
			rs.Annotations[RevisionHistoryAnnotation] = appendRevisionHistory(rs.Annotations[RevisionHistoryAnnotation], oldRevision)
		}
	}
	if !exists && setReplicasAnnotations(rs, *d.Spec.Replicas, *d.Spec.Replicas+MaxSurge(d)) {
		changed = true
	}
	return changed
}

// appendRevisionHistory adds old to the comma-separated history, dropping
// entries from the front until the result fits maxRevHistoryLengthInChars;
// if even old alone does not fit, the history stays as it was.
func appendRevisionHistory(history, old string) string {
	if history == "" {
		return old
	}
	revs := strings.Split(history, ",")
	total := len(history) + len(old) + 1
	start := 0
	for total > maxRevHistoryLengthInChars && start < len(revs) {
		total -= len(revs[start]) + 1
		start++
	}
	if total > maxRevHistoryLengthInChars {
		return history
	}
	return strings.Join(append(revs[start:], old), ",")
}
