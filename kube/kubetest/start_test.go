package kubetest

import (
	"errors"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStart measures a warm start, etcd and kube-apiserver from launch
// to a passing /readyz (start-s/op), and the stop that follows (stop-s/op).
// BENCHMARKS.md records it.
func BenchmarkStart(b *testing.B) {
	bin := binaries(b)
	var starting, stopping time.Duration
	for b.Loop() {
		t0 := time.Now()
		env, err := start(bin)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := env.Stop(); err != nil {
			b.Fatal(err)
		}
		starting += t1.Sub(t0)
		stopping += time.Since(t1)
		if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
			b.Fatalf("%s left behind after Stop: %v", env.Dir, err)
		}
	}
	b.ReportMetric(starting.Seconds()/float64(b.N), "start-s/op")
	b.ReportMetric(stopping.Seconds()/float64(b.N), "stop-s/op")
}

// TestStopLeavesNothing starts a control plane of its own and checks that
// Stop leaves no process, listening port or directory behind.
func TestStopLeavesNothing(t *testing.T) {
	env, err := start(binaries(t))
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{env.etcd.Cmd.Process.Pid, env.apiserver.Cmd.Process.Pid}
	u, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, env, u.Host, pids)
	if err := env.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestStopAfterRestartLeavesNothing restarts the apiserver of a control
// plane of its own, stops it again, and stops the whole: neither apiserver
// process, nor the held port, nor the directory may remain.
func TestStopAfterRestartLeavesNothing(t *testing.T) {
	env, err := start(binaries(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() }) // in case of an early Fatal
	etcd, first := env.etcd.Cmd.Process.Pid, env.APIServerPID()
	env.RestartAPIServer(t)
	second := env.APIServerPID()
	env.StopAPIServer(t) // its cleanup must do nothing once Stop ran
	u, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, env, u.Host, []int{etcd, first, second})
}

// checkNothingLeft fails unless, after env.Stop, none of pids exists, the
// apiserver's address is free and env's directory is gone.
func checkNothingLeft(t *testing.T, env *Env, addr string, pids []int) {
	t.Helper()
	for _, pid := range pids {
		// Reaped children no longer exist at all, not even as zombies.
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d after Stop: kill(0) = %v, want ESRCH", pid, err)
		}
	}
	if l, err := net.Listen("tcp", addr); err != nil {
		t.Errorf("apiserver port %s still taken after Stop: %v", addr, err)
	} else {
		l.Close()
	}
	if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
		t.Errorf("%s after Stop: %v, want it gone", env.Dir, err)
	}
}
