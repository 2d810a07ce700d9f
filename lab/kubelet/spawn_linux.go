package kubelet

import (
	"os/exec"
	"runtime"
	"syscall"
)

// spawner starts children from one goroutine locked to its OS thread for
// the life of the process. Pdeathsig is delivered when the thread that forked
// the child exits, not when the process does (prctl(2) PR_SET_PDEATHSIG), so
// forking from an arbitrary goroutine's thread would kill children whenever Go
// retires that thread. A thread that never exits ends only with the process,
// which is exactly when the children must die, even on SIGKILL.
type spawner struct {
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq)}
	go func() {
		runtime.LockOSThread()
		// Never unlocked and never returns: see the type's comment.
		for r := range s.reqs {
			r.done <- r.cmd.Start()
		}
	}()
	return s
}

var defaultSpawner = newSpawner()

// start starts cmd in its own process group, with SIGKILL as its
// parent-death signal.
func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}
