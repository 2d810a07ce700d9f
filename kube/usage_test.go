package kube

import (
	"errors"
	"testing"

	"github.com/spf13/pflag"
)

// A bad -l or --request-timeout is the caller's mistake (exit 2 in the
// command line); a kubeconfig problem is not.
func TestLoadTellsUsageErrors(t *testing.T) {
	t.Setenv("KUBECONFIG", "testdata/kubeconfig/nope.yaml")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tc := range []struct {
		args  []string
		usage bool
	}{
		{[]string{"-l", "app in foo"}, true},
		{[]string{"--request-timeout", "abc"}, true},
		{[]string{"--request-timeout", "-5"}, true},
		{[]string{"--context", "gamma"}, false},
		{[]string{"--kubeconfig", "testdata/kubeconfig/nope.yaml"}, false},
	} {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		f := AddConfigFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, err := f.Load()
		if err == nil {
			t.Errorf("%q: loaded, want an error", tc.args)
			continue
		}
		var u interface{ IsUsage() bool }
		if got := errors.As(err, &u) && u.IsUsage(); got != tc.usage {
			t.Errorf("%q: %v: usage error %v, want %v", tc.args, err, got, tc.usage)
		}
	}
}
