package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// FuzzDecodeManifests: whatever a manifest file holds, reading it returns
// objects or an error, never a panic, and every object has what apply needs.
func FuzzDecodeManifests(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "manifests", "*"))
	for _, name := range files {
		if data, err := readFileIfRegular(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := decodeManifests("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for _, o := range objs {
			if o.Object.GetKind() == "" || o.Object.GetAPIVersion() == "" {
				t.Errorf("%s: object without kind or apiVersion accepted", o.Source)
			}
		}
	})
}

// FuzzPodStatus: any pod that decodes gets columns, never a panic.
func FuzzPodStatus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "pods", "*.yaml"))
	for _, name := range files {
		if data, err := readFileIfRegular(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var pod corev1.Pod
		if yaml.Unmarshal(data, &pod) != nil {
			return
		}
		c := PodStatus(&pod, fixtureNow)
		if c.ReadyContainers > c.TotalContainers+len(pod.Status.ContainerStatuses)+len(pod.Status.InitContainerStatuses) {
			t.Errorf("ready %d of %d", c.ReadyContainers, c.TotalContainers)
		}
	})
}

// FuzzParseRequestTimeout: accepted values are never negative.
func FuzzParseRequestTimeout(f *testing.F) {
	for _, s := range []string{"0", "5", "1m", "-1", "soon", "1h2m3s", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseRequestTimeout(s); err == nil && d < 0 {
			t.Errorf("parseRequestTimeout(%q) = %v", s, d)
		}
	})
}

func readFileIfRegular(name string) ([]byte, error) {
	info, err := os.Stat(name)
	if err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	return os.ReadFile(name)
}
