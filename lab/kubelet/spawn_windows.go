package kubelet

import (
	"os"
	"os/exec"
	"syscall"
)

// spawner on Windows starts children plainly; the lab is built for Linux and
// macOS, this only keeps the binary compiling.
type spawner struct{}

var defaultSpawner = &spawner{}

func (s *spawner) start(cmd *exec.Cmd) error { return cmd.Start() }

func signalGroup(p *os.Process, sig syscall.Signal) error {
	if sig == syscall.SIGKILL {
		return p.Kill()
	}
	return p.Signal(os.Interrupt)
}
