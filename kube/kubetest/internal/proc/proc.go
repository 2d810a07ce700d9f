// Package proc starts the child processes of integration tests (etcd,
// kube-apiserver, servers inside network namespaces) so that none outlives
// the test binary: each runs in its own process group, is stopped as a group,
// and receives SIGKILL if the test binary dies first, for example when
// `go test -timeout` expires and no cleanup runs.
//
// The work is internal/childproc's, which the lab's kubelet shares; this
// package keeps kubetest's names for it.
package proc

import (
	"os/exec"

	"github.com/proberctl/proberctl/internal/childproc"
)

// Process is a started child; see childproc.Process.
type Process = childproc.Process

// Start starts cmd in a new process group whose leader gets SIGKILL when the
// test binary exits. cmd must not have been started; its SysProcAttr is
// replaced.
func Start(cmd *exec.Cmd) (*Process, error) { return childproc.StartProcess(cmd) }
