package lab

import (
	"context"
	"path/filepath"
	"testing"
)

// The command an apply into an unwatched namespace suggests builds all the
// session built: the starting files, then every path applied so far in
// order (one applied again moves to its last place), not only the last.
func TestApplySuggestsEverythingApplied(t *testing.T) {
	pod := func(name, ns string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
			"\nspec:\n  containers:\n  - name: c\n    image: x\n"
	}
	dir := writeFiles(t, map[string]string{
		"shop.yaml":  pod("shop", "shop"),
		"more.yaml":  pod("more", "shop"),
		"other.yaml": pod("other", "other"),
		"third.yaml": pod("third", "third"),
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	const prefix = "which the dashboard does not show: it watches namespace shop, the one its starting manifests use; to watch all of them, quit and run "
	l := newLab(t, serverArgv, at("shop.yaml"))
	a := l.Actions()
	for _, step := range []struct {
		apply string
		note  string
	}{
		{"more.yaml", ""}, // the watched namespace: nothing to say
		{"other.yaml", "applied to namespace other, " + prefix +
			"proberctl lab -f " + at("shop.yaml") + " -f " + at("more.yaml") + " -f " + at("other.yaml")},
		{"third.yaml", "applied to namespace third, " + prefix +
			"proberctl lab -f " + at("shop.yaml") + " -f " + at("more.yaml") + " -f " + at("other.yaml") + " -f " + at("third.yaml")},
		{"more.yaml", ""},
		{"shop.yaml", ""},
		{"other.yaml", "applied to namespace other, " + prefix +
			"proberctl lab -f " + at("third.yaml") + " -f " + at("more.yaml") + " -f " + at("shop.yaml") + " -f " + at("other.yaml")},
	} {
		r := a.Apply(context.Background(), at(step.apply))
		if r.Err != nil {
			t.Fatalf("apply %s: %v", step.apply, r.Err)
		}
		if r.Note != step.note {
			t.Errorf("apply %s: note\n%q\nwant\n%q", step.apply, r.Note, step.note)
		}
	}
	// A path that fails to read applied nothing and is not suggested.
	if r := a.Apply(context.Background(), at("missing.yaml")); r.Err == nil {
		t.Fatal("apply of a missing file succeeded")
	}
	r := a.Apply(context.Background(), at("third.yaml"))
	want := "applied to namespace third, " + prefix +
		"proberctl lab -f " + at("more.yaml") + " -f " + at("shop.yaml") + " -f " + at("other.yaml") + " -f " + at("third.yaml")
	if r.Err != nil || r.Note != want {
		t.Errorf("apply third.yaml again: %v, note\n%q\nwant\n%q", r.Err, r.Note, want)
	}
}
