package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/proberctl/proberctl/kube"
)

// t0 is the fixed clock every test screen is drawn at.
var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// fakeSource hands out scripted batches, then blocks until ctx ends.
type fakeSource struct{ ch chan kube.Batch }

func newFakeSource(batches ...kube.Batch) *fakeSource {
	f := &fakeSource{ch: make(chan kube.Batch, 64)}
	for _, b := range batches {
		f.ch <- b
	}
	return f
}

func (f *fakeSource) Next(ctx context.Context) (kube.Batch, error) {
	select {
	case b := <-f.ch:
		return b, nil
	case <-ctx.Done():
		return kube.Batch{}, ctx.Err()
	}
}

// call is one recorded action.
type call struct {
	Action string
	Target kube.Target
	Arg    string
}

// fakeActions records calls and answers like a healthy probe server.
type fakeActions struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeActions) record(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeActions) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeActions) Crash(_ context.Context, t kube.Target) kube.Result {
	f.record(call{"crash", t, ""})
	return kube.Result{Action: "crash", Target: t, Latency: 3 * time.Millisecond, Note: "connection closed: the container exited"}
}

func (f *fakeActions) Resolve(_ context.Context, t kube.Target, host string) kube.Result {
	f.record(call{"resolve", t, host})
	return kube.Result{Action: "resolve", Target: t, Code: 200, Latency: 12 * time.Millisecond,
		Body: "Hostname = " + t.Pod + "\nService hostname = " + host + "\nService IP = 10.96.0.10\n"}
}

func (f *fakeActions) Healthz(_ context.Context, t kube.Target) kube.Result {
	f.record(call{"healthz", t, ""})
	return kube.Result{Action: "healthz", Target: t, Code: 500, Latency: 2 * time.Millisecond, Body: `{ "status": "error" }`}
}

func (f *fakeActions) Info(_ context.Context, t kube.Target) kube.Result {
	f.record(call{"info", t, ""})
	return kube.Result{Action: "info", Target: t, Code: 200, Latency: 2 * time.Millisecond, Body: `{"hostname":"` + t.Pod + `","version":"1.0.1"}`}
}

func (f *fakeActions) Delete(_ context.Context, t kube.Target, _ *int64) kube.Result {
	f.record(call{"delete", t, ""})
	return kube.Result{Action: "delete", Target: t, Code: 200, Latency: 5 * time.Millisecond}
}

func (f *fakeActions) Apply(_ context.Context, path string) kube.Result {
	f.record(call{"apply", kube.Target{}, path})
	if path == "missing.yaml" {
		return kube.Result{Action: "apply", Err: errors.New("open missing.yaml: no such file or directory")}
	}
	return kube.Result{Action: "apply", Code: 200, Latency: 40 * time.Millisecond, Body: "deployment.apps/prober-foo configured"}
}

func (f *fakeActions) Logs(_ context.Context, t kube.Target, previous bool) kube.Result {
	arg, note := "current", "container prober-foo"
	if previous {
		arg, note = "previous", "container prober-foo, previous instance"
	}
	f.record(call{"logs", t, arg})
	return kube.Result{Action: "logs", Target: t, Code: 200, Latency: 4 * time.Millisecond, Note: note,
		Body: `level=ERROR msg="crashing on start" reason="CRASH_FACTOR=100 rolled 37 (crashes below 100)" exit_code=2` + "\n"}
}

// podOpt shapes a fixture pod.
type podOpt func(*corev1.Pod)

func ready(at time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].Ready = true
		setCond(p, corev1.PodReady, corev1.ConditionTrue, at)
		setCond(p, corev1.ContainersReady, corev1.ConditionTrue, at)
	}
}

func restarts(n int32, last time.Time) podOpt {
	return func(p *corev1.Pod) {
		cs := &p.Status.ContainerStatuses[0]
		cs.RestartCount = n
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "Error", ExitCode: 2, FinishedAt: metav1.NewTime(last), StartedAt: metav1.NewTime(last.Add(-time.Minute)),
		}}
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(last)}}
	}
}

func crashLoop() podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "CrashLoopBackOff", Message: "back-off 20s restarting failed container",
		}}
	}
}

func version(v string) podOpt { return func(p *corev1.Pod) { p.Labels["version"] = v } }

func setCond(p *corev1.Pod, t corev1.PodConditionType, s corev1.ConditionStatus, at time.Time) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			p.Status.Conditions[i].Status = s
			p.Status.Conditions[i].LastTransitionTime = metav1.NewTime(at)
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s, LastTransitionTime: metav1.NewTime(at)})
}

// pod is the seed's prober-foo pod: one container with the seed's probes
// and env, running, not ready unless opts say so.
func pod(name string, created time.Time, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: name, CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{"app": "prober-foo", "version": "1.0.1"},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			Containers: []corev1.Container{{
				Name: "prober-foo", Image: "proberctl:dev",
				Env: []corev1.EnvVar{
					{Name: "START_WAIT_SECS", Value: "15"},
					{Name: "CRASH_FACTOR", Value: "40"},
					{Name: "CONTENT", Value: `{ "team": "foo", "version": "1.0.1" }`},
				},
				LivenessProbe: &corev1.Probe{
					ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(80)}},
					InitialDelaySeconds: 20, SuccessThreshold: 1, FailureThreshold: 1,
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(80)}},
					InitialDelaySeconds: 5, SuccessThreshold: 1, FailureThreshold: 1,
				},
			}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.44.0.3", PodIPs: []corev1.PodIP{{IP: "10.44.0.3"}},
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(created)},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(created)},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name:  "prober-foo",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(created)}},
			}},
		},
	}
	// A name like the seed's, prober-foo-<hash>-<suffix>, is a pod of
	// replica set prober-foo-<hash>; a name without a dash is a bare pod.
	if i := strings.LastIndex(name, "-"); i > 0 {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name[:i], Controller: boolp(true)}}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func podDelta(p *corev1.Pod) kube.Delta {
	return kube.Delta{Kind: kube.KindPod, Type: kube.Upsert, Key: p.Namespace + "/" + p.Name, Obj: p}
}

func event(name, podName, typ, reason, msg string, count int32, last time.Time) kube.Delta {
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: name, CreationTimestamp: metav1.NewTime(last)},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: podName},
		Type:           typ, Reason: reason, Message: msg, Count: count, Source: corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: metav1.NewTime(last.Add(-time.Minute)), LastTimestamp: metav1.NewTime(last),
	}
	return kube.Delta{Kind: kube.KindEvent, Type: kube.Upsert, Key: "default/" + name, Obj: e}
}

func int32p(n int32) *int32 { return &n }
func boolp(b bool) *bool    { return &b }

func deployment(replicas int32) kube.Delta {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "prober-foo"},
		Spec:       appsv1.DeploymentSpec{Replicas: int32p(replicas)},
		Status:     appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3},
	}
	surge, unavail := intstr.FromInt32(1), intstr.FromString("30%")
	d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}
	return kube.Delta{Kind: kube.KindDeployment, Key: "default/prober-foo", Obj: d}
}

func replicaSet(hash, ver string, rev int, desired, readyN int32) kube.Delta {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: "prober-foo-" + hash,
			Annotations:     map[string]string{revisionAnnotation: fmt.Sprint(rev)},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "prober-foo"}},
		},
		Spec:   appsv1.ReplicaSetSpec{Replicas: int32p(desired)},
		Status: appsv1.ReplicaSetStatus{Replicas: desired, ReadyReplicas: readyN, AvailableReplicas: readyN},
	}
	rs.Spec.Template.Labels = map[string]string{"version": ver}
	return kube.Delta{Kind: kube.KindReplicaSet, Key: "default/" + rs.Name, Obj: rs}
}

func service() kube.Delta {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "foo-nodeport-svc"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{
			{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP},
		}},
	}
	return kube.Delta{Kind: kube.KindService, Key: "default/foo-nodeport-svc", Obj: s}
}

type ep struct {
	pod   string
	ready bool
}

func slice(eps ...ep) kube.Delta {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "foo-nodeport-svc-abcde",
			Labels: map[string]string{discoveryv1.LabelServiceName: "foo-nodeport-svc"}},
	}
	for i, e := range eps {
		name, r := e.pod, e.ready
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.44.0.%d", i+1)},
			Conditions: discoveryv1.EndpointConditions{Ready: boolp(r)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: name},
		})
	}
	return kube.Delta{Kind: kube.KindEndpointSlice, Key: "default/" + sl.Name, Obj: sl}
}

// seedBatch is the seed's moment of "five kubectl get pods runs": three
// 1.0.1 pods in different states, one 1.0.2 pod of a rollout, events,
// the Deployment, its replica sets and the Service.
func seedBatch() kube.Batch {
	c := t0.Add(-5*time.Minute - 30*time.Second)
	return kube.Batch{
		Conn:   &kube.Conn{State: kube.Connected, Since: t0.Add(-time.Minute)},
		Synced: true,
		Deltas: []kube.Delta{
			podDelta(pod("prober-foo-67b66bdbf7-4bxjb", c, ready(t0.Add(-33*time.Second)), restarts(3, t0.Add(-38*time.Second)))),
			podDelta(pod("prober-foo-67b66bdbf7-7dnzd", c, ready(t0.Add(-2*time.Minute)), restarts(1, t0.Add(-128*time.Second)))),
			podDelta(pod("prober-foo-67b66bdbf7-hw78w", c, restarts(2, t0.Add(-4*time.Second)), crashLoop())),
			podDelta(pod("prober-foo-764cf9f454-5pqcx", t0.Add(-20*time.Second), version("1.0.2"))),
			event("e1", "prober-foo-67b66bdbf7-hw78w", "Warning", "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", 5, t0.Add(-10*time.Second)),
			event("e2", "prober-foo-67b66bdbf7-hw78w", "Normal", "Killing", "Container prober-foo failed liveness probe, will be restarted", 2, t0.Add(-9*time.Second)),
			event("e3", "prober-foo-67b66bdbf7-hw78w", "Warning", "BackOff", "Back-off restarting failed container prober-foo in pod prober-foo-67b66bdbf7-hw78w_default(1234)", 3, t0.Add(-4*time.Second)),
			event("e4", "prober-foo-67b66bdbf7-4bxjb", "Warning", "Unhealthy", `Readiness probe failed: Get "http://10.44.0.3:80/healthz": dial tcp 10.44.0.3:80: connect: connection refused`, 1, t0.Add(-40*time.Second)),
			event("e5", "prober-foo-764cf9f454-5pqcx", "Normal", "Pulled", `Successfully pulled image "proberctl:dev" in 781.431535ms`, 1, t0.Add(-18*time.Second)),
			deployment(3),
			replicaSet("764cf9f454", "1.0.2", 2, 1, 0),
			replicaSet("67b66bdbf7", "1.0.1", 1, 3, 2),
			service(),
			slice(ep{"prober-foo-67b66bdbf7-4bxjb", true}, ep{"prober-foo-67b66bdbf7-7dnzd", true}, ep{"prober-foo-67b66bdbf7-hw78w", false}),
		},
	}
}
