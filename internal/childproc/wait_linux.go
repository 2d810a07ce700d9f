package childproc

import (
	"syscall"
	"unsafe"
)

// waitExitedNoReap blocks until child pid has exited and leaves it a zombie
// (waitid(2) with WNOWAIT), so its pid, and with it the process group id,
// stays taken until the caller reaps it. It reports false if the wait
// failed, when the caller learns of the exit only by reaping.
func waitExitedNoReap(pid int) bool {
	const pPID = 1     // P_PID, <sys/wait.h>
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return true
		case syscall.EINTR:
			continue
		default:
			return false
		}
	}
}
