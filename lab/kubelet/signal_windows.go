package kubelet

import (
	"os"
	"syscall"
)

// signalGroup on Windows signals the child alone: there are no process
// groups to signal, and only Kill and Interrupt exist.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if sig == syscall.SIGKILL {
		return p.Kill()
	}
	return p.Signal(os.Interrupt)
}
