package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// TestBuild builds from a directory outside the module, to show the build
// starts at the module root, and checks each option set is built once and
// is the binary asked for.
func TestBuild(t *testing.T) {
	t.Chdir(t.TempDir())
	const version = "v0.0.0-testbin"
	image := Options{
		Tags:  []string{"serveonly"},
		Flags: []string{"-ldflags", "-X main.version=" + version},
		Env:   []string{"CGO_ENABLED=0"},
	}
	first := Build(t, image)
	if again := Build(t, image); again != first {
		t.Errorf("second Build = %s, want the first build's %s", again, first)
	}
	// Serve-only builds link neither the dashboard nor the lab, so this
	// test does not depend on them compiling.
	plain := Build(t, Options{Tags: []string{"serveonly"}})
	if plain == first {
		t.Errorf("Build with other options returned the same path %s", plain)
	}
	if path, err := Path(Options{Tags: []string{"serveonly"}}); path != plain || err != nil {
		t.Errorf("Path = %s, %v; want Build's %s", path, err, plain)
	}
	out, err := exec.Command(first, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), version) {
		t.Errorf("%s version = %q, %v; want it to contain %s", first, out, err, version)
	}
	// The serve-only build has no dashboard: `tui` is an unknown command.
	if out, err := exec.Command(first, "tui", "--help").CombinedOutput(); err == nil {
		t.Errorf("serveonly build ran `tui --help`: %s", out)
	}
}

func TestModuleRoot(t *testing.T) {
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil || !declares(filepath.Join(root, "go.mod")) {
		t.Fatalf("root %q (%v) has no go.mod declaring %s: %v", root, rootErr, module, err)
	}
	// A nested module's go.mod is not the root's.
	nested := filepath.Join(root, "hack", "controlplane", "go.mod")
	if _, err := os.Stat(nested); err == nil && declares(nested) {
		t.Errorf("%s taken for the root's go.mod", nested)
	}
}
