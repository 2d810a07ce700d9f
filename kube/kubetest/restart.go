package kubetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// StopAPIServer kills kube-apiserver and its process group at once, as a
// crash or a lost machine would, leaving etcd and everything stored in it
// running: clients' open connections break and new ones to its address are
// refused. StartAPIServer brings it back on the same address.
//
// It does not wait for a graceful shutdown: on SIGTERM kube-apiserver stops
// listening but keeps serving open watches until they end or its shutdown
// timeout (the request timeout, 60 s by default) passes, so clients would
// see nothing for up to Stop's whole grace period before the break.
//
// A cleanup on t starts it again if the test ends with it stopped, failed or
// not, so the next test of a package sharing the control plane (Run) finds
// it up. A test that stops the shared apiserver must not call t.Parallel:
// the package's other tests would lose their API server under them.
func (e *Env) StopAPIServer(t testing.TB) {
	t.Helper()
	if err := e.stopAPIServer(); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	t.Cleanup(func() {
		if err := e.startAPIServer(false); err != nil {
			t.Errorf("kubetest: start kube-apiserver again after %s stopped it: %v", t.Name(), err)
		}
	})
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, with the
// same flags, so on the same address and port, with the same certificates,
// service-account keys and etcd, and waits until its /readyz passes. The
// objects stored before the stop are all there; Config and Client work
// again unchanged. It fails t if the apiserver is running or does not
// become ready.
func (e *Env) StartAPIServer(t testing.TB) {
	t.Helper()
	if err := e.startAPIServer(true); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
}

// RestartAPIServer is StopAPIServer followed by StartAPIServer.
func (e *Env) RestartAPIServer(t testing.TB) {
	t.Helper()
	e.StopAPIServer(t)
	e.StartAPIServer(t)
}

// APIServerPID is the process id of the running kube-apiserver, or 0 while
// it is stopped. Tests use it to tell a restarted apiserver from the old one.
func (e *Env) APIServerPID() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.apiserver == nil {
		return 0
	}
	return e.apiserver.Cmd.Process.Pid
}

func (e *Env) stopAPIServer() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopped:
		return errors.New("stop kube-apiserver: the control plane has been stopped")
	case e.apiserver == nil:
		return errors.New("stop kube-apiserver: it is already stopped")
	}
	err := e.apiserver.Stop(0)
	e.apiserver = nil
	if err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	if err := e.reservePort(); err != nil {
		return fmt.Errorf("kube-apiserver stopped, but its port cannot be held for its restart: %w", err)
	}
	return nil
}

// startAPIServer starts the apiserver again with the flags of the first
// start. With mustBeStopped false it is the cleanup's: nothing to do when
// the apiserver runs or the control plane is gone.
func (e *Env) startAPIServer(mustBeStopped bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopped:
		if !mustBeStopped {
			return nil
		}
		return errors.New("start kube-apiserver: the control plane has been stopped")
	case e.apiserver != nil:
		if !mustBeStopped {
			return nil
		}
		return errors.New("start kube-apiserver: it is running; call StopAPIServer first")
	}
	// A line between the two runs' logs, for whoever reads them after a
	// failure.
	if f, err := os.OpenFile(filepath.Join(e.Dir, "kube-apiserver.log"), os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprintf(f, "--- kubetest: kube-apiserver started again at %s\n", time.Now().UTC().Format(time.RFC3339Nano))
		f.Close()
	}
	e.releasePort()
	p, err := e.startProcess(e.apiserverBin, "kube-apiserver.log", true, e.apiserverArgs...)
	if err != nil {
		return err
	}
	e.apiserver = p
	if err := e.waitReady(); err != nil {
		// Leave no half-started apiserver behind; a later StartAPIServer
		// may try again.
		p.Stop(stopGrace)
		e.apiserver = nil
		return fmt.Errorf("start kube-apiserver again: %w\n%s", err, e.logTail("kube-apiserver.log"))
	}
	return nil
}

// reservePort binds, without listening, a socket to the stopped apiserver's
// address. Nothing listens, so a client's connection is refused as it would
// be by a stopped server; but the port is no longer free, so neither another
// process's bind to port 0 (how every test here picks ports) nor an outgoing
// connection's ephemeral port can take it before the restart: Linux skips
// ports with a bound socket in both searches (net/ipv4/inet_connection_sock.c,
// inet_csk_find_open_port; inet_hashtables.c, __inet_hash_connect). It does
// not stop an explicit bind to this port with SO_REUSEADDR, which is what
// lets the apiserver (Go listeners set SO_REUSEADDR) start even while it is
// held; it is closed right before the start anyway.
func (e *Env) reservePort() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("set SO_REUSEADDR: %w", err)
	}
	addr := &syscall.SockaddrInet4{Port: e.apiserverPort, Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, addr); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("bind 127.0.0.1:%d: %w", e.apiserverPort, err)
	}
	e.reserved = os.NewFile(uintptr(fd), fmt.Sprintf("kube-apiserver port %d, held", e.apiserverPort))
	return nil
}

func (e *Env) releasePort() {
	if e.reserved != nil {
		e.reserved.Close()
		e.reserved = nil
	}
}
