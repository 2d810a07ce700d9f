//go:build unix

package childproc

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a child started by StartProcess. Its Wait has already been
// called; use Done and Err instead.
//
// The child's pid is its process group's id, and signalling the group
// (kill(-pgid)) is only safe while that pid is still the child's: once the
// child is reaped the kernel may give the number to a new process, which
// may lead a group of its own. So the group is never signalled after the
// reap: on Linux the background waiter first learns of the exit without
// reaping (waitid WNOWAIT), takes whatever is left of the group with the
// leader (SIGKILL, as a container's processes end with its main process),
// marks the process exited and only then reaps it; Stop signals the group
// only under the same lock and only while the process is not marked
// exited, that is while its pid is still held by a running child or an
// unreaped zombie.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu     sync.Mutex
	exited bool // set before the reap; no group signal after it
}

// signalHook, set by tests, sees every group signal just before it is sent,
// under the lock that orders it with the reap.
var signalHook func(pgid int, sig syscall.Signal)

// StartProcess starts cmd as Start does and waits for it in the background,
// for callers that stop it with Stop rather than waiting themselves.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	if err := start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	go p.wait()
	return p, nil
}

func (p *Process) wait() {
	pid := p.Cmd.Process.Pid
	if waitExitedNoReap(pid) {
		p.mu.Lock()
		_ = p.signalLocked(syscall.SIGKILL)
		p.exited = true
		p.mu.Unlock()
	}
	p.err = p.Cmd.Wait()
	p.mu.Lock()
	p.exited = true // where the exit could not be seen before the reap
	p.mu.Unlock()
	close(p.done)
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

// Signal sends sig to the process group unless the leader has exited: once
// it has, nothing of the group is left to signal (see Process).
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signalLocked(sig)
}

func (p *Process) signalLocked(sig syscall.Signal) error {
	if p.exited {
		return nil
	}
	pgid := p.Cmd.Process.Pid
	if signalHook != nil {
		signalHook(pgid, sig)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s (pid %d): %w", p.Cmd.Path, pgid, err)
	}
	return nil
}

// Stop sends SIGTERM to the process group, waits up to grace for the leader
// to exit, then sends SIGKILL to the group, so that no member survives. It
// returns once the leader has been reaped.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	// Whatever is left of the group goes now, leader included.
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}
