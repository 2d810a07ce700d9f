//go:build !unix

package tui

import "os"

// resizeSignals: no SIGWINCH here; the first size is all watchSize sends.
var resizeSignals []os.Signal
