//go:build unix

package tui

import (
	"os"
	"syscall"
)

// resizeSignals tell watchSize the terminal was resized.
var resizeSignals = []os.Signal{syscall.SIGWINCH}
