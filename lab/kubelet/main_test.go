package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/proberctl/proberctl/internal/testbin"
	"github.com/proberctl/proberctl/lab/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// buildProberctl builds the binary every container runs ("proberctl
// serve") once per test process, on first use, so unit tests and fuzzing
// do not wait for it. It is the image's build (serveonly, see Dockerfile):
// what a pod runs on a cluster, and it links neither the dashboard nor the
// kube layer, which a container never runs.
func buildProberctl(t testing.TB) string {
	t.Helper()
	return testbin.Build(t, testbin.Options{Tags: []string{"serveonly"}})
}

// env is one kubelet on one in-memory API, as the lab runs it.
type env struct {
	t      *testing.T
	client kubernetes.Interface
	clock  clock.WithTicker
	fake   *testClock // nil with the real clock
	k      *Kubelet

	cancel  context.CancelFunc
	done    chan error
	stopped bool

	mu     sync.Mutex
	traces []probeTrace
}

// start runs a kubelet on a fresh store. fake selects a fake clock starting
// at a fixed time.
func start(t *testing.T, fake bool) *env {
	t.Helper()
	return startLogged(t, fake, nil)
}

// startLogged is start with the kubelet's logs, children's output included
// at debug level, sent to log.
func startLogged(t *testing.T, fake bool, log *slog.Logger) *env {
	t.Helper()
	e := &env{t: t}
	var clk clock.WithTicker = clock.RealClock{}
	if fake {
		e.fake = newTestClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
		clk = e.fake
	}
	e.clock = clk
	st := store.New(store.Options{Clock: clk})
	t.Cleanup(st.Close)
	e.client = st.Client()
	e.k = New(e.client, Options{ServerArgv: []string{buildProberctl(t), "serve"}, Clock: clk, Logger: log})
	e.k.trace = func(tr probeTrace) {
		e.mu.Lock()
		e.traces = append(e.traces, tr)
		e.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- e.k.Run(ctx) }()
	t.Cleanup(e.stopKubelet)
	return e
}

// stopKubelet ends Run and waits for it to return.
func (e *env) stopKubelet() {
	e.t.Helper()
	e.cancel()
	if e.stopped {
		return
	}
	select {
	case err := <-e.done:
		e.stopped = true
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Error("kubelet did not stop within 30s")
	}
}

// pod is a one-container pod running the probe server with env.
func pod(name string, env map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "proberctl:test"}},
		},
	}
	for k, v := range env {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: k, Value: v})
	}
	return p
}

func httpProbe(path string, port int) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(int32(port))}}}
}

func (e *env) create(p *corev1.Pod) *corev1.Pod {
	e.t.Helper()
	out, err := e.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create pod: %v", err)
	}
	return out
}

func (e *env) get(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get pod: %v", err)
	}
	return p
}

// waitFor polls cond until it holds or the deadline passes.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPod waits until the stored pod satisfies cond and returns it.
func (e *env) waitPod(name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		} else if !apierrors.IsNotFound(err) {
			e.t.Fatalf("get pod: %v", err)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for pod %s: %s; last status: %+v", name, what, statusSummary(last))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statusSummary(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s", p.Status.Phase)
	for _, cs := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, " %s{ready=%v restarts=%d state=%+v last=%+v}", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
	}
	return b.String()
}

// events returns the pod's events as "Type Reason Message" lines with their
// counts, in creation order.
func (e *env) events(name string) []*corev1.Event {
	e.t.Helper()
	list, err := e.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("list events: %v", err)
	}
	var out []*corev1.Event
	for i := range list.Items {
		if list.Items[i].InvolvedObject.Name == name {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

// waitEvent waits for an event of the pod with reason and message.
func (e *env) waitEvent(name, reason, message string) *corev1.Event {
	e.t.Helper()
	var found *corev1.Event
	e.waitFor(fmt.Sprintf("event %s %q on %s", reason, message, name), func() bool {
		for _, ev := range e.events(name) {
			if ev.Reason == reason && ev.Message == message {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// tracesOf returns the probe ticks of one probe type so far.
func (e *env) tracesOf(typ probeType) []probeTrace {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []probeTrace
	for _, tr := range e.traces {
		if tr.Type == typ {
			out = append(out, tr)
		}
	}
	return out
}

// settle waits until the kubelet has handled every wake-up, tick and timer
// sent so far.
func (e *env) settle() {
	e.t.Helper()
	e.waitFor("the kubelet to settle", func() bool { return e.k.pending.Load() == 0 })
}

// step settles, advances the fake clock by d one second at a time, and
// settles after each second, so every tick is handled at its own time.
func (e *env) step(d time.Duration) {
	e.t.Helper()
	e.settle()
	for d > 0 {
		s := min(d, time.Second)
		e.fake.Step(s)
		d -= s
		e.settle()
	}
}

func containerStatus(p *corev1.Pod) corev1.ContainerStatus {
	if len(p.Status.ContainerStatuses) == 0 {
		return corev1.ContainerStatus{}
	}
	return p.Status.ContainerStatuses[0]
}

func running(p *corev1.Pod) bool { return containerStatus(p).State.Running != nil }

func httpGet(url string) (int, error) {
	res, err := testHTTP.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// testHTTP talks to the containers without keeping connections: a restarted
// container listens on the same port, and a pooled connection to the run
// before would fail.
var testHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
