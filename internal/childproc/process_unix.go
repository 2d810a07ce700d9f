//go:build unix

package childproc

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Process is a child started by StartProcess. Its Wait has already been
// called; use Done and Err instead.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts cmd as Start does and waits for it in the background,
// for callers that stop it with Stop rather than waiting themselves.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	if err := start(cmd); err != nil {
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
