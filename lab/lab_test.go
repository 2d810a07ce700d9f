package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/internal/testbin"
	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/lab/manifest"
	"github.com/proberctl/proberctl/lab/store"
)

// serverArgv runs one container: the real proberctl binary, built once.
var serverArgv []string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == seededRuntimeArg {
		runSeededRuntime(os.Args[2:])
	}
	bin, err := testbin.Path(testbin.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "build proberctl for the lab tests:", err)
		os.Exit(1)
	}
	serverArgv = []string{bin, "serve"}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// stage is one demo manifest, decoded so a test can change it.
type stage struct {
	deploy  *appsv1.Deployment
	service *corev1.Service
}

func loadDemo(t testing.TB, names ...string) stage {
	t.Helper()
	objs, err := manifest.LoadFS(demo.FS, names...)
	if err != nil {
		t.Fatal(err)
	}
	var s stage
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			s.deploy = v
		case *corev1.Service:
			s.service = v
		}
	}
	return s
}

func setEnv(d *appsv1.Deployment, name, value string) {
	c := &d.Spec.Template.Spec.Containers[0]
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i].Value = value
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
}

// write stores the objects as one manifest file and returns its path.
func write(t testing.TB, name string, objs ...any) string {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// handedOut holds the node ports freeNodePort gave this test binary. A port
// is only free until its lab listens on it, so two parallel tests probing
// the same port before either starts would otherwise both get it (with
// eight such tests, about one run in a hundred).
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freeNodePort finds a node port nothing listens on and no other test of
// this binary was given, so tests can run side by side without fighting
// over 30080. The search starts at a random port so that other test
// binaries running at the same time rarely look at the same ones.
func freeNodePort(t testing.TB) int32 {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	const first = store.NodePortMin + 100
	n := store.NodePortMax - first + 1
	start := rand.IntN(n)
	for i := range n {
		p := first + (start+i)%n
		if handedOut.ports[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			handedOut.ports[p] = true
			return int32(p)
		}
	}
	t.Fatal("no free node port")
	return 0
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("LAB_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func startLab(t *testing.T, files ...string) *Lab {
	t.Helper()
	l := newLab(t, serverArgv, files...)
	start(t, l)
	return l
}

// newLab builds a lab whose containers run argv, not started yet, so a
// test can watch its API from the first write.
func newLab(t *testing.T, argv []string, files ...string) *Lab {
	t.Helper()
	l, err := New(Options{Files: files, ServerArgv: argv, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

func start(t *testing.T, l *Lab) {
	t.Helper()
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state:\n%s", d, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pods(t *testing.T, c kubernetes.Interface) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

func describe(ps []corev1.Pod) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s version=%s phase=%s ready=%v restarts=%d deleting=%v\n",
			p.Name, p.Labels["version"], p.Status.Phase, ready(&p), restarts(&p), p.DeletionTimestamp != nil)
	}
	return b.String()
}

// readyPods waits until exactly n pods of version are ready and none of
// another version or being deleted is left.
func readyPods(t *testing.T, c kubernetes.Interface, d time.Duration, version string, n int) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	waitFor(t, d, fmt.Sprintf("%d/%d ready at %s", n, n, version), func() (bool, string) {
		ps := pods(t, c)
		out = out[:0]
		for _, p := range ps {
			if p.Labels["version"] != version || p.DeletionTimestamp != nil || !ready(&p) {
				return false, describe(ps)
			}
			out = append(out, p)
		}
		return len(out) == n, describe(ps)
	})
	return out
}

// stage1 is the seed's first stage, sped up for CI: START_WAIT_SECS 1
// instead of 15 (the wait is the server's, the probes' timings are the
// manifest's), and the Service on a free node port.
func stage1(t testing.TB, crashFactor string) (string, int32) {
	return stage1Wait(t, crashFactor, "1")
}

func stage1Wait(t testing.TB, crashFactor, startWait string) (string, int32) {
	s := loadDemo(t, demo.Service, demo.Stage1)
	setEnv(s.deploy, "START_WAIT_SECS", startWait)
	setEnv(s.deploy, "CRASH_FACTOR", crashFactor)
	port := freeNodePort(t)
	s.service.Spec.Ports[0].NodePort = port
	return write(t, "stage1.yaml", s.service, s.deploy), port
}

func httpGet(url string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// statusTrail records what "kubectl get pods" shows for each pod at every
// write the API accepts: kube.PodStatus's columns, as the dashboard computes
// them, with repeats of the same STATUS, READY and restart count left out.
// It also records what "kubectl describe pod" shows of each container run
// (State and Last State), so a test can follow one run's end even after
// later restarts have replaced it in the status.
type statusTrail struct {
	w    watch.Interface
	done chan struct{}

	mu   sync.Mutex
	rows map[string][]kube.PodColumns
	runs map[string][]*containerRun // by pod, in the order first seen
}

// containerRun is one run of a container (one container ID) as the pod's
// statuses showed it.
type containerRun struct {
	Container string
	ID        string
	// Restarts is the restartCount while this run was the current one;
	// -1 when the trail only saw it as another run's Last State.
	Restarts int32
	// After is the ID of the run the status showed as Last State when
	// this run was first seen current ("" for none): the run it replaced.
	After string
	// End is how it ended, nil while it has not.
	End *corev1.ContainerStateTerminated
}

// record notes the container runs a pod's status shows. Called with mu held.
func (s *statusTrail) record(p *corev1.Pod) {
	find := func(container, id string) *containerRun {
		for _, r := range s.runs[p.Name] {
			if r.ID == id {
				return r
			}
		}
		r := &containerRun{Container: container, ID: id, Restarts: -1}
		s.runs[p.Name] = append(s.runs[p.Name], r)
		return r
	}
	for _, cs := range p.Status.ContainerStatuses {
		// The previous run first: it was first seen before this one.
		if last := cs.LastTerminationState.Terminated; last != nil && last.ContainerID != "" && last.ContainerID != cs.ContainerID {
			if r := find(cs.Name, last.ContainerID); r.End == nil {
				r.End = last.DeepCopy()
			}
		}
		if cs.ContainerID == "" {
			continue
		}
		r := find(cs.Name, cs.ContainerID)
		if r.Restarts < 0 {
			r.Restarts = cs.RestartCount
			if last := cs.LastTerminationState.Terminated; last != nil && last.ContainerID != cs.ContainerID {
				r.After = last.ContainerID
			}
		}
		if end := cs.State.Terminated; end != nil && r.End == nil {
			r.End = end.DeepCopy()
		}
		// In CrashLoopBackOff the run that ended is both the current
		// run and the Last State.
		if last := cs.LastTerminationState.Terminated; last != nil && last.ContainerID == cs.ContainerID && r.End == nil {
			r.End = last.DeepCopy()
		}
	}
}

// watchStatus starts recording; start it before the lab so nothing is
// missed.
func watchStatus(t *testing.T, c kubernetes.Interface) *statusTrail {
	t.Helper()
	w, err := c.CoreV1().Pods(Namespace).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &statusTrail{w: w, done: make(chan struct{}), rows: map[string][]kube.PodColumns{}, runs: map[string][]*containerRun{}}
	go func() {
		defer close(s.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			row := kube.PodStatus(p, time.Now())
			s.mu.Lock()
			rows := s.rows[p.Name]
			if n := len(rows); n == 0 || rows[n-1].Status != row.Status || rows[n-1].Ready != row.Ready || rows[n-1].RestartCount != row.RestartCount {
				s.rows[p.Name] = append(rows, row)
			}
			s.record(p)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

func (s *statusTrail) Stop() {
	s.w.Stop()
	<-s.done
}

// Of returns one pod's rows in the order they were written.
func (s *statusTrail) Of(pod string) []kube.PodColumns {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rows[pod])
}

// Runs returns one pod's container runs in the order they were first seen.
func (s *statusTrail) Runs(pod string) []containerRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []containerRun
	for _, r := range s.runs[pod] {
		c := *r
		c.End = r.End.DeepCopy()
		out = append(out, c)
	}
	return out
}

// crashes returns the runs that ended as the probe server's crashes end:
// exit code 1 (CRASH_EXIT_CODE's default), reason Error. A liveness kill
// ends a run with 0 (Completed: the server shuts down cleanly on SIGTERM)
// or 137 (SIGKILL after the grace period), never 1.
func crashes(runs []containerRun) []containerRun {
	var out []containerRun
	for _, r := range runs {
		if r.End != nil && r.End.ExitCode == 1 && r.End.Reason == "Error" {
			out = append(out, r)
		}
	}
	return out
}

// runsString shows runs as " [RESTARTS exit CODE REASON]...".
func runsString(runs []containerRun) string {
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, " [%d", r.Restarts)
		if r.End != nil {
			fmt.Fprintf(&b, " exit %d %s", r.End.ExitCode, r.End.Reason)
		}
		b.WriteString("]")
	}
	return b.String()
}

// String shows each pod's rows as READY STATUS RESTARTS.
func (s *statusTrail) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(s.rows)) {
		fmt.Fprintf(&b, "%s:%s\n", name, rowsString(s.rows[name]))
	}
	return b.String()
}

// rowsString shows rows as " [READY STATUS RESTARTS]...".
func rowsString(rows []kube.PodColumns) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, " [%s %s %d]", r.Ready, r.Status, r.RestartCount)
	}
	return b.String()
}

// showsInOrder reports whether the rows show the STATUS values in this
// order (others may come between).
func showsInOrder(rows []kube.PodColumns, statuses ...string) bool {
	for _, r := range rows {
		if len(statuses) > 0 && r.Status == statuses[0] {
			statuses = statuses[1:]
		}
	}
	return len(statuses) == 0
}

// TestFirstStage is the seed's first experiment: three replicas that wait
// before listening and crash on 40% of starts reach 3/3 ready, restarting
// the ones that crashed, and the node port serves the CONTENT.
//
// The manifest is demo/foo-1.0.1.yaml with START_WAIT_SECS 1 instead of 15
// (the wait is the server's; probe timings stay the manifest's). The run is
// deterministic because the containers start through the seeded runtime
// (seeds_test.go) with the "first-stage" plan: CRASH_FACTOR 40 still rolls
// in the real server, with seeds chosen so that the first pod crashes on
// its first two starts, the second never, the third once. So every run
// shows what the seed's output shows: a restart at once after the first
// crash, CrashLoopBackOff (10 s) after the second crash in a row, then all
// three ready.
func TestFirstStage(t *testing.T) {
	t.Parallel()
	file, port := stage1(t, "40")
	rt := newSeededRuntime(t, "first-stage")
	l := newLab(t, rt.Argv, file)
	c := l.Client()
	trail := watchStatus(t, c)
	start(t, l)

	// The slowest pod: 1 s wait and crash, again, 10 s back-off, 1 s
	// wait, then readiness after its initialDelaySeconds 5 on the next
	// tick of its 10 s period: about 30 s. The deadline is for a loaded
	// machine, where a 1 s liveness timeout can also restart a pod the
	// plan leaves alone (the checks below allow for that).
	//
	// The seeded runtime records a start before the kubelet reports it
	// (at its next relist), so RESTARTS can lag the record by a relist:
	// wait until every pod's restart count is its starts less one.
	var ps []corev1.Pod
	starts := map[string][]seededStart{}
	waitFor(t, 180*time.Second, "3/3 ready at 1.0.1, each pod's RESTARTS its starts less one", func() (bool, string) {
		list := pods(t, c)
		clear(starts)
		for _, s := range rt.Starts(t) { // after the pods: never behind them
			starts[s.Pod] = append(starts[s.Pod], s)
		}
		ps = ps[:0]
		for _, p := range list {
			if p.Labels["version"] != "1.0.1" || p.DeletionTimestamp != nil || !ready(&p) ||
				int(restarts(&p)) != len(starts[p.Name])-1 {
				return false, fmt.Sprintf("%sstarts recorded %v", describe(list), starts)
			}
			ps = append(ps, p)
		}
		return len(ps) == 3, describe(list)
	})
	now := time.Now()
	t.Logf("what kubectl get pods showed along the way:\n%s", trail)

	var sawRestarts bool
	for _, p := range ps {
		if !strings.HasPrefix(p.Name, "prober-foo-") || len(strings.Split(p.Name, "-")) != 4 {
			t.Errorf("pod name %q, want prober-foo-<hash>-<5 chars>", p.Name)
		}
		row := kube.PodStatus(&p, now)
		ss := starts[p.Name]
		if len(ss) == 0 {
			t.Fatalf("%s: no start recorded by the seeded runtime", p.Name)
		}
		// Every start after the first is a restart the kubelet counts.
		if row.Ready != "1/1" || row.Status != "Running" || row.RestartCount != len(ss)-1 {
			t.Errorf("%s: READY %s STATUS %s RESTARTS %s after %d starts; want 1/1 Running %d",
				p.Name, row.Ready, row.Status, row.Restarts, len(ss), len(ss)-1)
		}
		rows := trail.Of(p.Name)
		runs := trail.Runs(p.Name)
		// The plan's crashes, as a person watching would have seen them.
		// Exactly the planned ones: CRASH_FACTOR rolls only on the seeds
		// the plan gives, and nothing else ends a run with exit 1 (an
		// unplanned liveness kill on a loaded machine ends it with 0).
		if ss[0].Ordinal > 2 {
			t.Fatalf("%s: ordinal %d; the replica set's three pods are 0 to 2", p.Name, ss[0].Ordinal)
		}
		planned := []int{2, 0, 1}[ss[0].Ordinal]
		if got := crashes(runs); len(got) != planned {
			t.Errorf("%s (ordinal %d): %d runs ended exit 1 Error, the plan crashes %d; runs%s",
				p.Name, ss[0].Ordinal, len(got), planned, runsString(runs))
		}
		switch ss[0].Ordinal {
		case 0: // crashed on the first two starts
			if !showsInOrder(rows, "Error", "CrashLoopBackOff", "Running") {
				t.Errorf("%s: STATUS never went Error, then CrashLoopBackOff, then Running:%s", p.Name, rowsString(rows))
			}
			if !strings.HasPrefix(row.Restarts, fmt.Sprintf("%d (", row.RestartCount)) || !strings.HasSuffix(row.Restarts, " ago)") {
				t.Errorf("%s: RESTARTS %q, want \"%d (<age> ago)\"", p.Name, row.Restarts, row.RestartCount)
			}
		case 1: // never crashed
			if showsInOrder(rows, "Error") || showsInOrder(rows, "CrashLoopBackOff") {
				t.Errorf("%s never crashed, yet STATUS showed a crash:%s", p.Name, rowsString(rows))
			}
		case 2: // crashed once, restarted at once
			if !showsInOrder(rows, "Error", "Running") {
				t.Errorf("%s: STATUS%s; want a crash (STATUS Error) and then Running", p.Name, rowsString(rows))
			}
		}
		// Each crash is followed by a restart whose Last State is the
		// crash: "kubectl describe pod" shows Last State Terminated,
		// Reason Error, Exit Code 1 (CRASH_EXIT_CODE) on the next run.
		for _, cr := range crashes(runs) {
			sawRestarts = true
			if !slices.ContainsFunc(runs, func(r containerRun) bool { return r.After == cr.ID && r.Restarts > cr.Restarts }) {
				t.Errorf("%s: no run after the crash of run %d shows it as its Last State; runs%s", p.Name, cr.Restarts, runsString(runs))
			}
		}
	}
	if !sawRestarts {
		t.Errorf("3/3 ready with no restart along the way; the plan crashes three starts")
	}
	// The back-off after the second crash in a row, with the kubelet's text
	// (pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff).
	events, err := c.CoreV1().Events(Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var backOff bool
	for _, e := range events.Items {
		p := e.InvolvedObject
		if e.Reason == "BackOff" && e.Type == corev1.EventTypeWarning &&
			e.Message == fmt.Sprintf("Back-off restarting failed container prober-foo in pod %s_%s(%s)", p.Name, p.Namespace, p.UID) {
			backOff = true
		}
	}
	if !backOff {
		t.Errorf("no BackOff event \"Back-off restarting failed container prober-foo in pod ...\"")
	}

	curlUntil(t, fmt.Sprintf("http://127.0.0.1:%d", port), func(body string) bool {
		return body == `{ "team": "foo", "version": "1.0.1" }`
	})
	curlUntil(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), func(body string) bool {
		return strings.Contains(body, `"ok"`)
	})
}

// curlUntil gets url until the body is what ok wants. One try is not
// enough on a loaded machine: a pod a slow liveness probe has the kubelet
// restart stays an endpoint until the status says so, and a connection
// the proxy sends it meanwhile fails, as it would on a cluster.
func curlUntil(t *testing.T, url string, ok func(body string) bool) {
	t.Helper()
	waitFor(t, 30*time.Second, "curl "+url, func() (bool, string) {
		body, err := httpGet(url)
		return err == nil && ok(body), fmt.Sprintf("%q, %v", body, err)
	})
}

// TestCrashIsRestarted is the seed's "/crash on one pod": "curl
// http://node:30080/crash" gets an empty reply, and the pod that served it
// shows STATUS Error, is restarted at once (a first restart has no
// back-off, so never CrashLoopBackOff), with the kubelet's Pulled, Created
// and Started events again, and comes back 1/1 Running with one more
// restart, its Last State the crash. The dashboard's crash action does the
// same to the pod it names. The third pod is not crashed.
//
// The checks hold whatever else restarts a container meanwhile: on a
// loaded machine the stage's liveness probe (timeoutSeconds 1) can fail
// and the kubelet restart a pod, as it would on a cluster. A crash is told
// from such a restart by how the run ended (exit 1, Error: a liveness kill
// ends it with 0 or 137), and the statuses are followed run by run
// (statusTrail), so a later restart does not hide the crash's.
func TestCrashIsRestarted(t *testing.T) {
	t.Parallel()
	file, port := stage1(t, "0")
	l := newLab(t, serverArgv, file)
	c := l.Client()
	ctx := context.Background()
	trail := watchStatus(t, c)
	start(t, l)
	ps := readyPods(t, c, 120*time.Second, "1.0.1", 3)
	before := map[string]int32{}
	for _, p := range ps {
		before[p.Name] = restarts(&p)
	}
	// crashed lists the pods with a run that ended as /crash ends it
	// (CRASH_FACTOR is 0: nothing else exits 1).
	crashed := func() (names []string) {
		for _, p := range ps {
			if len(crashes(trail.Runs(p.Name))) > 0 {
				names = append(names, p.Name)
			}
		}
		return names
	}

	// The seed's way: through the node port, to whichever pod it picks.
	// A crashing pod closes the connection: an empty reply, EOF. Anything
	// else (a reset, a broken pipe) is the proxy finding no endpoint it
	// could reach and rejecting the connection as kube-proxy does, which
	// a pod being restarted on a loaded machine can cause: try again.
	var tries []string
	waitFor(t, 30*time.Second, "the node port to pass /crash to a pod", func() (bool, string) {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/crash", port))
		if err == nil {
			t.Fatalf("curl the node port's /crash: answered %q; want an empty reply", body)
		}
		tries = append(tries, err.Error())
		return errors.Is(err, io.EOF), strings.Join(tries, "\n")
	})
	if len(tries) > 1 {
		t.Logf("curl the node port's /crash: %d tries; before the crash: %s", len(tries), tries[len(tries)-2])
	}
	var first string
	waitFor(t, 30*time.Second, "the pod the node port sent /crash to to end with exit 1", func() (bool, string) {
		names := crashed()
		if len(names) == 1 {
			first = names[0]
		}
		return len(names) == 1, fmt.Sprintf("crashed %v\n%s", names, describe(pods(t, c)))
	})

	// The dashboard's way: the action, on another pod.
	var second corev1.Pod
	for _, p := range ps {
		if p.Name != first {
			second = p
			break
		}
	}
	// A refused connection reached no process (the pod being restarted,
	// as above): try again. Anything else is the answer.
	var r kube.Result
	waitFor(t, 30*time.Second, "the crash action to reach "+second.Name, func() (bool, string) {
		r = l.Actions().Crash(ctx, targetOf(&second))
		return !errors.Is(r.Err, syscall.ECONNREFUSED), fmt.Sprintf("%+v", r)
	})
	if r.Err != nil || r.Note != "connection closed: the container exited" {
		t.Fatalf("crash action on %s: %+v", second.Name, r)
	}

	// Each victim: the crashed run is followed by a run of the same
	// container whose Last State is the crash, its restart count at least
	// one more, the pod is ready again, and startContainer's events
	// (Pulled, Created, Started; folded into one event each, with Count)
	// number its starts, restartCount+1. The events are written apart
	// from the status, so this too is waited for.
	victims := []string{first, second.Name}
	var seen []corev1.Pod // the victims when all was true, as kubectl showed them
	var seenAt time.Time
	waitFor(t, 120*time.Second, fmt.Sprintf("%v restarted after the crash and ready again", victims), func() (bool, string) {
		events, err := c.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ps := pods(t, c)
		seen, seenAt = seen[:0], time.Now()
		var state []string
		n := 0
		for _, p := range ps {
			if !slices.Contains(victims, p.Name) {
				continue
			}
			runs := trail.Runs(p.Name)
			line := fmt.Sprintf("%s ready=%v restarts=%d runs%s events", p.Name, ready(&p), restarts(&p), runsString(runs))
			done := ready(&p) && restarts(&p) >= before[p.Name]+1
			if cr := crashes(runs); len(cr) != 1 || !slices.ContainsFunc(runs, func(r containerRun) bool {
				return r.After == cr[0].ID && r.Restarts >= cr[0].Restarts+1
			}) {
				done = false
			}
			for _, reason := range []string{"Pulled", "Created", "Started"} {
				got := eventCount(events, p.Name, reason)
				line += fmt.Sprintf(" %s=%d", reason, got)
				done = done && got == restarts(&p)+1
			}
			state = append(state, line)
			if done {
				n++
				seen = append(seen, p)
			}
		}
		return n == 2, strings.Join(state, "\n")
	})
	t.Logf("what kubectl get pods showed along the way:\n%s", trail)

	for _, p := range ps {
		if runs := trail.Runs(p.Name); !slices.Contains(victims, p.Name) && len(crashes(runs)) > 0 {
			t.Errorf("%s was not crashed, yet a run ended exit 1 Error; runs%s", p.Name, runsString(runs))
		}
	}
	// The victims as they were when the wait ended: read again, a slow
	// liveness probe might have the kubelet restart one meanwhile.
	for _, p := range seen {
		rows := trail.Of(p.Name)
		runs := trail.Runs(p.Name)
		row := kube.PodStatus(&p, seenAt)
		if row.Ready != "1/1" || row.Status != "Running" || row.RestartCount < int(before[p.Name])+1 {
			t.Errorf("%s after /crash: READY %s STATUS %s RESTARTS %s; want 1/1 Running %d or more",
				p.Name, row.Ready, row.Status, row.Restarts, before[p.Name]+1)
		}
		if !showsInOrder(rows, "Error", "Running") {
			t.Errorf("%s: along the way%s; want STATUS Error, then Running", p.Name, rowsString(rows))
		}
		// A first restart has no back-off (kuberuntime_manager.go
		// doBackOff: no back-off entry before the first restart). When
		// the crashed run was the container's first, nothing may show
		// CrashLoopBackOff with its restart count.
		cr := crashes(runs)[0]
		if cr.Restarts == 0 && slices.ContainsFunc(rows, func(r kube.PodColumns) bool {
			return r.Status == "CrashLoopBackOff" && r.RestartCount == 0
		}) {
			t.Errorf("%s: along the way%s; a first crash is restarted at once, never CrashLoopBackOff", p.Name, rowsString(rows))
		}
		if cr.Restarts != before[p.Name] {
			t.Logf("%s: restarted %d times before the crash (a slow liveness probe here)", p.Name, cr.Restarts-before[p.Name])
		}
		// "kubectl describe pod" on the run after the crash: Last State
		// Terminated, Reason Error, Exit Code 1 (the crash, as crashes
		// picked it), and the restart count exactly one more.
		next := runs[slices.IndexFunc(runs, func(r containerRun) bool { return r.After == cr.ID })]
		if next.Restarts != cr.Restarts+1 {
			t.Errorf("%s: restart count %d on the run after the crash of run %d; want one more", p.Name, next.Restarts, cr.Restarts)
		}
		waitFor(t, 30*time.Second, "healthz on "+p.Name+" after the restart", func() (bool, string) {
			h := l.Actions().Healthz(ctx, targetOf(&p))
			return h.Err == nil && h.Code == 200 && strings.Contains(h.Body, "ok"), fmt.Sprintf("%+v", h)
		})
	}
}

// eventCount is how many times events of this reason were recorded for a
// pod, counting the repeats folded into one event.
func eventCount(events *corev1.EventList, pod, reason string) int32 {
	var n int32
	for _, e := range events.Items {
		if e.InvolvedObject.Name == pod && e.Reason == reason {
			n += max(e.Count, 1)
		}
	}
	return n
}

func targetOf(p *corev1.Pod) kube.Target { return kube.Target{Namespace: p.Namespace, Pod: p.Name} }
