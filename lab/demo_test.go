package lab

import (
	"strings"
	"testing"
)

// A path that is not on disk falls back to the built-in demo, with or
// without the demo/ prefix; anything else is not guessed at.
func TestDemoFile(t *testing.T) {
	for _, tc := range []struct {
		path string
		name string
		ok   bool
	}{
		{"demo/foo-1.0.2.yaml", "foo-1.0.2.yaml", true},
		{"foo-1.0.2.yaml", "foo-1.0.2.yaml", true},
		{"demo/foo-service.yaml", "foo-service.yaml", true},
		{"demo/", "", false},
		{"demo/nope.yaml", "", false},
		{"x/foo-1.0.2.yaml", "", false},
		{"demo/../demo/foo-1.0.2.yaml", "", false},
	} {
		_, name, ok := demoFile(tc.path)
		if ok != tc.ok || name != tc.name {
			t.Errorf("demoFile(%q) = %q, %v; want %q, %v", tc.path, name, ok, tc.name, tc.ok)
		}
	}
	for _, want := range []string{"demo/foo-1.0.1.yaml", "demo/foo-1.0.2.yaml", "demo/foo-service.yaml"} {
		if !strings.Contains(demoNames(), want) {
			t.Errorf("demoNames() = %q, lacks %s", demoNames(), want)
		}
	}
}
