package kubetest_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/kube/kubetest"
)

// These tests stop the package's shared apiserver, so none of them calls
// t.Parallel, and each leaves it running (StopAPIServer's cleanup makes sure
// of that even on failure).

// TestRestartAPIServer stops the apiserver, checks that its address refuses
// connections while it is down, starts it again and checks it is a new
// process on the same address that serves what was stored before.
func TestRestartAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := env.Namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before-restart"}, Data: map[string]string{"k": "v"}}
	created, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	host := env.Config.Host
	addr := hostPort(t, host)
	oldPID := env.APIServerPID()
	if oldPID == 0 {
		t.Fatal("APIServerPID = 0 while the apiserver runs")
	}

	env.StopAPIServer(t)
	if pid := env.APIServerPID(); pid != 0 {
		t.Errorf("APIServerPID = %d while stopped, want 0", pid)
	}
	if err := syscall.Kill(oldPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("old apiserver pid %d after StopAPIServer: kill(0) = %v, want ESRCH", oldPID, err)
	}
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial %s while stopped: %v, want connection refused", addr, err)
	}
	env.StartAPIServer(t)
	if env.Config.Host != host {
		t.Errorf("Config.Host = %s after restart, want %s", env.Config.Host, host)
	}
	newPID := env.APIServerPID()
	if newPID == 0 || newPID == oldPID {
		t.Errorf("APIServerPID after restart = %d, want a new process (old %d)", newPID, oldPID)
	}
	// The Client made before the stop reaches the new process on the same
	// address and finds the object etcd kept.
	got, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s/%s after restart: %v", ns, cm.Name, err)
	}
	if got.UID != created.UID || got.Data["k"] != "v" {
		t.Errorf("after restart: uid %s data %v, want uid %s data %v", got.UID, got.Data, created.UID, cm.Data)
	}
	// And it writes: the restarted apiserver is fully up, not read-only.
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("create after restart: %v", err)
	}

	// Starting a running apiserver or stopping a stopped one is a
	// mistake the test author hears about; checked in a child test whose
	// failure is the expected outcome, through the public API only.
	if ok := runExpectingFatal(func(tb testing.TB) { env.StartAPIServer(tb) }); !ok {
		t.Error("StartAPIServer on a running apiserver did not fail the test")
	}
}

// TestStoppedAPIServerIsStartedByCleanup stops the apiserver in a subtest
// that ends without starting it, as a failing test would, and checks that
// the cleanup brought it back for the tests that follow.
func TestStoppedAPIServerIsStartedByCleanup(t *testing.T) {
	env := kubetest.Start(t)
	oldPID := env.APIServerPID()
	t.Run("stops and returns", func(t *testing.T) {
		env.StopAPIServer(t)
	})
	pid := env.APIServerPID()
	if pid == 0 || pid == oldPID {
		t.Fatalf("APIServerPID after the subtest = %d, want a new process (old %d)", pid, oldPID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := env.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		t.Errorf("/readyz after the cleanup: %v", err)
	}
}

// runExpectingFatal runs f with a testing.TB whose Fatal ends f, and
// reports whether f called it.
func runExpectingFatal(f func(testing.TB)) (fataled bool) {
	defer func() {
		if r := recover(); r == errFatal {
			fataled = true
		} else if r != nil {
			panic(r)
		}
	}()
	f(&fatalRecorder{})
	return false
}

var errFatal = errors.New("fatal")

// fatalRecorder is a testing.TB whose Fatalf panics with errFatal instead of
// ending the real test.
type fatalRecorder struct{ testing.TB }

func (*fatalRecorder) Helper()               {}
func (*fatalRecorder) Fatalf(string, ...any) { panic(errFatal) }

func hostPort(t *testing.T, host string) string {
	t.Helper()
	u, err := url.Parse(host)
	if err != nil {
		t.Fatalf("parse %s: %v", host, err)
	}
	return u.Host
}
