package manifest

import (
	"slices"
	"strings"
	"testing"
)

// TestRead: kinds the lab does not run are left out with a warning naming
// kind, name and file, and the rest runs; only when nothing runnable is
// left, or a document is broken, is the whole refused.
func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name     string
		paths    []string
		want     []string // names of the objects run
		warnings []string
		wantErr  []string // substrings the error must hold
	}{
		{
			name:  "an app's directory: config kinds skipped, the rest runs",
			paths: []string{"testdata/app"},
			want:  []string{"shop", "shop"},
			warnings: []string{
				`skipped ConfigMap "shop-settings" (v1) in testdata/app/configmap.yaml: the lab does not run this kind`,
				`skipped Secret "shop-db" (v1) in testdata/app/configmap.yaml (document 2): the lab does not run this kind`,
				`skipped Ingress "shop" (networking.k8s.io/v1) in testdata/app/ingress.json: the lab does not run this kind`,
				`skipped ServiceAccount "shop" (v1) in testdata/app/serviceaccount.yml: the lab does not run this kind`,
			},
		},
		{
			name:     "one file mixing kinds",
			paths:    []string{"testdata/configmap.yaml"},
			want:     []string{"ok"},
			warnings: []string{`skipped ConfigMap "settings" (v1) in testdata/configmap.yaml (document 2): the lab does not run this kind`},
		},
		{
			name:     "a file of only such kinds beside a runnable one",
			paths:    []string{"testdata/configonly.yaml", "testdata/dir/a.yml"},
			want:     []string{"a"},
			warnings: []string{`skipped ConfigMap "settings" (v1) in testdata/configonly.yaml: the lab does not run this kind`, `skipped Secret (no name) (v1) in testdata/configonly.yaml (document 2): the lab does not run this kind`},
		},
		{
			name:  "a file of only such kinds alone: nothing to run",
			paths: []string{"testdata/configonly.yaml"},
			wantErr: []string{"nothing to run in testdata/configonly.yaml", "only kinds the lab does not run",
				`kind ConfigMap "settings" in testdata/configonly.yaml`, "kind Secret (no name) in testdata/configonly.yaml (document 2)", Supported},
		},
		{name: "no objects at all", paths: []string{"testdata/empty.yaml"}, wantErr: []string{"nothing to run in testdata/empty.yaml: no objects", Supported}},
		{name: "a kind the lab runs in a version no cluster serves", paths: []string{"testdata/oldversion.yaml"},
			wantErr: []string{"testdata/oldversion.yaml", "kind Deployment (extensions/v1beta1) is not served by Kubernetes; write apiVersion: apps/v1"}},
		{name: "a typo still refuses the whole", paths: []string{"testdata/app", "testdata/typo.yaml"}, wantErr: []string{"testdata/typo.yaml", "containerz"}},
		{name: "no kind still refuses the whole", paths: []string{"testdata/nokind.yaml"}, wantErr: []string{"apiVersion and kind are required"}},
		{name: "missing file", paths: []string{"testdata/absent.yaml"}, wantErr: []string{"testdata/absent.yaml", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Read(tc.paths...)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, read %v skipping %v; want an error holding %q", names(m.Objects), m.Warnings(), tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not hold %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(m.Objects); !slices.Equal(got, tc.want) {
				t.Errorf("objects %v, want %v", got, tc.want)
			}
			if got := m.Warnings(); !slices.Equal(got, tc.warnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.warnings, "\n"))
			}
		})
	}
}

// Load, LoadFS and Decode stay strict: callers that cannot show a warning
// get the kind as an error rather than a silent gap.
func TestLoadStrict(t *testing.T) {
	_, err := Load("testdata/app")
	if err == nil || !strings.Contains(err.Error(), "testdata/app/configmap.yaml: kind ConfigMap (v1) is not supported by the lab") {
		t.Errorf("Load of a directory with a ConfigMap: %v, want it refused naming the file and kind", err)
	}
}
