package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/proberctl/proberctl/internal/syncbuf"
	"github.com/proberctl/proberctl/kube"
)

// initPod is pod(name, nil) with init containers.
func initPod(name string, inits ...corev1.Container) *corev1.Pod {
	p := pod(name, nil)
	for i := range inits {
		if inits[i].Image == "" {
			inits[i].Image = "proberctl:init"
		}
	}
	p.Spec.InitContainers = inits
	return p
}

// initRun is the kubelet's own view of one init container's current run.
type initRun struct {
	attempt int
	exited  bool
	pid     int
}

// initState returns the current run of the pod's init container, from the
// kubelet's state; attempt -1 before the first.
func (e *env) initState(name, container string) initRun {
	w := e.worker(name)
	if w == nil {
		return initRun{attempt: -1}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.inits {
		if c.spec.Name == container && c.cur != nil {
			r := initRun{attempt: c.cur.attempt, exited: c.cur.exited}
			if c.cur.proc != nil {
				r.pid = c.cur.proc.Pid
			}
			return r
		}
	}
	return initRun{attempt: -1}
}

func initStatus(p *corev1.Pod, name string) corev1.ContainerStatus {
	for _, cs := range p.Status.InitContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	return corev1.ContainerStatus{}
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

// statusesSeen collects kubectl's STATUS of every stored version of a pod,
// from a watch started before the pod exists.
type statusesSeen struct {
	w    watch.Interface
	name string
	now  func() time.Time
}

func (e *env) watchStatuses(name string) *statusesSeen {
	e.t.Helper()
	w, err := e.client.CoreV1().Pods("default").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Stop)
	return &statusesSeen{w: w, name: name, now: e.clock.Now}
}

// until reads STATUS values until done says the list is complete.
func (s *statusesSeen) until(t *testing.T, done func([]string) bool) []string {
	t.Helper()
	var seen []string
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-s.w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Name != s.name || ev.Type == watch.Deleted {
				continue
			}
			st := kube.PodStatus(p, s.now()).Status
			if len(seen) == 0 || seen[len(seen)-1] != st {
				seen = append(seen, st)
			}
			if done(seen) {
				return seen
			}
		case <-deadline:
			t.Fatalf("timed out; STATUS so far %v", seen)
		}
	}
}

// inOrder says whether want appears in seen in this order (not necessarily
// adjacent).
func inOrder(seen, want []string) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// The common pattern: an init container waits for something, then the app
// starts. The kubelet runs init containers one at a time, each to
// completion, and the app containers only once all succeeded
// (kuberuntime_container.go computeInitContainerActions); the status reads
// as generateAPIPodStatus writes it.
func TestInitContainersRunInOrderThenTheApp(t *testing.T) {
	logs := &syncbuf.Buffer{}
	e := startLogged(t, true, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	seen := e.watchStatuses("init")
	p := initPod("init",
		// Waits until the test says "the thing is there" (SIGTERM
		// during the probe server's start wait exits 0).
		corev1.Container{Name: "wait", Env: []corev1.EnvVar{{Name: "START_WAIT_SECS", Value: "3600"}}},
		// A command the lab cannot run: it runs as the probe server
		// with no wait and says so.
		corev1.Container{Name: "check", Command: []string{"sh", "-c", "until nslookup db; do sleep 2; done"}},
	)
	e.create(p)

	// The first init container runs; nothing else does.
	e.waitFor("init container wait to start", func() bool { return e.initState("init", "wait").pid != 0 })
	e.step(relistPeriod)
	got := e.waitPod("init", "wait running", func(p *corev1.Pod) bool { return initStatus(p, "wait").State.Running != nil })
	if s := kube.PodStatus(got, e.fake.Now()); s.Status != "Init:0/2" || s.Ready != "0/1" {
		t.Errorf("STATUS %s READY %s while the first init container runs, want Init:0/2 0/1", s.Status, s.Ready)
	}
	if got.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s while initializing, want Pending", got.Status.Phase)
	}
	w := initStatus(got, "wait")
	if w.Started == nil || !*w.Started || w.Ready || w.RestartCount != 0 || w.ContainerID == "" {
		t.Errorf("running init container status %+v, want started, not ready, restartCount 0, a containerID", w)
	}
	c := initStatus(got, "check")
	if c.State.Waiting == nil || c.State.Waiting.Reason != "PodInitializing" || c.ContainerID != "" || c.Started == nil || *c.Started {
		t.Errorf("second init container before its turn %+v, want waiting PodInitializing, not started", c)
	}
	if cs := containerStatus(got); cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("app container before initialization %+v, want waiting PodInitializing", cs.State)
	}
	// generate.go GeneratePodInitializedCondition
	ic := condition(got, corev1.PodInitialized)
	if ic.Status != corev1.ConditionFalse || ic.Reason != "ContainersNotInitialized" || ic.Message != "containers with incomplete status: [wait check]" {
		t.Errorf("Initialized %s %s %q, want False ContainersNotInitialized %q", ic.Status, ic.Reason, ic.Message, "containers with incomplete status: [wait check]")
	}
	e.step(30 * time.Second)
	if r := e.initState("init", "check"); r.attempt != -1 {
		t.Fatalf("second init container started while the first runs: %+v", r)
	}
	if a, _, _ := e.current("init"); a != -1 {
		t.Fatal("app container started while an init container runs")
	}

	// The awaited thing arrives: the first completes, the second runs
	// and completes, then the app starts. The server handles SIGTERM
	// once it says it waits (cmd_serve.go installs the handler first);
	// before that, SIGTERM would kill it, an Error.
	e.waitFor("the init container's start wait", func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "container=wait") && strings.Contains(l, "waiting before listening") {
				return true
			}
		}
		return false
	})
	if err := syscall.Kill(e.initState("init", "wait").pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e.waitRun("init", 0)
	e.settle()
	// The app's start is reported at the next relist: until then it
	// waits as PodInitializing, which kubectl shows as is.
	got = e.get("init")
	if s := kube.PodStatus(got, e.fake.Now()); s.Status != "PodInitializing" {
		t.Errorf("STATUS %s once initialized, before the app's start is reported; want PodInitializing (%s)", s.Status, statusSummary(got))
	}
	if ic := condition(got, corev1.PodInitialized); ic.Status != corev1.ConditionTrue {
		t.Errorf("Initialized %s %q once every init container completed, want True", ic.Status, ic.Message)
	}
	got = e.listening("init")
	if s := kube.PodStatus(got, e.fake.Now()); s.Status != "Running" || s.Ready != "1/1" {
		t.Errorf("STATUS %s READY %s, want Running 1/1", s.Status, s.Ready)
	}
	for _, name := range []string{"wait", "check"} {
		cs := initStatus(got, name)
		term := cs.State.Terminated
		if term == nil || term.Reason != "Completed" || term.ExitCode != 0 || !cs.Ready || cs.Started == nil || *cs.Started || cs.RestartCount != 0 {
			t.Errorf("init container %s %+v, want terminated Completed 0, ready, not started, restartCount 0", name, cs)
		}
	}
	wt, ct := initStatus(got, "wait").State.Terminated, initStatus(got, "check").State.Terminated
	if wt != nil && ct != nil && ct.StartedAt.Before(&wt.FinishedAt) {
		t.Errorf("check started at %v, before wait finished at %v", ct.StartedAt, wt.FinishedAt)
	}
	if got.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", got.Status.Phase)
	}
	seen.until(t, func(s []string) bool { return s[len(s)-1] == "Running" })

	// Events: the kubelet's for each init container, in order, under
	// spec.initContainers{name}; the lab's warning for the command.
	e.settle()
	var order []string
	for _, ev := range e.events("init") {
		if ev.Reason == reasonPulled || ev.Reason == reasonCreated || ev.Reason == reasonStarted {
			order = append(order, ev.InvolvedObject.FieldPath+" "+ev.Reason)
		}
	}
	var want []string
	for _, fp := range []string{"spec.initContainers{wait}", "spec.initContainers{check}", "spec.containers{c}"} {
		for _, r := range []string{reasonPulled, reasonCreated, reasonStarted} {
			want = append(want, fp+" "+r)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	e.waitEvent("init", reasonPulled, `Container image "proberctl:init" already present on machine and can be accessed by the pod`)
	warn := e.waitEvent("init", commandNotRunReason, fmt.Sprintf(
		"the lab does not run init container check's command %q: it runs the probe server, which waits START_WAIT_SECS and exits CRASH_EXIT_CODE (0 unless set); commands the lab translates: sleep N, true, false, exit N, sleep N; exit N",
		[]string{"sh", "-c", "until nslookup db; do sleep 2; done"}))
	if warn.Type != corev1.EventTypeWarning || warn.InvolvedObject.FieldPath != "spec.initContainers{check}" {
		t.Errorf("%s event %s on %q, want Warning on spec.initContainers{check}", commandNotRunReason, warn.Type, warn.InvolvedObject.FieldPath)
	}
}

// A failing init container under restartPolicy Always or OnFailure is
// restarted with the kubelet's back-off (at once, then 10 s, 20 s, ...), the
// app containers never start meanwhile, and kubectl shows Init:Error, then
// Init:CrashLoopBackOff.
func TestFailingInitContainerBacksOff(t *testing.T) {
	for _, policy := range []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure} {
		t.Run(string(policy), func(t *testing.T) {
			e := start(t, true)
			seen := e.watchStatuses("fail")
			p := initPod("fail", corev1.Container{Name: "check", Command: []string{"false"}})
			p.Spec.RestartPolicy = policy
			created := e.create(p)
			t0 := e.fake.Now()
			desc := fmt.Sprintf("fail_default(%s)", created.UID)

			// The start of each restart, read from lastState while
			// the run before the next waits in back-off.
			var starts []time.Duration
			seenRestarts := 0
			for len(starts) < 3 {
				var got *corev1.Pod
				e.waitFor("back-off", func() bool {
					r := e.initState("fail", "check")
					got = e.get("fail")
					cs := initStatus(got, "check")
					return r.exited && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" && int(cs.RestartCount) == r.attempt
				})
				e.settle()
				got = e.get("fail")
				cs := initStatus(got, "check")
				if int(cs.RestartCount) > seenRestarts {
					seenRestarts = int(cs.RestartCount)
					starts = append(starts, cs.LastTerminationState.Terminated.StartedAt.Sub(t0))
					if s := kube.PodStatus(got, e.fake.Now()); s.Status != "Init:CrashLoopBackOff" {
						t.Errorf("STATUS %s in back-off, want Init:CrashLoopBackOff", s.Status)
					}
					if last := cs.LastTerminationState.Terminated; last.Reason != "Error" || last.ExitCode != 1 {
						t.Errorf("lastState %s/%d, want Error/1", last.Reason, last.ExitCode)
					}
					if got.Status.Phase != corev1.PodPending {
						t.Errorf("phase %s, want Pending", got.Status.Phase)
					}
					if cs.Ready || *cs.Started {
						t.Errorf("failed init container ready %v started %v, want neither", cs.Ready, *cs.Started)
					}
					ic := condition(got, corev1.PodInitialized)
					if ic.Status != corev1.ConditionFalse || ic.Message != "containers with incomplete status: [check]" {
						t.Errorf("Initialized %s %q", ic.Status, ic.Message)
					}
					want := fmt.Sprintf("back-off %s restarting failed container=check pod=%s",
						[]string{"10s", "20s", "40s"}[len(starts)-1], desc)
					if cs.State.Waiting.Message != want {
						t.Errorf("waiting message %q, want %q", cs.State.Waiting.Message, want)
					}
				}
				if a, _, _ := e.current("fail"); a != -1 {
					t.Fatal("app container started while the init container fails")
				}
				e.step(time.Second)
			}
			// kuberuntime_manager.go doBackOff, as for app containers.
			// Restarts at 0 s (at once), then after 10 s and 20 s more.
			if want := []time.Duration{0, 10 * time.Second, 30 * time.Second}; fmt.Sprint(starts) != fmt.Sprint(want) {
				t.Errorf("init container restarts started at %v, want %v", starts, want)
			}
			e.waitEvent("fail", reasonBackOff, "Back-off restarting failed container check in pod "+desc)
			got := seen.until(t, func(s []string) bool { return inOrder(s, []string{"Init:0/1", "Init:Error", "Init:CrashLoopBackOff"}) })
			for _, s := range got {
				if !strings.HasPrefix(s, "Init:") && s != "Pending" {
					t.Errorf("STATUS %s while the init container fails (seen %v)", s, got)
				}
			}
			if cs := containerStatus(e.get("fail")); cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" || cs.ContainerID != "" {
				t.Errorf("app container %+v, want never started, waiting PodInitializing", cs)
			}
		})
	}
}

// Under restartPolicy Never a failed init container fails the pod
// (computeInitContainerActions KillPod; getPhase failedInitialization).
func TestFailedInitContainerFailsPodUnderNever(t *testing.T) {
	e := start(t, true)
	p := initPod("never", corev1.Container{Name: "check", Command: []string{"sh", "-c", "sleep 0; exit 3"}})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	e.create(p)
	got := e.waitPod("never", "phase Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	e.step(30 * time.Second)
	got = e.get("never")
	cs := initStatus(got, "check")
	if term := cs.State.Terminated; term == nil || term.ExitCode != 3 || term.Reason != "Error" || cs.RestartCount != 0 {
		t.Errorf("init container %+v, want terminated Error 3, no restart", cs)
	}
	if s := kube.PodStatus(got, e.fake.Now()); s.Status != "Init:Error" {
		t.Errorf("STATUS %s, want Init:Error", s.Status)
	}
	if r := e.initState("never", "check"); r.attempt != 0 {
		t.Errorf("init container run %d times, want once", r.attempt+1)
	}
	if a, _, _ := e.current("never"); a != -1 {
		t.Error("app container started after a failed init container")
	}
	if ic := condition(got, corev1.PodInitialized); ic.Status != corev1.ConditionFalse || ic.Reason != "ContainersNotInitialized" {
		t.Errorf("Initialized %s %s, want False ContainersNotInitialized", ic.Status, ic.Reason)
	}
}

// Sidecar containers (restartPolicy Always on an init container) are not
// run: the pod waits, and the kubelet's CreateContainerConfigError path says
// why, naming the feature.
func TestSidecarInitContainerIsRefused(t *testing.T) {
	e := start(t, true)
	always := corev1.ContainerRestartPolicyAlways
	p := initPod("sidecar",
		corev1.Container{Name: "first", Command: []string{"true"}},
		corev1.Container{Name: "proxy", RestartPolicy: &always},
	)
	e.create(p)
	msg := "sidecar containers (init container proxy with restartPolicy: Always) are not supported by the lab"
	ev := e.waitEvent("sidecar", reasonFailed, "Error: "+msg)
	if ev.Type != corev1.EventTypeWarning || ev.InvolvedObject.FieldPath != "spec.initContainers{proxy}" {
		t.Errorf("event %s on %s, want Warning on spec.initContainers{proxy}", ev.Type, ev.InvolvedObject.FieldPath)
	}
	got := e.waitPod("sidecar", "refusal in status", func(p *corev1.Pod) bool {
		w := initStatus(p, "proxy").State.Waiting
		return w != nil && w.Reason == "CreateContainerConfigError"
	})
	if w := initStatus(got, "proxy").State.Waiting; w.Message != msg {
		t.Errorf("waiting message %q, want %q", w.Message, msg)
	}
	if s := kube.PodStatus(got, e.fake.Now()); s.Status != "Init:CreateContainerConfigError" {
		t.Errorf("STATUS %s, want Init:CreateContainerConfigError", s.Status)
	}
	if term := initStatus(got, "first").State.Terminated; term == nil || term.ExitCode != 0 {
		t.Errorf("the init container before the sidecar did not complete: %+v", initStatus(got, "first"))
	}
	// Every sync attempt fails the same way and records the events
	// again; the pod worker retries a failed sync after backOffPeriod
	// (10 s, pod_workers.go completeWork), and the correlator folds the
	// repeats into one event each, with a growing count, as `kubectl get
	// events` shows them.
	counts := func() (pulled, failed int32, n int) {
		for _, ev := range e.events("sidecar") {
			if ev.InvolvedObject.FieldPath != "spec.initContainers{proxy}" {
				continue
			}
			n++
			switch ev.Reason {
			case reasonPulled:
				pulled = ev.Count
			case reasonFailed:
				failed = ev.Count
			}
		}
		return pulled, failed, n
	}
	e.settle()
	for i := int32(1); i <= 3; i++ {
		e.step(syncErrorBackOff - time.Second)
		if p, f, n := counts(); p != i || f != i || n != 2 {
			t.Fatalf("attempt %d, before the retry: Pulled x%d, Failed x%d in %d events for proxy; want x%d, x%d in 2", i, p, f, n, i, i)
		}
		e.step(time.Second)
		if p, f, n := counts(); p != i+1 || f != i+1 || n != 2 {
			t.Fatalf("attempt %d: Pulled x%d, Failed x%d in %d events for proxy; want x%d, x%d in 2", i+1, p, f, n, i+1, i+1)
		}
	}
	if a, _, _ := e.current("sidecar"); a != -1 {
		t.Error("app container started beside a refused sidecar")
	}
	got = e.get("sidecar")
	if ic := condition(got, corev1.PodInitialized); ic.Message != "containers with incomplete status: [proxy]" {
		t.Errorf("Initialized message %q", ic.Message)
	}
	// GenerateContainersReadyCondition names sidecars with the app
	// containers.
	if cr := condition(got, corev1.ContainersReady); cr.Message != "containers with unready status: [proxy c]" {
		t.Errorf("ContainersReady message %q, want %q", cr.Message, "containers with unready status: [proxy c]")
	}
}

func TestTranslateCommand(t *testing.T) {
	tests := []struct {
		command, args []string
		want          initProgram
		ok            bool
		unsupported   bool
	}{
		{nil, nil, initProgram{}, false, false},
		{[]string{"sleep", "5"}, nil, initProgram{"5", 0}, true, false},
		{[]string{"sleep"}, []string{"2m"}, initProgram{"120", 0}, true, false},
		{[]string{"sleep", "0.5s"}, nil, initProgram{"0.5", 0}, true, false},
		{[]string{"true"}, nil, initProgram{"0", 0}, true, false},
		{[]string{"false"}, nil, initProgram{"0", 1}, true, false},
		{[]string{"sh", "-c", "exit 7"}, nil, initProgram{"0", 7}, true, false},
		{[]string{"/bin/sh", "-c"}, []string{"sleep 3 && exit 2"}, initProgram{"3", 2}, true, false},
		{[]string{"sh", "-c", "sleep 3; false"}, nil, initProgram{"3", 1}, true, false},
		{[]string{"sh", "-c", "sleep 3;"}, nil, initProgram{"3", 0}, true, false},
		{[]string{"sh", "-c", "exit"}, nil, initProgram{"0", 0}, true, false},
		// A YAML block scalar (args: - |) separates the steps by newlines,
		// which sh reads as it reads ";".
		{[]string{"sh", "-c"}, []string{"sleep 3\nexit 2\n"}, initProgram{"3", 2}, true, false},
		{[]string{"sh", "-c"}, []string{"\nsleep 3\n\nfalse\n"}, initProgram{"3", 1}, true, false},
		{[]string{"sh", "-c"}, []string{"sleep 3\nexit 1\nsleep 3"}, initProgram{}, false, true},
		// A program named by its path is the same program.
		{[]string{"/bin/sleep", "5"}, nil, initProgram{"5", 0}, true, false},
		{[]string{"/usr/bin/false"}, nil, initProgram{"0", 1}, true, false},
		{[]string{"/bin/dash", "-c", "/bin/sleep 2; /bin/true"}, nil, initProgram{"2", 0}, true, false},
		{[]string{"/usr/bin/sh", "-c", "exit 3"}, nil, initProgram{"0", 3}, true, false},
		{[]string{"/opt/exit", "3"}, nil, initProgram{}, false, true}, // exit is a shell builtin, not a program
		{[]string{"sleep", "infinity"}, nil, initProgram{}, false, true},
		{[]string{"sleep", "-1"}, nil, initProgram{}, false, true},
		{[]string{"sleep", "100000"}, nil, initProgram{}, false, true},
		{[]string{"sh", "-c", "exit 256"}, nil, initProgram{}, false, true},
		{[]string{"sh", "-c", "exit 1; sleep 3"}, nil, initProgram{}, false, true},
		{[]string{"sh", "-c", "sleep 3 & exit 0"}, nil, initProgram{}, false, true},
		{[]string{"sh", "-c", "rm -rf /"}, nil, initProgram{}, false, true},
		{[]string{"until", "nslookup", "db"}, nil, initProgram{}, false, true},
		{[]string{"/proberctl", "serve"}, nil, initProgram{}, false, true},
	}
	for _, tt := range tests {
		c := &corev1.Container{Command: tt.command, Args: tt.args}
		got, ok, unsupported := translateCommand(c)
		if ok != tt.ok || unsupported != tt.unsupported || (ok && got != tt.want) {
			t.Errorf("%q %q: %+v ok=%v unsupported=%v, want %+v ok=%v unsupported=%v",
				tt.command, tt.args, got, ok, unsupported, tt.want, tt.ok, tt.unsupported)
		}
	}
}

// gone reports whether no process has pid any more (reaped).
func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

// A pod deleted, or a lab ending, while an init container runs stops it as
// it stops any container: nothing is left running.
func TestInitContainerStoppedOnDeletionAndShutdown(t *testing.T) {
	e := start(t, false)
	for _, name := range []string{"del", "end"} {
		e.create(initPod(name, corev1.Container{Name: "wait", Command: []string{"sleep", "3600"}}))
	}
	pids := map[string]int{}
	for _, name := range []string{"del", "end"} {
		e.waitFor("init container of "+name, func() bool { pids[name] = e.initState(name, "wait").pid; return pids[name] != 0 })
	}
	grace := int64(5)
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "del", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	e.waitEvent("del", reasonKilling, "Stopping container wait")
	e.waitFor("pod removed", func() bool {
		_, err := e.client.CoreV1().Pods("default").Get(context.Background(), "del", metav1.GetOptions{})
		return err != nil
	})
	e.waitFor("the deleted pod's init container to be gone", func() bool { return gone(pids["del"]) })
	e.stopKubelet()
	if !gone(pids["end"]) {
		t.Errorf("init container (pid %d) still runs after Run returned", pids["end"])
	}
}
