//go:build unix

package kubelet

import (
	"os"
	"syscall"
)

// signalGroup sends sig to the child's whole process group, so anything the
// server forked goes too, as a container's processes do.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		return p.Signal(sig)
	}
	return nil
}
