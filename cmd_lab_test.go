//go:build !serveonly

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proberctl/proberctl/internal/testbin"
)

func TestLabCommandUsage(t *testing.T) {
	checkUsage(t, []usageCase{
		{name: "help teaches", args: []string{"lab", "--help"}, code: 0,
			stdout: []string{"no cluster", "127.0.0.1:30080", "demo/foo-1.0.2.yaml", "proberctl lab -f", "--log-file", "--mouse", "PORT"}},
		{name: "no arguments", args: []string{"lab", "extra"}, code: 2, stderr: []string{"lab takes no arguments", "-f"}},
		{name: "unknown flag", args: []string{"lab", "--nope"}, code: 2, stderr: []string{"unknown flag: --nope"}},
		{name: "needs a terminal", args: []string{"lab"}, code: 2, stderr: []string{"needs a terminal", "proberctl watch --lab"}, before: needNoTerminal},
	})
}

// needNoTerminal skips a case that needs stdout and stdin not to be a
// terminal.
func needNoTerminal(t *testing.T) {
	if onTerminal() {
		t.Skip("stdout is a terminal here: the lab would open its dashboard")
	}
}

// TestLabRefusesInvalidManifest runs a manifest the apiserver refuses
// through the lab's headless command: it exits 1 before running anything,
// naming the file and giving the apiserver's causes, field path and text.
func TestLabRefusesInvalidManifest(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"watch", "--lab", "-f", "testdata/lab-invalid-probe.yaml", "--for", "1s"}, &out, &errb)
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr %q", code, errb.String())
	}
	for _, w := range []string{
		"testdata/lab-invalid-probe.yaml",
		`Deployment.apps "prober-foo" is invalid`,
		"spec.template.spec.containers[0].livenessProbe.periodSeconds: Invalid value: -3: must be greater than or equal to 0",
		"spec.template.spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
	} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, errb.String())
		}
	}
}

// TestLabLoggerKeepsContainerOutput: the lab kubelet logs each container's
// output at Debug, and the lab's log must keep it: it is the only place the
// reason of a crash on start is written.
func TestLabLoggerKeepsContainerOutput(t *testing.T) {
	var b bytes.Buffer
	labLogger(&b).Debug("container output", "line", "crashing on start")
	if !strings.Contains(b.String(), "crashing on start") {
		t.Errorf("the lab's log dropped a Debug line: %q", b.String())
	}
}

// TestFullBuildCommands: main's list of what the serve-only build leaves
// out is the full build's cluster commands.
func TestFullBuildCommands(t *testing.T) {
	var names []string
	for _, c := range clusterCommands() {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != strings.Join(fullBuildCommands, " ") {
		t.Errorf("fullBuildCommands = %q, clusterCommands are %q", fullBuildCommands, names)
	}
}

// TestWatchLabInterrupted: Ctrl-C while the lab starts ends the watch
// quietly, as Ctrl-C while it watches does.
func TestWatchLabInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"watch", "--lab", "-f", "testdata/lab-clusterip-service.yaml", "--for", "1s"}, &out, &errb)
	if code != 0 || errb.Len() > 0 {
		t.Errorf("exit %d, stderr %q; want 0 and nothing", code, errb.String())
	}
}

// TestRunLabInterrupted: Ctrl-C before the lab is up ends "proberctl lab"
// quietly, with its log written where asked.
func TestRunLabInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	logFile := filepath.Join(t.TempDir(), "lab.log")
	if err := runLab(ctx, []string{"testdata/lab-clusterip-service.yaml"}, logFile, false); err != nil {
		t.Errorf("runLab after Ctrl-C = %v, want nil", err)
	}
	if _, err := os.Stat(logFile); err != nil {
		t.Errorf("log file: %v", err)
	}
}

// TestWatchLabSaysWhatItSkipped: the lab's notices (a kind it does not
// run, skipped) reach the user of watch --lab on stderr, and stdout stays
// the lines a script reads.
func TestWatchLabSaysWhatItSkipped(t *testing.T) {
	bin := testbin.Build(t, testbin.Options{})
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, "watch", "--lab", "-f", "testdata/lab-with-configmap.yaml", "--for", "1s")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("watch --lab: %v\nstderr: %s", err, errb.String())
	}
	want := `lab: skipped ConfigMap "settings" (v1) in testdata/lab-with-configmap.yaml: the lab does not run this kind`
	if !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
	if strings.Contains(out.String(), "skipped") {
		t.Errorf("the notice went to stdout:\n%s", out.String())
	}
}
