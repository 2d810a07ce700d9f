package lab

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/lab/kubelet"
)

// TestSecondStage is the seed's second experiment: applying 1.0.2 (health
// failing 40% of the time, liveness every 3 s with failureThreshold 2) to
// a running 1.0.1 rolls out with maxSurge 1 / maxUnavailable 30%, and the
// new pods then restart on liveness failures.
//
// The manifests are the demo's, with START_WAIT_SECS 1 instead of 15 in
// both stages; probe timings are the manifests'. The containers start
// through the seeded runtime (seeds_test.go) with the "second-stage" plan:
// the first stage starts without crashes (TestFirstStage covers those),
// and the 1.0.2 containers pass their first /healthz checks (14 for the
// first two pods, 4 for the last) and then fail 5 in a row. That makes the
// run repeatable: each new pod is ready at its first readiness check and
// stays ready long enough for the three-step rollout (readiness every 10 s
// from 5 s, liveness every 3 s from 20 s: 14 checks last about 50 s), and
// then liveness fails twice in a row and the kubelet restarts it. With
// unplanned rolls the rollout needs all three new pods ready at once while
// each fails 40% of its checks: 1.5 to 5 minutes.
//
// Alone the rollout ends (about 40 s) before the first liveness kill
// (about 50 s); on a loaded machine a kill can come first and the rollout
// wait for the killed pod to be ready again. Both orders are what a
// cluster does, so the test waits for both outcomes and checks each
// whatever the order: the replica sets' steps against the bounds as they
// happen, the kills by their events and the restart counts.
func TestSecondStage(t *testing.T) {
	t.Parallel()
	file, _ := stage1(t, "40")
	rt := newSeededRuntime(t, "second-stage")
	l := newLab(t, rt.Argv, file)
	c := l.Client()
	ctx := context.Background()
	start(t, l)
	readyPods(t, c, 120*time.Second, "1.0.1", 3)

	// The bounds, from the Kubernetes rules
	// (pkg/controller/deployment/util/deployment_util.go ResolveFenceposts):
	// maxSurge 1 is an integer, so at most 3+1 pods; maxUnavailable 30% of
	// 3 is 0.9, rounded down to 0, so at least 3 stay available.
	const maxPods, minAvailable = 4, 3
	rollout := watchRollout(t, c, maxPods, minAvailable)

	s2 := loadDemo(t, demo.Stage2)
	setEnv(s2.deploy, "START_WAIT_SECS", "1")
	path := write(t, "foo-1.0.2.yaml", s2.deploy)
	applied := time.Now()
	r := l.Actions().Apply(ctx, path)
	if r.Err != nil || r.Body != "deployment.apps/prober-foo configured" {
		t.Fatalf("apply stage 2: %+v", r)
	}

	// The rollout is done once the Deployment counts three updated pods
	// and no others, and every pod is 1.0.2: with maxUnavailable 0 that
	// happens only after the last 1.0.1 pod made way for a ready 1.0.2
	// one. It stays done: nothing brings 1.0.1 back.
	//
	// The seed's "periodic restarts": liveness fails twice in a row, the
	// kubelet kills and restarts the container, with the kubelet's events
	// (pkg/kubelet/prober/worker.go, prober.go; pkg/probe/http/http.go;
	// pkg/kubelet/kuberuntime/kuberuntime_manager.go computePodActions),
	// on one pod after another. A 1.0.2 pod counts once it was killed,
	// the 500 the plan's seeds answer shows in an Unhealthy event, every
	// kill follows two liveness failures (a loaded machine may add
	// timeouts, whose message differs), and its restart count went up.
	var rolledOut, twoRestarted time.Duration
	restarted := map[string]bool{}
	waitFor(t, 300*time.Second, "the rollout to 1.0.2 and liveness restarts on two 1.0.2 pods", func() (bool, string) {
		// The events first: a kill they show is then in the pods' status
		// by the time the pods are read, unless it is under way.
		events, err := c.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		d, err := c.AppsV1().Deployments(Namespace).Get(ctx, "prober-foo", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ps := pods(t, c)
		lv := livenessOf(events)
		if rolledOut == 0 && d.Status.UpdatedReplicas == 3 && d.Status.Replicas == 3 && !slices.ContainsFunc(ps, func(p corev1.Pod) bool {
			return p.Labels["version"] != "1.0.2" || p.DeletionTimestamp != nil
		}) {
			rolledOut = time.Since(applied)
		}
		for _, p := range ps {
			if p.Labels["version"] == "1.0.2" && lv.killed[p.Name] > 0 && lv.status500[p.Name] > 0 &&
				lv.failed[p.Name] >= 2*lv.killed[p.Name] && restarts(&p) > 0 {
				restarted[p.Name] = true
			}
		}
		if twoRestarted == 0 && len(restarted) >= 2 {
			twoRestarted = time.Since(applied)
		}
		return rolledOut > 0 && twoRestarted > 0, fmt.Sprintf("rolled out after %v: %v; %+v\n%s\n%s",
			rolledOut.Round(time.Second), rolledOut > 0, d.Status, lv, describe(ps))
	})
	t.Logf("after the apply: rolled out in %v, liveness restarts on two pods in %v: %v",
		rolledOut.Round(time.Second), twoRestarted.Round(time.Second), slices.Sorted(maps.Keys(restarted)))
	rollout.check(t)

	// What kubectl get pods shows: only 1.0.2 pods, Running, their
	// RESTARTS counting the kills. A killed container shows its new run
	// at the kubelet's next relist, a second later, and a pod killed
	// again within the back-off shows CrashLoopBackOff, its count one
	// short of its kills until the back-off ends: wait past those.
	waitFor(t, 90*time.Second, "kubectl get pods: 1.0.2 pods Running, RESTARTS counting their liveness kills", func() (bool, string) {
		events, err := c.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		lv := livenessOf(events)
		now := time.Now()
		ok := true
		var state []string
		for _, p := range pods(t, c) {
			row := kube.PodStatus(&p, now)
			state = append(state, fmt.Sprintf("%s version=%s STATUS %s RESTARTS %s kills %d",
				p.Name, p.Labels["version"], row.Status, row.Restarts, lv.killed[p.Name]))
			switch {
			case p.Labels["version"] != "1.0.2":
				ok = false
			case row.Status == "Running" && row.RestartCount >= lv.killed[p.Name]:
			case row.Status == "CrashLoopBackOff" && row.RestartCount >= lv.killed[p.Name]-1:
			default:
				ok = false
			}
		}
		return ok, strings.Join(state, "\n")
	})
}

// liveness is what the events say of liveness probes, by pod name.
type liveness struct {
	killed    map[string]int // Killing: "Container prober-foo failed liveness probe, will be restarted"
	status500 map[string]int // Unhealthy: "Liveness probe failed: HTTP probe failed with statuscode: 500"
	failed    map[string]int // Unhealthy: "Liveness probe failed: " with any cause
}

func livenessOf(events *corev1.EventList) liveness {
	lv := liveness{killed: map[string]int{}, status500: map[string]int{}, failed: map[string]int{}}
	for _, e := range events.Items {
		n, pod := int(max(e.Count, 1)), e.InvolvedObject.Name
		switch {
		case e.Reason == "Killing" && e.Type == corev1.EventTypeNormal &&
			e.Message == "Container prober-foo failed liveness probe, will be restarted":
			lv.killed[pod] += n
		case e.Reason == "Unhealthy" && e.Type == corev1.EventTypeWarning && strings.HasPrefix(e.Message, "Liveness probe failed: "):
			lv.failed[pod] += n
			if e.Message == "Liveness probe failed: HTTP probe failed with statuscode: 500" {
				lv.status500[pod] += n
			}
		}
	}
	return lv
}

func (lv liveness) String() string {
	return fmt.Sprintf("liveness kills %v, failures %v, of them statuscode 500 %v", lv.killed, lv.failed, lv.status500)
}

// rolloutWatch follows the replica sets during a rolling update and checks
// each step against the controller's bounds.
type rolloutWatch struct {
	w    watch.Interface
	done chan struct{}

	mu         sync.Mutex
	violations []string
	maxTotal   int32 // the most pods the replica sets asked for at once
	downs      int   // scale-downs of the old replica set checked
}

// watchRollout starts following the replica sets; maxPods bounds the sum
// of their replicas (maxSurge), minAvailable the available pods any
// scale-down of the old set may leave (maxUnavailable).
func watchRollout(t *testing.T, c kubernetes.Interface, maxPods, minAvailable int32) *rolloutWatch {
	t.Helper()
	w, err := c.AppsV1().ReplicaSets(Namespace).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The lab's watch, as client-go's fake, starts with no ADDED events
	// for what exists: without the list, the old replica set's first
	// scale-down could be its first event, with nothing to compare it
	// to. Listed after the watch started, so no change falls between;
	// an event the watch holds from before the list repeats the listed
	// replicas (nothing scales before the apply), which changes nothing.
	list, err := c.AppsV1().ReplicaSets(Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		w.Stop()
		t.Fatal(err)
	}
	latest := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		latest[rs.Name] = rs
	}
	rw := &rolloutWatch{w: w, done: make(chan struct{})}
	t.Cleanup(rw.stop)
	go func() {
		defer close(rw.done)
		// The controller decides on a snapshot read after its previous
		// write; the states seen since the last scale-up of the new
		// replica set hold the one it read. states[i][rs] is the
		// available count of each replica set in state i.
		snapshot := func() map[string]int32 {
			m := map[string]int32{}
			for name, r := range latest {
				m[name] = r.Status.AvailableReplicas
			}
			return m
		}
		states := []map[string]int32{snapshot()}
		for ev := range w.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			prev, seen := latest[rs.Name]
			if ev.Type == watch.Deleted {
				delete(latest, rs.Name)
			} else {
				latest[rs.Name] = *rs
			}
			var total int32
			for _, r := range latest {
				total += *r.Spec.Replicas
			}
			rw.mu.Lock()
			rw.maxTotal = max(rw.maxTotal, total)
			if total > maxPods {
				rw.violations = append(rw.violations, fmt.Sprintf("replica sets ask for %d pods", total))
			}
			switch {
			case seen && *rs.Spec.Replicas > *prev.Spec.Replicas && rs.Labels["version"] == "1.0.2":
				states = nil
			case seen && *rs.Spec.Replicas < *prev.Spec.Replicas && rs.Labels["version"] == "1.0.1":
				// A replica set removes its unavailable pods first, so
				// after going down to n it keeps min(available, n).
				best := int32(-1)
				for _, st := range states {
					var after int32
					for name, a := range st {
						if name == rs.Name {
							a = min(a, *rs.Spec.Replicas)
						}
						after += a
					}
					best = max(best, after)
				}
				rw.downs++
				if best < minAvailable {
					rw.violations = append(rw.violations, fmt.Sprintf("%s scaled %d -> %d leaving at most %d available", rs.Name, *prev.Spec.Replicas, *rs.Spec.Replicas, best))
				}
			}
			states = append(states, snapshot())
			rw.mu.Unlock()
		}
	}()
	return rw
}

func (rw *rolloutWatch) stop() {
	rw.w.Stop()
	<-rw.done
}

// check stops the watch and fails the test on any step out of bounds, or
// when the watch did not see a surge and three scale-downs (it would then
// have checked nothing).
func (rw *rolloutWatch) check(t *testing.T) {
	t.Helper()
	rw.stop()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for _, v := range rw.violations {
		t.Errorf("rollout broke its bounds: %s", v)
	}
	if rw.maxTotal != 4 || rw.downs != 3 {
		t.Errorf("rollout seen: at most %d pods asked for, %d scale-downs of 1.0.1; want 4 (maxSurge 1) and 3 (one pod at a time, maxUnavailable 0)", rw.maxTotal, rw.downs)
	}
}

// TestReadinessOffStopsTraffic: a pod whose readiness probe fails stays in
// the Service's EndpointSlice with ready false, the node port stops
// sending it connections, and it keeps running (READY 0/1, STATUS
// Running); when readiness passes again it gets traffic again.
func TestReadinessOffStopsTraffic(t *testing.T) {
	t.Parallel()
	port := freeNodePort(t)
	two := int32(2)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &two,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: demo.Image,
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(80)}},
						PeriodSeconds:    1,
						FailureThreshold: 1,
					},
				}}},
			},
		},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, NodePort: port}}},
	}
	l := startLab(t, write(t, "web.yaml", svc, d))
	c := l.Client()
	ctx := context.Background()
	var ps []corev1.Pod
	waitFor(t, 120*time.Second, "2 ready pods", func() (bool, string) {
		ps = pods(t, c)
		n := 0
		for _, p := range ps {
			if ready(&p) {
				n++
			}
		}
		return n == 2, describe(ps)
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	servedBy := func() (string, error) {
		body, err := httpGet(url)
		if err != nil {
			return "", err
		}
		for _, line := range strings.Split(body, "\n") {
			if h, ok := strings.CutPrefix(line, "Hostname = "); ok {
				return h, nil
			}
		}
		return "", fmt.Errorf("no Hostname line in %q", body)
	}
	// The proxy learns of readiness just after the API does: wait for
	// both pods to get traffic.
	seen := map[string]bool{}
	waitFor(t, 60*time.Second, "traffic to both pods", func() (bool, string) {
		h, err := servedBy()
		if err == nil {
			seen[h] = true
		}
		return seen[ps[0].Name] && seen[ps[1].Name], fmt.Sprint(seen, err)
	})

	off := ps[0]
	addr, err := kubelet.PodAddress(&off, 80)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string) {
		t.Helper()
		resp, err := http.Post("http://"+addr+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	// endpoints waits until the Service's EndpointSlice lists both pods,
	// off with ready offReady and the other ready. Kubernetes keeps an
	// unready pod in the slice with ready false
	// (pkg/controller/endpointslice, podToEndpoint).
	endpoints := func(offReady bool) {
		t.Helper()
		waitFor(t, 60*time.Second, fmt.Sprintf("%s ready=%v in the EndpointSlice", off.Name, offReady), func() (bool, string) {
			list, err := c.DiscoveryV1().EndpointSlices(Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil || len(list.Items) != 1 {
				return false, fmt.Sprint(list, err)
			}
			var state []string
			gotOff, otherReady := !offReady, false
			for _, e := range list.Items[0].Endpoints {
				r := e.Conditions.Ready != nil && *e.Conditions.Ready
				state = append(state, fmt.Sprintf("%s ready=%v", e.TargetRef.Name, r))
				if e.TargetRef.Name == off.Name {
					gotOff = r
				} else {
					otherReady = r
				}
			}
			return gotOff == offReady && otherReady && len(list.Items[0].Endpoints) == 2, strings.Join(state, ", ")
		})
	}

	post("/readyz/disable")
	endpoints(false)
	// Round-robin or random, 20 connections to two backends all missing
	// one of them by chance would be one in a million. A connection that
	// fails is not counted: on a loaded machine the other pod's readiness
	// probe (timeoutSeconds 1) can time out and leave no ready endpoint
	// for a moment, and a cluster refuses the connection then too. Off is
	// still serving, so a connection sent to it would succeed and show.
	var served int
	var errs []error
	waitFor(t, 60*time.Second, "20 connections through the node port", func() (bool, string) {
		got, err := servedBy()
		switch {
		case err != nil:
			errs = append(errs, err)
		case got == off.Name:
			t.Fatalf("the node port sent a connection to %s after its readiness failed", off.Name)
		default:
			served++
		}
		return served == 20, fmt.Sprintf("%d served, errors %v", served, errs)
	})
	if len(errs) > 0 {
		t.Logf("connections that failed meanwhile: %v", errs)
	}
	// What kubectl shows: READY 0/1, STATUS still Running (a failing
	// readiness probe never changes STATUS), no restart; and the kubelet's
	// event (pkg/kubelet/prober/prober.go, pkg/probe/http/http.go).
	p, err := c.CoreV1().Pods(Namespace).Get(ctx, off.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if row := kube.PodStatus(p, time.Now()); row.Ready != "0/1" || row.Status != "Running" || row.RestartCount != 0 {
		t.Errorf("%s with readiness off: READY %s STATUS %s RESTARTS %s; want 0/1 Running 0", off.Name, row.Ready, row.Status, row.Restarts)
	}
	waitFor(t, 60*time.Second, "the readiness Unhealthy event on "+off.Name, func() (bool, string) {
		events, err := c.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == off.Name && e.Reason == "Unhealthy" && e.Type == corev1.EventTypeWarning &&
				e.Message == "Readiness probe failed: HTTP probe failed with statuscode: 503" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(events.Items))
	})

	// Readiness back on: the pod is an endpoint again and gets traffic.
	post("/readyz/enable")
	endpoints(true)
	seen = map[string]bool{}
	waitFor(t, 60*time.Second, "traffic to "+off.Name+" again", func() (bool, string) {
		h, err := servedBy()
		if err == nil {
			seen[h] = true
		}
		return seen[off.Name], fmt.Sprint(seen, err)
	})
}

// TestResolveServiceByName: the lab has no DNS, so resolve maps a Service
// name to its loopback stand-in and says so; the pod then fetches the
// Service's content.
func TestResolveServiceByName(t *testing.T) {
	t.Parallel()
	file, _ := stage1(t, "0")
	l := startLab(t, file)
	ps := readyPods(t, l.Client(), 120*time.Second, "1.0.1", 3)
	// Until it works, not once: on a loaded machine a slow liveness probe
	// can have the kubelet restart the pod asked, or the one the Service
	// sends the fetch to, just then.
	var r kube.Result
	waitFor(t, 60*time.Second, "resolve foo-nodeport-svc from "+ps[0].Name, func() (bool, string) {
		r = l.Actions().Resolve(context.Background(), targetOf(&ps[0]), "foo-nodeport-svc")
		return r.Err == nil && r.Code == 200, fmt.Sprintf("%+v", r)
	})
	if !strings.Contains(r.Body, `"version": "1.0.1"`) || !strings.Contains(r.Note, "no cluster DNS") {
		t.Errorf("resolve foo-nodeport-svc: %+v", r)
	}
}

func TestUnsupportedKindRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cm.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Files: []string{p}, ServerArgv: serverArgv})
	if err == nil || !strings.Contains(err.Error(), "kind ConfigMap") || !strings.Contains(err.Error(), p) {
		t.Errorf("New with a ConfigMap: %v; want an error naming the kind and the file", err)
	}
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "ServerArgv") {
		t.Errorf("New without ServerArgv: %v", err)
	}
}

// podProcess is one process running a pod's container. Its pid and start
// time (field 22 of /proc/PID/stat, in clock ticks since boot) together
// name it even if the pid is reused once it is gone.
type podProcess struct {
	Pid   int
	Start string
	Pod   string
}

func (p podProcess) String() string { return fmt.Sprintf("%d (%s)", p.Pid, p.Pod) }

// procStat returns a process's state letter and start time.
func procStat(pid int) (state, start string, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", false
	}
	// The fields after "pid (comm)": state is the first, starttime the
	// 20th (field 22 of the whole line).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[19], true
}

// podProcesses lists the live processes running a pod of these names (the
// kubelet sets HOSTNAME to the pod's name). A zombie shows no environment,
// so it is not listed: podProcess.left finds those.
func podProcesses(t *testing.T, podNames map[string]bool) []podProcess {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc: cannot list processes here")
	}
	var out []podProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if h, ok := strings.CutPrefix(string(kv), "HOSTNAME="); ok && podNames[h] {
				if state, start, ok := procStat(pid); ok && state != "Z" {
					out = append(out, podProcess{Pid: pid, Start: start, Pod: h})
				}
			}
		}
	}
	return out
}

// left says whether the process is still there, running or a zombie not
// reaped.
func (p podProcess) left() (string, bool) {
	state, start, ok := procStat(p.Pid)
	if !ok || start != p.Start {
		return "", false
	}
	if state == "Z" {
		return p.String() + " (zombie)", true
	}
	return p.String(), true
}

// TestStopLeavesNothing: after Stop no container process is left, no pod
// address answers and the node port is free; Stop again does nothing.
func TestStopLeavesNothing(t *testing.T) {
	t.Parallel()
	file, port := stage1(t, "0")
	l := startLab(t, file)
	ps := readyPods(t, l.Client(), 120*time.Second, "1.0.1", 3)
	names := map[string]bool{}
	var addrs []string
	for _, p := range ps {
		names[p.Name] = true
		a, err := kubelet.PodAddress(&p, 80)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	// One process per pod; waited for, because on a loaded machine a
	// slow liveness probe can have the kubelet restart one just now,
	// leaving none or two for a moment.
	var kids []podProcess
	waitFor(t, 60*time.Second, "one container process per pod", func() (bool, string) {
		kids = podProcesses(t, names)
		per := map[string]int{}
		for _, k := range kids {
			per[k.Pod]++
		}
		return len(kids) == 3 && len(per) == 3, fmt.Sprint(kids)
	})
	l.Stop()
	for _, k := range kids {
		if what, ok := k.left(); ok {
			t.Errorf("after Stop: process left %s", what)
		}
	}
	if left := podProcesses(t, names); len(left) > 0 {
		t.Errorf("after Stop: processes left %v", left)
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("after Stop: %s still answers", a)
		}
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Errorf("after Stop: node port %d still held: %v", port, err)
	} else {
		ln.Close()
	}
	l.Stop() // idempotent
}

// TestNodePortInUse: a node port another program holds stops the lab at
// Start with an error naming the port.
func TestNodePortInUse(t *testing.T) {
	t.Parallel()
	file, port := stage1(t, "0")
	hold, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	l, err := New(Options{Files: []string{file}, ServerArgv: serverArgv})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	err = l.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("node port %d", port)) {
		t.Errorf("Start with node port %d taken: %v", port, err)
	}
}

// TestDashboardWatcher: the dashboard's kube.Watcher runs unchanged on the
// lab's clientset and sees every kind it follows.
func TestDashboardWatcher(t *testing.T) {
	t.Parallel()
	file, _ := stage1(t, "0")
	l := startLab(t, file)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	w := kube.NewWatcher(l.Client(), kube.WatchOptions{Namespace: Namespace})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[kube.Kind]bool{}
	synced := false
	want := []kube.Kind{kube.KindPod, kube.KindEvent, kube.KindReplicaSet, kube.KindDeployment, kube.KindEndpointSlice, kube.KindService}
	for {
		b, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("watcher: %v; saw %v, synced %v", err, seen, synced)
		}
		synced = synced || b.Synced
		for _, d := range b.Deltas {
			seen[d.Kind] = true
		}
		all := synced
		for _, k := range want {
			all = all && seen[k]
		}
		if all {
			return
		}
	}
}

// TestDeleteIsReplaced: deleting a pod through the actions goes through
// graceful deletion (the pod is marked, so kubectl shows Terminating, the
// kubelet stops its container, then it is gone) and the replica set
// replaces it with a new pod that gets ready.
func TestDeleteIsReplaced(t *testing.T) {
	t.Parallel()
	file, _ := stage1(t, "0")
	l := startLab(t, file)
	c := l.Client()
	ps := readyPods(t, c, 120*time.Second, "1.0.1", 3)
	trail := watchStatus(t, c)
	victim := ps[0]
	grace := int64(5)
	r := l.Actions().Delete(context.Background(), targetOf(&victim), &grace)
	if r.Err != nil || !strings.Contains(r.Body, victim.Name) {
		t.Fatalf("delete: %+v", r)
	}
	waitFor(t, 60*time.Second, victim.Name+" gone and replaced", func() (bool, string) {
		ps := pods(t, c)
		live := 0
		for _, p := range ps {
			if p.Name == victim.Name {
				return false, describe(ps)
			}
			if p.DeletionTimestamp == nil {
				live++
			}
		}
		return live == 3, describe(ps)
	})
	waitFor(t, 60*time.Second, "Killing \"Stopping container prober-foo\" on "+victim.Name, func() (bool, string) {
		events, err := c.CoreV1().Events(Namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == victim.Name && e.Reason == "Killing" && e.Message == "Stopping container prober-foo" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(events.Items))
	})
	if rows := trail.Of(victim.Name); !showsInOrder(rows, "Terminating") {
		t.Errorf("%s: along the way%s; want STATUS Terminating before it is gone", victim.Name, rowsString(rows))
	}
	for _, p := range readyPods(t, c, 120*time.Second, "1.0.1", 3) {
		if p.Name == victim.Name || !strings.HasPrefix(p.Name, victim.GenerateName) {
			t.Errorf("pod %s after deleting %s; want a new pod named %s<5 chars>", p.Name, victim.Name, victim.GenerateName)
		}
	}
}

// TestApplyServiceOnBusyPort: applying a Service whose node port another
// program holds reports it in the action's result.
func TestApplyServiceOnBusyPort(t *testing.T) {
	t.Parallel()
	file, _ := stage1(t, "0")
	l := startLab(t, file)
	port := freeNodePort(t)
	hold, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	svc := loadDemo(t, demo.Service).service
	svc.Name = "other"
	svc.Spec.Ports[0].NodePort = port
	r := l.Actions().Apply(context.Background(), write(t, "other.yaml", svc))
	if r.Err == nil || !strings.Contains(r.Err.Error(), fmt.Sprintf("node port %d", port)) || r.Body != "service/other created" {
		t.Errorf("apply onto a busy node port: %+v", r)
	}
}

func TestNamespace(t *testing.T) {
	for _, tc := range []struct {
		name string
		docs string
		want string
	}{
		{"none named", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n", "default"},
		{"one named", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: demo\n", "demo"},
		{"several", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: demo\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n", ""},
	} {
		p := filepath.Join(t.TempDir(), "m.yaml")
		if err := os.WriteFile(p, []byte(tc.docs), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := New(Options{Files: []string{p}, ServerArgv: serverArgv})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Namespace(); got != tc.want {
			t.Errorf("%s: Namespace() = %q, want %q", tc.name, got, tc.want)
		}
		l.Stop()
	}
	l, err := New(Options{ServerArgv: serverArgv})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	if got := l.Namespace(); got != "default" {
		t.Errorf("the demo: Namespace() = %q, want default", got)
	}
}
