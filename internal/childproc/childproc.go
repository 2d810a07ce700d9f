// Package childproc starts child processes that must not outlive the
// process that started them: the lab's containers (every "proberctl serve"
// the kubelet runs) and the integration tests' etcd, kube-apiserver and
// servers inside network namespaces.
//
// On Unix each child runs in its own process group, so it can be stopped
// with whatever it forked. A child started with StartProcess takes its group
// with it when it exits on its own (on Linux), as a container's processes
// end with its main process, and its group is never signalled once it is
// reaped, when its pid could already be another process's. On Linux it also gets SIGKILL as its parent-death
// signal, so it dies with its parent even when the parent is SIGKILLed or
// `go test -timeout` expires and no cleanup runs. Elsewhere there is no
// parent-death signal; the parent's shutdown must stop its children.
package childproc

import "os/exec"

// Start starts cmd as the package describes. cmd must not have been
// started; its SysProcAttr is replaced. The caller waits for it.
func Start(cmd *exec.Cmd) error { return start(cmd) }
