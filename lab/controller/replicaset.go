package controller

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// burstReplicas caps pods created or deleted in one sync
// (pkg/controller/replicaset/replica_set.go BurstReplicas).
const burstReplicas = 500

// syncReplicaSet makes the number of active pods match spec.replicas and
// writes the status (pkg/controller/replicaset/replica_set.go syncReplicaSet,
// manageReplicas; replica_set_utils.go calculateStatus).
func (m *Manager) syncReplicaSet(ctx context.Context, k string) error {
	ns, name := splitKey(k)
	rs, err := m.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	all, err := m.ownedPods(ctx, rs)
	if err != nil {
		return err
	}
	active := filterActive(all)
	if rs.DeletionTimestamp == nil {
		if err := m.manageReplicas(ctx, active, rs); err != nil {
			return err
		}
		if all, err = m.ownedPods(ctx, rs); err != nil {
			return err
		}
		active = filterActive(all)
	}
	return m.updateRSStatus(ctx, rs, all, active)
}

// ownedPods lists the pods rs controls: its selector matches and its
// controller reference names it.
func (m *Manager) ownedPods(ctx context.Context, rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("replicaset %s/%s selector: %w", rs.Namespace, rs.Name, err)
	}
	list, err := m.client.CoreV1().Pods(rs.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == rs.UID && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// filterActive drops pods that are finished or being deleted
// (pkg/controller/controller_utils.go FilterActivePods, IsPodActive).
func filterActive(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func (m *Manager) manageReplicas(ctx context.Context, active []*corev1.Pod, rs *appsv1.ReplicaSet) error {
	diff := len(active) - int(*rs.Spec.Replicas)
	switch {
	case diff < 0:
		n := min(-diff, burstReplicas)
		for range n {
			pod := podFromTemplate(rs)
			created, err := m.client.CoreV1().Pods(rs.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				// pkg/controller/controller_utils.go FailedCreatePodReason.
				m.rsEvents.Eventf(rs, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
				return fmt.Errorf("create pod for replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
			}
			// controller_utils.go createPods: SuccessfulCreatePodReason.
			m.rsEvents.Eventf(rs, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", created.Name)
		}
	case diff > 0:
		n := min(diff, burstReplicas)
		for _, p := range podsToDelete(active, n) {
			err := m.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				m.rsEvents.Eventf(rs, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
			}
			// controller_utils.go DeletePod: SuccessfulDeletePodReason.
			m.rsEvents.Eventf(rs, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
		}
	}
	return nil
}

// podFromTemplate is controller_utils.go GetPodFromTemplate: the template's
// labels, annotations and spec, generateName "<rs>-", and a controller
// reference to the replica set.
func podFromTemplate(rs *appsv1.ReplicaSet) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, rsKind)},
		},
		Spec: t.Spec,
	}
}

// podsToDelete picks the n pods a scale-down removes first: unscheduled
// before scheduled, Pending before Unknown before Running, not ready before
// ready, ready for less time before more, more restarts before fewer, newer
// before older (controller_utils.go ActivePods.Less; with one node the
// ranks of ActivePodsWithRanks are all equal).
func podsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	s := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(s, func(i, j int) bool { return lessActive(s[i], s[j]) })
	if n > len(s) {
		n = len(s)
	}
	return s[:n]
}

var phaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func lessActive(a, b *corev1.Pod) bool {
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if phaseOrdinal[a.Status.Phase] != phaseOrdinal[b.Status.Phase] {
		return phaseOrdinal[a.Status.Phase] < phaseOrdinal[b.Status.Phase]
	}
	ra, rb := isReady(a), isReady(b)
	if ra != rb {
		return !ra
	}
	if ra && rb {
		ta, tb := readyTime(a), readyTime(b)
		if !ta.Equal(tb) {
			return afterOrZero(ta, tb)
		}
	}
	if ca, cb := maxRestarts(a), maxRestarts(b); ca != cb {
		return ca > cb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return afterOrZero(a.CreationTimestamp.Time, b.CreationTimestamp.Time)
	}
	return false
}

func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

func readyTime(p *corev1.Pod) time.Time {
	if c := readyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

func maxRestarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

// isAvailable is pkg/api/v1/pod/util.go IsPodAvailable: ready, and ready for
// minReadySeconds.
func isAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := readyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	return minReadySeconds == 0 ||
		(!c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).After(now))
}

// updateRSStatus is replica_set_utils.go calculateStatus: replicas counts
// active pods; readyReplicas and availableReplicas those ready (for
// minReadySeconds); terminatingReplicas those being deleted.
func (m *Manager) updateRSStatus(ctx context.Context, rs *appsv1.ReplicaSet, all, active []*corev1.Pod) error {
	now := m.clock.Now()
	sel, _ := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	tmplLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	st := appsv1.ReplicaSetStatus{ObservedGeneration: rs.Generation, Conditions: rs.Status.Conditions}
	var terminating int32
	var wait time.Duration
	for _, p := range all {
		if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			terminating++
		}
	}
	st.TerminatingReplicas = &terminating
	for _, p := range active {
		st.Replicas++
		if tmplLabels.Matches(labels.Set(p.Labels)) && sel.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if isReady(p) {
			st.ReadyReplicas++
			if isAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			} else {
				left := readyTime(p).Add(time.Duration(rs.Spec.MinReadySeconds) * time.Second).Sub(now)
				if wait == 0 || left < wait {
					wait = left
				}
			}
		}
	}
	if !equality.Semantic.DeepEqual(rs.Status, st) {
		next := rs.DeepCopy()
		next.Status = st
		if _, err := m.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if wait > 0 {
		// A pod becomes available minReadySeconds after it became ready;
		// look again then, as the controller does with AddAfter.
		return requeue{after: wait + time.Second}
	}
	return nil
}
