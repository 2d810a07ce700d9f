package childproc

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// spawner starts children from one goroutine locked to its OS thread for
// the life of the process. Pdeathsig is delivered when the thread that forked
// the child exits, not when the process does (prctl(2) PR_SET_PDEATHSIG), so
// forking from an arbitrary goroutine's thread would kill children whenever Go
// retires that thread. A thread that never exits ends only with the process,
// which is exactly when the children must die, even on SIGKILL.
//
// The thread starts on first use, so a process that imports the package and
// never starts a child (every "proberctl serve" child) pins none.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func loop() {
	runtime.LockOSThread()
	// Never unlocked and never returns: see spawner's comment.
	for r := range spawner.reqs {
		r.done <- r.cmd.Start()
	}
}

// start starts cmd in its own process group, with SIGKILL as its
// parent-death signal.
func start(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go loop()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}
