package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Which exited container the kubelet runs again.
//
// Kubernetes 1.37 has ContainerRestartRules (alpha in 1.34, beta and on by
// default since 1.35, pkg/features/kube_features.go), and the kubelet
// follows it wherever it decides a restart: a container may carry its own
// restartPolicy (Always, OnFailure, Never), which overrides the pod's, and
// restartPolicyRules, evaluated in order before either policy. The first rule
// whose exitCodes match (operator In: the exit code is one of values; NotIn:
// it is none of them) decides; a matching rule's Restart action restarts the
// container whatever its policy says. The pod's restartPolicy decides only
// for a container without its own.
//
// RestartAllContainersOnContainerExits (beta, on by default since 1.36)
// adds a second action, RestartAllContainers, which tears down every
// container of the pod and runs the init containers again. The lab does not
// model that: it counts the container as restartable, as
// podutil.ContainerShouldRestart does with the gate on (so the phase is the
// kubelet's), but restarts only that container, and says so with a Warning
// event when the pod is admitted (restartAllNotModelledReason).

// containerShouldRestart is podutil.ContainerShouldRestart
// (pkg/api/v1/pod/util.go), which kubecontainer.ShouldContainerBeRestarted
// (pkg/kubelet/container/helpers.go) calls for an exited container with
// ContainerRestartRules on: the rules first, then the container's
// restartPolicy, then the pod's.
func containerShouldRestart(c *corev1.Container, spec *corev1.PodSpec, exitCode int32) bool {
	if c.RestartPolicy != nil {
		if rule, ok := matchingRestartRule(c, exitCode); ok {
			switch rule.Action {
			case corev1.ContainerRestartRuleActionRestart,
				corev1.ContainerRestartRuleActionRestartAllContainers:
				return true
			}
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return exitCode != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	case corev1.RestartPolicyNever:
		return false
	}
	return true // Always, and the default
}

// matchingRestartRule is podutil.FindMatchingContainerRestartRule: the first
// rule whose exitCodes match; a rule without exitCodes matches nothing.
func matchingRestartRule(c *corev1.Container, exitCode int32) (corev1.ContainerRestartRule, bool) {
	for _, r := range c.RestartPolicyRules {
		if r.ExitCodes == nil {
			continue
		}
		in := false
		for _, v := range r.ExitCodes.Values {
			if v == exitCode {
				in = true
			}
		}
		switch r.ExitCodes.Operator {
		case corev1.ContainerRestartRuleOnExitCodesOpIn:
			if in {
				return r, true
			}
		case corev1.ContainerRestartRuleOnExitCodesOpNotIn:
			if !in {
				return r, true
			}
		}
	}
	return corev1.ContainerRestartRule{}, false
}

// restartsAfterProbeKill is computePodActions' restart decision for a
// running container killed by a failed liveness or startup probe
// (pkg/kubelet/kuberuntime/kuberuntime_manager.go): the container's own
// restartPolicy if it has one, else the pod's; never the rules, which are
// about exit codes and the container has not exited yet. Whatever it says,
// the next sync looks at the exited container again with
// containerShouldRestart, rules included.
func restartsAfterProbeKill(c *corev1.Container, spec *corev1.PodSpec) bool {
	if c.RestartPolicy != nil {
		return *c.RestartPolicy != corev1.ContainerRestartPolicyNever
	}
	return spec.RestartPolicy != corev1.RestartPolicyNever
}

// restartAllNotModelledReason is the lab's own event reason for a
// RestartAllContainers rule (see above). It is not a kubelet reason.
const restartAllNotModelledReason = "RestartAllContainersNotModelled"

// restartAllWarning is the message of that event for a container with a
// RestartAllContainers rule, "" for one without.
func restartAllWarning(c *corev1.Container) string {
	for _, r := range c.RestartPolicyRules {
		if r.Action == corev1.ContainerRestartRuleActionRestartAllContainers {
			return fmt.Sprintf("the lab does not restart all containers of the pod when container %s exits by a RestartAllContainers rule: it restarts container %s alone, with the crash-loop back-off", c.Name, c.Name)
		}
	}
	return ""
}
