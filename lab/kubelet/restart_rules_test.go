package kubelet

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/proberctl/proberctl/kube"
)

// Rules and policies as Kubernetes 1.37 defines them, with
// ContainerRestartRules on by default: podutil.ContainerShouldRestart
// (pkg/api/v1/pod/util.go) takes the first matching rule, then the
// container's restartPolicy, then the pod's.
func TestContainerShouldRestart(t *testing.T) {
	never, always, onFailure := corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure
	rule := func(action corev1.ContainerRestartRuleAction, op corev1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) corev1.ContainerRestartRule {
		return corev1.ContainerRestartRule{Action: action, ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}
	}
	restartIn := func(codes ...int32) corev1.ContainerRestartRule {
		return rule(corev1.ContainerRestartRuleActionRestart, corev1.ContainerRestartRuleOnExitCodesOpIn, codes...)
	}
	restartNotIn := func(codes ...int32) corev1.ContainerRestartRule {
		return rule(corev1.ContainerRestartRuleActionRestart, corev1.ContainerRestartRuleOnExitCodesOpNotIn, codes...)
	}
	tests := []struct {
		name   string
		pod    corev1.RestartPolicy
		policy *corev1.ContainerRestartPolicy
		rules  []corev1.ContainerRestartRule
		exit   int32
		want   bool
	}{
		{"pod Always", corev1.RestartPolicyAlways, nil, nil, 0, true},
		{"pod default (empty) is Always", "", nil, nil, 0, true},
		{"pod OnFailure, exit 0", corev1.RestartPolicyOnFailure, nil, nil, 0, false},
		{"pod OnFailure, exit 2", corev1.RestartPolicyOnFailure, nil, nil, 2, true},
		{"pod Never", corev1.RestartPolicyNever, nil, nil, 1, false},
		{"container Never wins over pod Always", corev1.RestartPolicyAlways, &never, nil, 1, false},
		{"container Always wins over pod Never", corev1.RestartPolicyNever, &always, nil, 0, true},
		{"container OnFailure, exit 0", corev1.RestartPolicyAlways, &onFailure, nil, 0, false},
		{"container OnFailure, exit 1", corev1.RestartPolicyNever, &onFailure, nil, 1, true},
		{"rule In matches over container Never", corev1.RestartPolicyNever, &never, []corev1.ContainerRestartRule{restartIn(42, 43)}, 43, true},
		{"rule In does not match: container Never", corev1.RestartPolicyAlways, &never, []corev1.ContainerRestartRule{restartIn(42)}, 1, false},
		{"rule NotIn matches", corev1.RestartPolicyNever, &never, []corev1.ContainerRestartRule{restartNotIn(0, 1)}, 7, true},
		{"rule NotIn does not match: container OnFailure", corev1.RestartPolicyAlways, &onFailure, []corev1.ContainerRestartRule{restartNotIn(0, 1)}, 1, true},
		{"rule NotIn does not match exit 0: container OnFailure", corev1.RestartPolicyAlways, &onFailure, []corev1.ContainerRestartRule{restartNotIn(0, 1)}, 0, false},
		{"second rule matches", corev1.RestartPolicyNever, &never, []corev1.ContainerRestartRule{restartIn(1), restartIn(2)}, 2, true},
		{"RestartAllContainers counts as a restart (gate on in 1.37)", corev1.RestartPolicyNever, &never,
			[]corev1.ContainerRestartRule{rule(corev1.ContainerRestartRuleActionRestartAllContainers, corev1.ContainerRestartRuleOnExitCodesOpIn, 5)}, 5, true},
		{"a rule without exit codes matches nothing", corev1.RestartPolicyNever, &never, []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart}}, 1, false},
		{"rules without a container policy are not looked at", corev1.RestartPolicyNever, nil, []corev1.ContainerRestartRule{restartIn(1)}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "c", RestartPolicy: tt.policy, RestartPolicyRules: tt.rules}
			spec := &corev1.PodSpec{RestartPolicy: tt.pod, Containers: []corev1.Container{*c}}
			if got := containerShouldRestart(c, spec, tt.exit); got != tt.want {
				t.Errorf("containerShouldRestart(exit %d) = %v, want %v", tt.exit, got, tt.want)
			}
		})
	}
}

// An app container exits with a chosen code; the kubelet restarts it, with
// the crash-loop back-off, exactly when the container's rules and policy
// say so (kuberuntime_manager.go computePodActions with
// kubecontainer.ShouldContainerBeRestarted), and a container it does not
// restart leaves the pod Succeeded or Failed, whatever the pod's own
// restartPolicy (kubelet_pods.go getPhase, stoppedNotRestartable).
func TestAppContainerRestartPolicyAndRules(t *testing.T) {
	never, always, onFailure := corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure
	in := func(op corev1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) []corev1.ContainerRestartRule {
		return []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
			ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}}
	}
	tests := []struct {
		name       string
		pod        corev1.RestartPolicy
		policy     *corev1.ContainerRestartPolicy
		rules      []corev1.ContainerRestartRule
		exit       int
		restarted  bool
		wantPhase  corev1.PodPhase // when not restarted
		wantStatus string          // kubectl STATUS when not restarted
	}{
		{"container Never under pod Always, exit 1", corev1.RestartPolicyAlways, &never, nil, 1, false, corev1.PodFailed, "Error"},
		{"container Never under pod Always, exit 0", corev1.RestartPolicyAlways, &never, nil, 0, false, corev1.PodSucceeded, "Completed"},
		{"container OnFailure under pod Always, exit 0", corev1.RestartPolicyAlways, &onFailure, nil, 0, false, corev1.PodSucceeded, "Completed"},
		{"container Always under pod Never, exit 0", corev1.RestartPolicyNever, &always, nil, 0, true, "", ""},
		{"container OnFailure under pod Never, exit 3", corev1.RestartPolicyNever, &onFailure, nil, 3, true, "", ""},
		{"rule Restart In [42], exit 42", corev1.RestartPolicyAlways, &never, in(corev1.ContainerRestartRuleOnExitCodesOpIn, 42), 42, true, "", ""},
		{"rule Restart In [42], exit 3", corev1.RestartPolicyAlways, &never, in(corev1.ContainerRestartRuleOnExitCodesOpIn, 42), 3, false, corev1.PodFailed, "Error"},
		{"rule Restart NotIn [0 1], exit 7", corev1.RestartPolicyNever, &never, in(corev1.ContainerRestartRuleOnExitCodesOpNotIn, 0, 1), 7, true, "", ""},
		{"rule Restart NotIn [0 1], exit 0", corev1.RestartPolicyOnFailure, &never, in(corev1.ContainerRestartRuleOnExitCodesOpNotIn, 0, 1), 0, false, corev1.PodSucceeded, "Completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			p := pod("rules", map[string]string{"CRASH_FACTOR": "100", "CRASH_EXIT_CODE": strconv.Itoa(tt.exit)})
			p.Spec.RestartPolicy = tt.pod
			p.Spec.Containers[0].RestartPolicy = tt.policy
			p.Spec.Containers[0].RestartPolicyRules = tt.rules
			created := e.create(p)

			if !tt.restarted {
				got := e.waitPod("rules", "phase "+string(tt.wantPhase), func(p *corev1.Pod) bool { return p.Status.Phase == tt.wantPhase })
				e.step(30 * time.Second)
				got = e.get("rules")
				if a, _, _ := e.current("rules"); a != 0 {
					t.Errorf("container ran %d times, want once", a+1)
				}
				cs := containerStatus(got)
				if term := cs.State.Terminated; term == nil || int(term.ExitCode) != tt.exit || cs.RestartCount != 0 {
					t.Errorf("container %+v, want terminated with exit %d, no restart", cs, tt.exit)
				}
				if s := kube.PodStatus(got, e.fake.Now()).Status; s != tt.wantStatus || got.Status.Phase != tt.wantPhase {
					t.Errorf("STATUS %s phase %s, want %s %s", s, got.Status.Phase, tt.wantStatus, tt.wantPhase)
				}
				return
			}

			// Restarted at once after the first exit, then in back-off:
			// the pod runs (a container will restart), kubectl says
			// CrashLoopBackOff, and the next start waits the 10 s.
			e.waitRun("rules", 1)
			got := e.waitPod("rules", "CrashLoopBackOff", func(p *corev1.Pod) bool {
				w := containerStatus(p).State.Waiting
				return w != nil && w.Reason == "CrashLoopBackOff" && containerStatus(p).RestartCount == 1
			})
			if got.Status.Phase != corev1.PodRunning {
				t.Errorf("phase %s while the container restarts, want Running", got.Status.Phase)
			}
			if s := kube.PodStatus(got, e.fake.Now()).Status; s != "CrashLoopBackOff" {
				t.Errorf("STATUS %s, want CrashLoopBackOff", s)
			}
			if last := containerStatus(got).LastTerminationState.Terminated; last == nil || int(last.ExitCode) != tt.exit {
				t.Errorf("lastState %+v, want exit %d", last, tt.exit)
			}
			e.waitEvent("rules", reasonBackOff, fmt.Sprintf("Back-off restarting failed container c in pod rules_default(%s)", created.UID))
			e.step(9 * time.Second)
			if a, _, _ := e.current("rules"); a != 1 {
				t.Fatalf("run %d started before the 10 s back-off ended", a)
			}
			e.step(time.Second)
			e.waitRun("rules", 2)
		})
	}
}

// A failed liveness probe kills the container, and computePodActions
// decides the restart from the container's restartPolicy alone (the rules
// are about exit codes; it has not exited): under container restartPolicy
// Never the Killing event does not say "will be restarted". The exited
// container is then judged like any other: by its rules first.
func TestProbeKillFollowsContainerPolicy(t *testing.T) {
	never := corev1.ContainerRestartPolicyNever
	tests := []struct {
		name      string
		rules     []corev1.ContainerRestartRule
		restarted bool
	}{
		{"container Never", nil, false},
		// The probe server exits 0 on the kill's SIGTERM.
		{"container Never, rule Restart In [0]", []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
			ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{0}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			p := pod("probe", nil)
			pr := httpProbe("/healthz", 80)
			pr.InitialDelaySeconds, pr.PeriodSeconds, pr.FailureThreshold = 1, 1, 1
			p.Spec.Containers[0].LivenessProbe = pr
			p.Spec.Containers[0].RestartPolicy = &never
			p.Spec.Containers[0].RestartPolicyRules = tt.rules
			e.create(p)
			first := e.listening("probe")
			e.settle()
			e.post(first, "/healthz/fail")
			e.step(time.Second)
			e.waitEvent("probe", reasonKilling, "Container c failed liveness probe")
			if tt.restarted {
				e.waitRun("probe", 1)
				got := e.listening("probe")
				if last := containerStatus(got).LastTerminationState.Terminated; last == nil || last.ExitCode != 0 {
					t.Errorf("lastState %+v, want the killed run's exit 0", last)
				}
				return
			}
			got := e.waitPod("probe", "phase Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
			e.step(30 * time.Second)
			if a, _, _ := e.current("probe"); a != 0 {
				t.Errorf("container ran %d times, want once", a+1)
			}
			if s := kube.PodStatus(got, e.fake.Now()).Status; s != "Completed" {
				t.Errorf("STATUS %s, want Completed", s)
			}
			for _, ev := range e.events("probe") {
				if ev.Reason == reasonKilling && ev.Message != "Container c failed liveness probe" {
					t.Errorf("Killing event %q, want no restart promised", ev.Message)
				}
			}
		})
	}
}

// An init container's rules decide too (computeInitContainerActions asks
// ShouldContainerBeRestarted): under pod restartPolicy Never a matching
// Restart rule runs a failed init container again, with the back-off; a
// code no rule matches fails the pod.
func TestInitContainerRestartRules(t *testing.T) {
	never := corev1.ContainerRestartPolicyNever
	for _, tt := range []struct {
		exit      int
		restarted bool
	}{{3, true}, {4, false}} {
		t.Run(fmt.Sprintf("exit %d", tt.exit), func(t *testing.T) {
			e := start(t, true)
			p := initPod("initrules", corev1.Container{
				Name: "check", Command: []string{"sh", "-c", fmt.Sprintf("exit %d", tt.exit)},
				RestartPolicy: &never,
				RestartPolicyRules: []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
					ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{3}}}},
			})
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			e.create(p)
			if !tt.restarted {
				got := e.waitPod("initrules", "phase Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
				e.step(30 * time.Second)
				if r := e.initState("initrules", "check"); r.attempt != 0 {
					t.Errorf("init container ran %d times, want once", r.attempt+1)
				}
				if s := kube.PodStatus(got, e.fake.Now()).Status; s != "Init:Error" {
					t.Errorf("STATUS %s, want Init:Error", s)
				}
				return
			}
			e.waitFor("the restart", func() bool { return e.initState("initrules", "check").attempt == 1 })
			got := e.waitPod("initrules", "Init:CrashLoopBackOff", func(p *corev1.Pod) bool {
				return kube.PodStatus(p, e.fake.Now()).Status == "Init:CrashLoopBackOff"
			})
			if got.Status.Phase != corev1.PodPending {
				t.Errorf("phase %s while the init container restarts, want Pending", got.Status.Phase)
			}
			e.step(10 * time.Second)
			e.waitFor("the restart after the back-off", func() bool { return e.initState("initrules", "check").attempt == 2 })
		})
	}
}

// RestartAllContainers (RestartAllContainersOnContainerExits, beta in 1.37)
// is not modelled: the container alone is restarted, and a Warning says so.
func TestRestartAllContainersRuleIsWarned(t *testing.T) {
	e := start(t, true)
	never := corev1.ContainerRestartPolicyNever
	p := pod("all", map[string]string{"CRASH_FACTOR": "100", "CRASH_EXIT_CODE": "5"})
	p.Spec.Containers[0].RestartPolicy = &never
	p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestartAllContainers,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{5}}}}
	e.create(p)
	ev := e.waitEvent("all", restartAllNotModelledReason,
		"the lab does not restart all containers of the pod when container c exits by a RestartAllContainers rule: it restarts container c alone, with the crash-loop back-off")
	if ev.Type != corev1.EventTypeWarning || ev.InvolvedObject.FieldPath != "spec.containers{c}" {
		t.Errorf("event %s on %s, want Warning on spec.containers{c}", ev.Type, ev.InvolvedObject.FieldPath)
	}
	e.waitRun("all", 1)
	got := e.waitPod("all", "CrashLoopBackOff", func(p *corev1.Pod) bool {
		w := containerStatus(p).State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
	if got.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", got.Status.Phase)
	}
}
