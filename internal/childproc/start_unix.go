//go:build unix && !linux

package childproc

import (
	"os/exec"
	"syscall"
)

// start starts cmd in its own process group. Outside Linux there is no
// parent-death signal: the parent's shutdown stops the children, and a
// SIGKILLed parent leaves them to exit on their own.
func start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd.Start()
}
