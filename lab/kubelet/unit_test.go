package kubelet

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodAddress(t *testing.T) {
	mk := func(ip, ports string, containers ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Annotations: map[string]string{}}}
		if ip != "" {
			p.Annotations[IPAnnotation] = ip
		}
		if ports != "" {
			p.Annotations[PortsAnnotation] = ports
		}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		}
		return p
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		port    int
		want    string
		wantErr string
	}{
		{"declared port", mk("127.0.1.2", `{"a":4001,"a/80":4001}`, "a"), 80, "127.0.1.2:4001", ""},
		// The server listens on one port only: another port on a one-container
		// pod is refused, as on a cluster, not quietly routed to it.
		{"undeclared port, one container", mk("127.0.1.2", `{"a":4001}`, "a"), 8080, "", "serves no port 8080"},
		{"second container's port", mk("127.0.1.2", `{"a":4001,"a/80":4001,"b":4002,"b/9090":4002}`, "a", "b"), 9090, "127.0.1.2:4002", ""},
		{"unknown port, two containers", mk("127.0.1.2", `{"a":4001,"b":4002}`, "a", "b"), 81, "", "serves no port 81"},
		{"not scheduled", mk("", "", "a"), 80, "", "has no IP yet"},
		{"no port map", mk("127.0.1.2", "", "a"), 80, "", "has no port map"},
		{"bad port map", mk("127.0.1.2", `{"a":`, "a"), 80, "", "annotation lab.proberctl.dev/ports"},
		{"nil pod", nil, 80, "", "no pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PodAddress(tt.pod, tt.port)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("PodAddress = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	defined := map[string]string{"A": "x", "B": "y"}
	tests := map[string]string{
		"plain":       "plain",
		"$(A)":        "x",
		"$(A)-$(B)":   "x-y",
		"$$(A)":       "$(A)",
		"$(C)":        "$(C)",
		"$(A":         "$(A",
		"cost $5":     "cost $5",
		"trailing $":  "trailing $",
		"$(A)$(A)$$$": "xx$$",
	}
	for in, want := range tests {
		if got := expand(in, defined); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	k := New(nil, Options{})
	pw := &podWorker{k: k, ip: "127.0.1.9"}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", Labels: map[string]string{"app": "web"}}}
	c := &containerState{hostPort: 4321, spec: corev1.Container{Env: []corev1.EnvVar{
		{Name: "CONTENT", Value: "hello from $(MY_NAME)"},
		{Name: "MY_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "GREETING", Value: "hi $(MY_NAME)"},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "MY_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "PORT", Value: "80"},
	}}}
	env := map[string]string{}
	for _, kv := range pw.env(p, c) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v // later wins, as in exec
	}
	want := map[string]string{
		"CONTENT": "hello from $(MY_NAME)", // defined later: not expanded
		"MY_NAME": "web-1", "GREETING": "hi web-1", "APP": "web", "MY_IP": "127.0.1.9",
		"HOSTNAME": "web-1", "POD_IP": "127.0.1.9", "PORT": "4321",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}

// pkg/kubelet/kuberuntime/kuberuntime_container.go setTerminationGracePeriod
// and the 2 s minimum of killContainer.
func TestGracePeriod(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	tests := []struct {
		name                    string
		deletion, pod, probeTGP *int64
		want                    time.Duration
	}{
		{"default", nil, nil, nil, 30 * time.Second},
		{"pod", nil, i(10), nil, 10 * time.Second},
		{"probe overrides pod", nil, i(60), i(5), 5 * time.Second},
		{"deletion overrides probe", i(7), i(60), i(5), 7 * time.Second},
		{"minimum 2s", nil, i(0), nil, 2 * time.Second},
		{"deletion 0 still 2s", i(0), nil, nil, 2 * time.Second},
	}
	for _, tt := range tests {
		p := &corev1.Pod{}
		p.DeletionGracePeriodSeconds = tt.deletion
		p.Spec.TerminationGracePeriodSeconds = tt.pod
		var pr *corev1.Probe
		if tt.probeTGP != nil {
			pr = &corev1.Probe{TerminationGracePeriodSeconds: tt.probeTGP}
		}
		if got := gracePeriod(p, pr); got != tt.want {
			t.Errorf("%s: grace %v, want %v", tt.name, got, tt.want)
		}
	}
}

// pkg/kubelet/kubelet_pods.go getPhase for regular containers.
func TestPhase(t *testing.T) {
	running := corev1.ContainerStatus{Name: "a", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	creating := corev1.ContainerStatus{Name: "a", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	exited := func(code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	backoff := corev1.ContainerStatus{Name: "a",
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	tests := []struct {
		name     string
		policy   corev1.RestartPolicy
		status   []corev1.ContainerStatus
		terminal bool
		want     corev1.PodPhase
	}{
		{"creating", corev1.RestartPolicyAlways, []corev1.ContainerStatus{creating}, false, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, []corev1.ContainerStatus{running}, false, corev1.PodRunning},
		{"back-off", corev1.RestartPolicyAlways, []corev1.ContainerStatus{backoff}, false, corev1.PodRunning},
		{"exited, always", corev1.RestartPolicyAlways, []corev1.ContainerStatus{exited(1)}, false, corev1.PodRunning},
		{"exited 0, never", corev1.RestartPolicyNever, []corev1.ContainerStatus{exited(0)}, false, corev1.PodSucceeded},
		{"exited 1, never", corev1.RestartPolicyNever, []corev1.ContainerStatus{exited(1)}, false, corev1.PodFailed},
		{"exited 1, on failure", corev1.RestartPolicyOnFailure, []corev1.ContainerStatus{exited(1)}, false, corev1.PodRunning},
		{"exited 0, on failure", corev1.RestartPolicyOnFailure, []corev1.ContainerStatus{exited(0)}, false, corev1.PodSucceeded},
		{"deleted, exited 0", corev1.RestartPolicyAlways, []corev1.ContainerStatus{exited(0)}, true, corev1.PodSucceeded},
		{"deleted, killed", corev1.RestartPolicyAlways, []corev1.ContainerStatus{exited(137)}, true, corev1.PodFailed},
		{"no status", corev1.RestartPolicyAlways, nil, false, corev1.PodPending},
	}
	for _, tt := range tests {
		p := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: tt.policy, Containers: []corev1.Container{{Name: "a"}}}}
		if got := phase(p, nil, tt.status, tt.terminal); got != tt.want {
			t.Errorf("%s: phase %s, want %s", tt.name, got, tt.want)
		}
	}
}

// status_manager.go: a condition's lastTransitionTime moves only when its
// status changes; conditions the kubelet does not own are kept.
func TestMergeStatusKeepsTransitionTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	old := &corev1.PodStatus{Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(t0)},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
	}}
	gen := &corev1.PodStatus{Conditions: []corev1.PodCondition{
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue},
	}}
	got := mergeStatus(old, gen, t1)
	want := map[corev1.PodConditionType]time.Time{corev1.PodInitialized: t0, corev1.PodReady: t1, corev1.PodScheduled: t0}
	if len(got.Conditions) != 3 { // the two generated, PodScheduled kept
		t.Fatalf("conditions %v", got.Conditions)
	}
	for _, c := range got.Conditions {
		if !c.LastTransitionTime.Time.Equal(want[c.Type]) {
			t.Errorf("%s lastTransitionTime %v, want %v", c.Type, c.LastTransitionTime, want[c.Type])
		}
	}
}
