package kube

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PodColumns is one pod as "kubectl get pods -o wide" shows it, plus the
// numbers behind the strings so a dashboard can sort and compare.
type PodColumns struct {
	Namespace string
	Name      string
	Ready     string // "1/2"
	Status    string // "Running", "CrashLoopBackOff", "Init:0/1", ...
	Restarts  string // "3 (5m ago)"
	Age       string // "10m"
	IP        string // "<none>" when unassigned
	Node      string // "<none>" when unscheduled
	Version   string // the pod's version label, "" when absent

	ReadyContainers int
	TotalContainers int
	RestartCount    int
	// LastRestart is when the most recently restarted container last
	// terminated; zero when no container has a terminated last state.
	LastRestart time.Time
	Created     time.Time
}

// Reasons that kubectl special-cases, from k8s.io/kubernetes
// pkg/util/node/node.go (NodeUnreachablePodReason) and the kubelet.
const (
	reasonNodeLost        = "NodeLost"
	reasonPodInitializing = "PodInitializing"
	reasonCompleted       = "Completed"
)

// PodStatus computes READY, STATUS, RESTARTS and AGE exactly as kubectl does,
// taking now as the clock instead of time.Now so views and tests are stable.
//
// It follows printPod in k8s.io/kubernetes v1.37.2
// pkg/printers/internalversion/printers.go line by line (that function runs
// server side, on the internal API; this one runs on core/v1, whose fields
// are the same for everything read here). Keep the order of the checks: the
// last assignment to the reason wins, which is what makes kubectl's output.
func PodStatus(pod *corev1.Pod, now time.Time) PodColumns {
	restarts := 0
	restartableInitRestarts := 0
	total := len(pod.Spec.Containers)
	ready := 0
	var lastRestart, lastRestartableInitRestart time.Time

	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	// A pod held by scheduling gates carries {PodScheduled, SchedulingGated}.
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	initContainers := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		initContainers[c.Name] = c
		// Sidecars (restartable init containers) count as containers.
		if isRestartableInitContainer(c) {
			total++
		}
	}

	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		cs := &pod.Status.InitContainerStatuses[i]
		restarts += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil && lastRestart.Before(t.FinishedAt.Time) {
			lastRestart = t.FinishedAt.Time
		}
		sidecar := isRestartableInitContainer(initContainers[cs.Name])
		if sidecar {
			restartableInitRestarts += int(cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil && lastRestartableInitRestart.Before(t.FinishedAt.Time) {
				lastRestartableInitRestart = t.FinishedAt.Time
			}
		}
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				ready++
			}
			continue
		case cs.State.Terminated != nil:
			// Initialization failed.
			t := cs.State.Terminated
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
			initializing = true
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != reasonPodInitializing:
			reason = "Init:" + cs.State.Waiting.Reason
			initializing = true
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
			initializing = true
		}
		break // the first init container not done decides
	}

	if !initializing || conditionTrue(pod.Status.Conditions, corev1.PodInitialized) {
		// Past initialization only sidecar restarts still count from the
		// init containers.
		restarts = restartableInitRestarts
		lastRestart = lastRestartableInitRestart
		hasRunning := false
		errorReason := ""
		// Backwards, so the first container's state has the last word.
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := &pod.Status.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil && lastRestart.Before(t.FinishedAt.Time) {
				lastRestart = t.FinishedAt.Time
			}
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil:
				t := cs.State.Terminated
				switch {
				case t.Reason != "":
					reason = t.Reason
				case t.Signal != 0:
					reason = fmt.Sprintf("Signal:%d", t.Signal)
				default:
					reason = fmt.Sprintf("ExitCode:%d", t.ExitCode)
				}
				if t.ExitCode != 0 {
					errorReason = reason
				}
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				ready++
			}
		}
		// A container that completed while others still run: the pod is
		// Running (or NotReady) rather than Completed.
		if reason == reasonCompleted {
			switch {
			case hasRunning && anyConditionTrue(pod.Status.Conditions, corev1.PodReady):
				reason = "Running"
			case errorReason != "":
				reason = errorReason
			case hasRunning:
				reason = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil && pod.Status.Reason == reasonNodeLost {
		reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
		reason = "Terminating"
	}

	restartsStr := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsStr = fmt.Sprintf("%d (%s ago)", restarts, Since(lastRestart, now))
	}

	return PodColumns{
		Namespace:       pod.Namespace,
		Name:            pod.Name,
		Ready:           fmt.Sprintf("%d/%d", ready, total),
		Status:          reason,
		Restarts:        restartsStr,
		Age:             Since(pod.CreationTimestamp.Time, now),
		IP:              PodIP(pod),
		Node:            PodNode(pod),
		Version:         PodVersion(pod),
		ReadyContainers: ready,
		TotalContainers: total,
		RestartCount:    restarts,
		LastRestart:     lastRestart,
		Created:         pod.CreationTimestamp.Time,
	}
}

// Since formats the time from t to now as kubectl's AGE column does
// (translateTimestampSince in printers.go): "<unknown>" for a zero time,
// otherwise apimachinery's duration.HumanDuration ("45s", "5m3s", "3h", "2d").
func Since(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// PodIP is the pod's first IP as "kubectl get pods -o wide" shows it, or
// "<none>".
func PodIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
		return pod.Status.PodIPs[0].IP
	}
	return "<none>"
}

// PodNode is the node the pod is bound to, or "<none>".
func PodNode(pod *corev1.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	return "<none>"
}

// VersionLabels are the labels PodVersion reads, in order: the seed's
// manifests label pods "version"; the recommended label is the fallback.
var VersionLabels = []string{"version", "app.kubernetes.io/version"}

// PodVersion is the pod's version label, "" when it has none.
func PodVersion(pod *corev1.Pod) string {
	for _, l := range VersionLabels {
		if v, ok := pod.Labels[l]; ok {
			return v
		}
	}
	return ""
}

// isRestartableInitContainer mirrors IsRestartableInitContainer in
// k8s.io/kubernetes pkg/api/v1/pod/util.go: an init container with
// restartPolicy Always is a sidecar.
func isRestartableInitContainer(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// conditionTrue reports whether the first condition of type t is True, as
// kubectl's isPodInitializedConditionTrue does.
func conditionTrue(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// anyConditionTrue reports whether any condition of type t is True, as
// kubectl's hasPodReadyCondition does.
func anyConditionTrue(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
