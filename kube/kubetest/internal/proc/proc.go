// Package proc starts the child processes of integration tests (etcd,
// kube-apiserver, servers inside network namespaces) so that none outlives
// the test binary: each runs in its own process group, is stopped as a group,
// and receives SIGKILL if the test binary dies first, for example when
// `go test -timeout` expires and no cleanup runs.
package proc

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Process is a started child. Its Wait has already been called; use Done and
// Err instead.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type spawnRequest struct {
	cmd    *exec.Cmd
	result chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnRequest
)

// spawn runs cmd.Start on one goroutine locked to its OS thread for the life
// of the test binary. The parent-death signal is tied to the thread that
// forked the child, not to the process (prctl(2), PR_SET_PDEATHSIG), and the
// Go runtime may retire threads, which would kill a child too early; a
// thread that never exits makes the signal mean "the test binary died".
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread must outlive every child
			for req := range spawnCh {
				req.result <- req.cmd.Start()
			}
		}()
	})
	result := make(chan error, 1)
	spawnCh <- spawnRequest{cmd: cmd, result: result}
	return <-result
}

// Start starts cmd in a new process group whose leader gets SIGKILL when the
// test binary exits. cmd must not have been started; its SysProcAttr is
// replaced.
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error (nil for a clean exit). Call it only after
// Done is closed.
func (p *Process) Err() error { return p.err }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, waits up to grace for the leader
// to exit, then sends SIGKILL to the group, so that no member survives. It
// returns once the leader has been reaped.
func (p *Process) Stop(grace time.Duration) error {
	pgid := p.Cmd.Process.Pid
	if !p.Exited() {
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop %s (pid %d): %w", p.Cmd.Path, pgid, err)
		}
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
	}
	// Whatever is left of the group goes now, leader included.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Cmd.Path, pgid, err)
	}
	<-p.done
	return nil
}
