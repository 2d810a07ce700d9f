package kubelet

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What an init container runs in the lab.
//
// Every container of the lab is the probe server, and "proberctl serve"
// never exits on its own, so an init container cannot simply run it: it
// would never complete and the pod would never start. The probe server does
// have a way to end, though: it waits START_WAIT_SECS, then rolls
// CRASH_FACTOR and exits CRASH_EXIT_CODE. An init container is the probe
// server with that path made the default: CRASH_FACTOR 100 and
// CRASH_EXIT_CODE 0 unless its env says otherwise, so it waits
// START_WAIT_SECS ("wait for something") and then exits with the code the
// manifest chose (0, Completed, by default; anything else fails the init
// container, as a failing check would).
//
// A manifest's command is never executed: the lab runs no image and no
// shell, only its own binary. The few commands that only wait and exit are
// translated to those knobs, so the common manifests mean what they say:
//
//	sleep N            START_WAIT_SECS=N, exit 0 (N in seconds; an s, m or h suffix is accepted)
//	true | false       exit 0 | exit 1 at once
//	exit N             exit N at once
//	sleep N; exit M    (or &&, or on two lines) wait N, then exit M; true and false may end it too
//
// each as the command and args or as a script of "sh -c" (or bash, ash,
// dash; a program may be named by its path, /bin/sleep). Any other command is not run: the container runs as if it had none,
// and a Warning event (reason commandNotRunReason) says so.

// initProgram is what a translated command does: wait, then exit.
type initProgram struct {
	wait string // seconds, as START_WAIT_SECS takes them
	exit int
}

// maxInitWait is the probe server's limit on START_WAIT_SECS (server/config.go maxSeconds).
const maxInitWait = 86400.0

// commandNotRunReason is the lab's own event reason for a command it cannot
// run. It is not a kubelet reason: a kubelet runs every command.
const commandNotRunReason = "CommandNotRun"

// translateCommand maps a container's command and args to an initProgram.
// ok is false when there is nothing to translate (neither is set) or the
// command is not one the lab understands (then unsupported is true).
func translateCommand(c *corev1.Container) (prog initProgram, ok, unsupported bool) {
	argv := append(append([]string(nil), c.Command...), c.Args...)
	if len(argv) == 0 {
		return initProgram{}, false, false
	}
	if len(argv) == 3 && isShell(argv[0]) && argv[1] == "-c" {
		prog, ok = translateScript(argv[2])
		return prog, ok, !ok
	}
	prog, ok = translateSteps([][]string{argv})
	return prog, ok, !ok
}

func isShell(arg0 string) bool {
	switch program(arg0) {
	case "sh", "bash", "ash", "dash":
		return true
	}
	return false
}

// program is the program arg0 runs: the same whether named by its path
// (/bin/sleep) or found on PATH (sleep).
func program(arg0 string) string { return path.Base(arg0) }

// translateScript splits a script of at most two steps on newlines (a
// YAML block scalar's lines), ";" and "&&".
func translateScript(script string) (initProgram, bool) {
	var steps [][]string
	for line := range strings.SplitSeq(script, "\n") {
		s, ok := splitLine(line)
		if !ok {
			return initProgram{}, false
		}
		steps = append(steps, s...)
	}
	return translateSteps(steps)
}

// splitLine splits one line of a script on ";" and "&&"; an empty step
// between two separators is sh's syntax error.
func splitLine(line string) ([][]string, bool) {
	var steps [][]string
	rest := line
	for rest != "" {
		i := strings.IndexAny(rest, ";&")
		part := rest
		if i >= 0 {
			part = rest[:i]
			if rest[i] == '&' {
				if !strings.HasPrefix(rest[i:], "&&") {
					return nil, false // a background job: not a wait
				}
				rest = rest[i+2:]
			} else {
				rest = rest[i+1:]
			}
		} else {
			rest = ""
		}
		f := strings.Fields(part)
		if len(f) == 0 {
			if i >= 0 && strings.TrimSpace(rest) != "" {
				return nil, false
			}
			continue
		}
		steps = append(steps, f)
	}
	return steps, true
}

// translateSteps accepts an optional sleep followed by an optional true,
// false or exit N, nothing else.
func translateSteps(steps [][]string) (initProgram, bool) {
	prog := initProgram{wait: "0"}
	if len(steps) == 0 || len(steps) > 2 {
		return prog, false
	}
	for i, s := range steps {
		// exit is the shell's own, never a program: it is not looked
		// up by path.
		switch name := program(s[0]); {
		case name == "sleep" && len(s) == 2 && i == 0:
			secs, ok := parseSleep(s[1])
			if !ok {
				return prog, false
			}
			prog.wait = secs
		case name == "true" && len(s) == 1 && i == len(steps)-1:
			prog.exit = 0
		case name == "false" && len(s) == 1 && i == len(steps)-1:
			prog.exit = 1
		case s[0] == "exit" && len(s) <= 2 && i == len(steps)-1:
			if len(s) == 2 {
				n, err := strconv.Atoi(s[1])
				if err != nil || n < 0 || n > 255 {
					return prog, false
				}
				prog.exit = n
			}
		default:
			return prog, false
		}
	}
	return prog, true
}

// parseSleep reads sleep's operand: seconds, or a number with an s, m or h
// suffix, within what START_WAIT_SECS accepts.
func parseSleep(s string) (string, bool) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], 60
	case strings.HasSuffix(s, "h"):
		s, mult = s[:len(s)-1], 3600
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || strings.ContainsAny(s, "xXpPeEiInN_") {
		return "", false
	}
	f *= mult
	if f > maxInitWait {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// initEnv is what the lab adds to an init container's environment, after
// the manifest's, so it wins: the translated command, or else the defaults
// that make the probe server exit after its start wait.
func initEnv(c *corev1.Container) (extra []string, warning string) {
	prog, ok, unsupported := translateCommand(c)
	if ok {
		return []string{
			"START_WAIT_SECS=" + prog.wait,
			"CRASH_FACTOR=100",
			"CRASH_EXIT_CODE=" + strconv.Itoa(prog.exit),
		}, ""
	}
	set := map[string]bool{}
	for _, e := range c.Env {
		set[e.Name] = true
	}
	if !set["CRASH_FACTOR"] {
		extra = append(extra, "CRASH_FACTOR=100")
	}
	if !set["CRASH_EXIT_CODE"] {
		extra = append(extra, "CRASH_EXIT_CODE=0")
	}
	if unsupported {
		warning = fmt.Sprintf("the lab does not run init container %s's command %q: it runs the probe server, which waits START_WAIT_SECS and exits CRASH_EXIT_CODE (0 unless set); commands the lab translates: sleep N, true, false, exit N, sleep N; exit N",
			c.Name, append(append([]string(nil), c.Command...), c.Args...))
	}
	return extra, warning
}

// isSidecar is podutil.IsRestartableInitContainer: an init container with
// restartPolicy Always runs beside the app containers.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// sidecarRefusal is the waiting message, and the Failed event's error, of a
// sidecar container: the lab does not run them.
func sidecarRefusal(name string) string {
	return fmt.Sprintf("sidecar containers (init container %s with restartPolicy: Always) are not supported by the lab", name)
}

// initRestarts says whether a failed init container is run again:
// kuberuntime_container.go computeInitContainerActions restarts it, with
// ContainerRestartRules (beta, on in 1.37), when
// kubecontainer.ShouldContainerBeRestarted says so: its restart rules, then
// its own restartPolicy, then the pod's (containerShouldRestart).
func initRestarts(pod *corev1.Pod, c *corev1.Container, exitCode int32) bool {
	if exitCode == 0 {
		return false // completed: never run again
	}
	return containerShouldRestart(c, &pod.Spec, exitCode)
}

// actInit runs the init containers one at a time, as
// computeInitContainerActions (pkg/kubelet/kuberuntime/kuberuntime_container.go)
// decides: the first not yet completed is started, or, once it exited
// non-zero, restarted with the back-off (doBackOff, as for any container),
// or, when it may not restart, the pod fails. initialized is true once every
// init container completed; from then on they are never run again, as the
// kubelet does not once a regular container has started.
func (pw *podWorker) actInit(pod *corev1.Pod) (initialized, did bool) {
	if pw.initialized {
		return true, false
	}
	for _, c := range pw.inits {
		pw.mu.Lock()
		cur := c.cur
		refused := c.waiting != nil && c.waiting.Reason == createContainerConfigError
		pw.mu.Unlock()
		if isSidecar(&c.spec) {
			// The kubelet's CreateContainerConfigError path
			// (kuberuntime_container.go startContainer): the image
			// step's Pulled event, then a Failed event "Error: ..."
			// and the reason in the waiting state. The sync fails,
			// and the pod worker tries again after backOffPeriod
			// (pod_workers.go completeWork), recording both events
			// again each time; the correlator folds the repeats into
			// one event with a growing count.
			msg := sidecarRefusal(c.spec.Name)
			pw.containerEvent(c.spec.Name, corev1.EventTypeNormal, reasonPulled, pulledMessage(&c.spec))
			pw.mu.Lock()
			c.waiting = &corev1.ContainerStateWaiting{Reason: createContainerConfigError, Message: msg}
			pw.mu.Unlock()
			pw.containerEvent(c.spec.Name, corev1.EventTypeWarning, reasonFailed, "Error: "+msg)
			pw.retryAfter(syncErrorBackOff)
			return false, !refused // the status changes the first time only
		}
		switch {
		case cur == nil:
			pw.start(pod, c)
			return false, true
		case !cur.exited:
			return false, false // running: wait for it
		case cur.exitCode == 0:
			continue
		case !initRestarts(pod, &c.spec, cur.exitCode):
			return false, false // the phase is Failed: the pod is done
		case pw.inBackOff(pod, c, cur):
			return false, true // the status now says CrashLoopBackOff
		default:
			pw.start(pod, c)
			return false, true
		}
	}
	pw.initialized = true
	return true, false
}

// createContainerConfigError is kuberuntime's ErrCreateContainerConfig.
const createContainerConfigError = "CreateContainerConfigError"
