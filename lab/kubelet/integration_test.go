package kubelet

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/internal/syncbuf"
	"github.com/proberctl/proberctl/kube"
	"github.com/proberctl/proberctl/kube/kubetest"
)

// TestRealAPIServerAcceptsWhatTheKubeletWrites runs the node agent against a
// real kube-apiserver: binding, the port annotations, every status it writes
// (validation would refuse a malformed one), events, and the deletion
// protocol with a grace period.
func TestRealAPIServerAcceptsWhatTheKubeletWrites(t *testing.T) {
	cp := kubetest.Start(t)
	ns := cp.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	// A status or event the apiserver refuses is only logged: collect
	// the warnings and fail on them.
	warnings := &syncbuf.Buffer{}
	k := New(cp.Client, Options{ServerArgv: []string{buildProberctl(t), "serve"},
		Logger: slog.New(slog.NewTextHandler(warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if w := warnings.String(); w != "" {
			t.Errorf("the kubelet warned (a write the apiserver refused?):\n%s", w)
		}
	}()

	t.Run("init containers", func(t *testing.T) { checkInitContainers(ctx, t, cp.Client, ns) })

	p := pod("real", map[string]string{"START_WAIT_SECS": "0"})
	p.Namespace = ns
	rp := httpProbe("/healthz", 80)
	rp.PeriodSeconds = 1
	lp := httpProbe("/healthz", 80)
	lp.PeriodSeconds, lp.InitialDelaySeconds = 1, 1
	p.Spec.Containers[0].ReadinessProbe = rp
	p.Spec.Containers[0].LivenessProbe = lp
	pods := cp.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cur, err := pods.Get(ctx, "real", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = cur
		return kube.PodStatus(cur, time.Now()).Ready == "1/1", nil
	})
	if err != nil {
		t.Fatalf("pod never became ready on a real apiserver: %v; %s", err, statusSummary(got))
	}
	if got.Spec.NodeName != "lab" {
		t.Errorf("nodeName %q, want lab", got.Spec.NodeName)
	}
	if _, err := PodAddress(got, 80); err != nil {
		t.Errorf("PodAddress on the stored pod: %v", err)
	}
	cols := kube.PodStatus(got, time.Now())
	if cols.Status != "Running" || cols.IP != got.Status.PodIP {
		t.Errorf("STATUS %s IP %s", cols.Status, cols.IP)
	}
	var types []corev1.PodConditionType
	for _, c := range got.Status.Conditions {
		types = append(types, c.Type)
		if c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %s once ready", c.Type, c.Status)
		}
	}
	if len(types) != 5 {
		t.Errorf("conditions %v, want PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled", types)
	}

	evs, err := cp.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, ev := range evs.Items {
		reasons[ev.Reason] = true
	}
	for _, r := range []string{reasonScheduled, reasonPulled, reasonCreated, reasonStarted} {
		if !reasons[r] {
			t.Errorf("no %s event stored (have %v)", r, reasons)
		}
	}

	grace := int64(3)
	if err := pods.Delete(ctx, "real", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, "real", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("pod not removed after graceful deletion: %v", err)
	}
}

// checkInitContainers runs pods with init containers on the real apiserver
// and watches them as Tables: every status the node agent writes is
// accepted (validation checks init container state transitions too), and
// for each stored version the STATUS the server prints (kubectl's printPod,
// run server side) is the one kube.PodStatus reads.
func checkInitContainers(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// One watch for the namespace, started before the pods exist, so no
	// written status is missed.
	stream, err := client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
		Param("watch", "true").Param("includeObject", "Object").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Stream(ctx)
	if err != nil {
		t.Fatalf("watch pods as Table: %v", err)
	}
	defer stream.Close()

	wait := pod("init-wait", nil)
	wait.Spec.InitContainers = []corev1.Container{{Name: "wait", Image: "proberctl:init", Command: []string{"sleep", "2"}}}
	fail := pod("init-fail", nil)
	fail.Spec.InitContainers = []corev1.Container{{Name: "check", Image: "proberctl:init", Command: []string{"false"}}}
	never := pod("init-never", nil)
	never.Spec.RestartPolicy = corev1.RestartPolicyNever
	never.Spec.InitContainers = []corev1.Container{{Name: "check", Image: "proberctl:init", Command: []string{"sh", "-c", "exit 3"}}}
	want := map[string][]string{
		"init-wait":  {"Init:0/1", "PodInitializing", "Running"},
		"init-fail":  {"Init:0/1", "Init:Error", "Init:CrashLoopBackOff"},
		"init-never": {"Init:0/1", "Init:Error"},
	}
	for _, p := range []*corev1.Pod{wait, fail, never} {
		p.Namespace = ns
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	seen := map[string][]string{}
	var lastNever *corev1.Pod
	done := func() bool {
		for name, w := range want {
			if !inOrder(seen[name], w) {
				return false
			}
		}
		return lastNever != nil && lastNever.Status.Phase == corev1.PodFailed
	}
	dec := json.NewDecoder(stream)
	for !done() {
		var ev struct {
			Type   string
			Object metav1.Table
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("watch ended before every pod showed its statuses (%v): seen %v", err, seen)
		}
		for _, row := range ev.Object.Rows {
			var p corev1.Pod
			if err := json.Unmarshal(row.Object.Raw, &p); err != nil {
				t.Fatalf("decode the row's pod: %v", err)
			}
			server := ""
			if len(row.Cells) > 2 {
				server, _ = row.Cells[2].(string)
			}
			ours := kube.PodStatus(&p, time.Now()).Status
			if ours != server {
				t.Errorf("pod %s rv %s: kube.PodStatus %q, server prints %q (%s)", p.Name, p.ResourceVersion, ours, server, statusSummary(&p))
			}
			if s := seen[p.Name]; len(s) == 0 || s[len(s)-1] != server {
				seen[p.Name] = append(seen[p.Name], server)
			}
			if p.Name == "init-never" {
				lastNever = p.DeepCopy()
			}
		}
	}
	for name, s := range seen {
		for _, st := range s {
			// Pending: created, no status written yet.
			if name != "init-wait" && st != "Pending" && !strings.HasPrefix(st, "Init:") {
				t.Errorf("%s showed %s (seen %v): its app container must never start", name, st, s)
			}
		}
	}
	var ic corev1.PodCondition
	for _, c := range lastNever.Status.Conditions {
		if c.Type == corev1.PodInitialized {
			ic = c
		}
	}
	if ic.Status != corev1.ConditionFalse || ic.Reason != "ContainersNotInitialized" || ic.Message != "containers with incomplete status: [check]" {
		t.Errorf("failed pod's Initialized condition %+v", ic)
	}
}
