package childproc

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process on Windows is the child alone: there are no process groups and no
// pid reuse hazard to order against (the handle holds the process). It
// keeps the binary compiling; the lab runs on Linux and macOS.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts cmd and waits for it in the background.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	if err := start(cmd); err != nil {
		return nil, err
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

// Err is the process's exit error; call it only after Done is closed.
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

// Signal kills the child for SIGKILL and interrupts it otherwise, the only
// two signals Windows has.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if sig == syscall.SIGKILL {
		return p.Cmd.Process.Kill()
	}
	return p.Cmd.Process.Signal(os.Interrupt)
}

// Stop interrupts the child, waits up to grace, then kills it.
func (p *Process) Stop(grace time.Duration) error {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
	return nil
}
