//go:build unix && !linux

package kubelet

import (
	"os/exec"
	"syscall"
)

// spawner starts children in their own process group. Outside Linux there
// is no parent-death signal; Run's shutdown stops the children, and a
// SIGKILLed lab leaves them to exit on their own.
type spawner struct{}

var defaultSpawner = &spawner{}

func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd.Start()
}
