package demo

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// seedImage is the image the seed's manifests ran.
const seedImage = "public.ecr.aws/i4a3l2a7/probeserver:latest"

// TestSameAsSeed: each manifest equals the seed's (copied verbatim from the
// blog post into testdata/) with only the image changed, field for field.
func TestSameAsSeed(t *testing.T) {
	for _, name := range []string{Stage1, Stage2, Service} {
		seed, err := os.ReadFile(filepath.Join("testdata", "seed-"+name))
		if err != nil {
			t.Fatal(err)
		}
		ours, err := File(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(seed, []byte(seedImage)) && name != Service {
			t.Fatalf("testdata/seed-%s lost the seed's image", name)
		}
		var want, got map[string]any
		if err := yaml.Unmarshal(bytes.ReplaceAll(seed, []byte(seedImage), []byte(Image)), &want); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if err := yaml.Unmarshal(ours, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from the seed's manifest:\n got %v\nwant %v", name, got, want)
		}
	}
}

func deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	b, err := File(name)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(b, &d); err != nil {
		t.Fatalf("%s is not a valid Deployment: %v", name, err)
	}
	return &d
}

func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// TestStages checks the numbers the seed's story depends on, through the
// Kubernetes types, so a typo that still parses as YAML is caught.
func TestStages(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		liveFailure int32
		livePeriod  int32
		version     string
	}{
		{Stage1, map[string]string{"START_WAIT_SECS": "15", "CRASH_FACTOR": "40", "CONTENT": `{ "team": "foo", "version": "1.0.1" }`}, 1, 0, "1.0.1"},
		{Stage2, map[string]string{"START_WAIT_SECS": "15", "HEALTH_STATUS_FACTOR": "40", "CONTENT": `{ "team": "foo", "version": "1.0.2" }`}, 2, 3, "1.0.2"},
	} {
		d := deployment(t, tc.name)
		c := d.Spec.Template.Spec.Containers[0]
		ru := d.Spec.Strategy.RollingUpdate
		switch {
		case d.Name != "prober-foo", d.Namespace != "default", *d.Spec.Replicas != 3, *d.Spec.ProgressDeadlineSeconds != 60:
			t.Errorf("%s: name/replicas/deadline %s %d %d", tc.name, d.Name, *d.Spec.Replicas, *d.Spec.ProgressDeadlineSeconds)
		case ru.MaxUnavailable.String() != "30%", ru.MaxSurge.String() != "1":
			t.Errorf("%s: rolling update %v %v", tc.name, ru.MaxUnavailable, ru.MaxSurge)
		case c.Image != Image, c.Name != "prober-foo":
			t.Errorf("%s: container %s %s", tc.name, c.Name, c.Image)
		case !reflect.DeepEqual(env(c), tc.env):
			t.Errorf("%s: env %v, want %v", tc.name, env(c), tc.env)
		case c.LivenessProbe.HTTPGet.Path != "/healthz", c.LivenessProbe.HTTPGet.Port.IntValue() != 80,
			c.LivenessProbe.InitialDelaySeconds != 20, c.LivenessProbe.FailureThreshold != tc.liveFailure,
			c.LivenessProbe.PeriodSeconds != tc.livePeriod:
			t.Errorf("%s: liveness %+v", tc.name, c.LivenessProbe)
		case c.ReadinessProbe.HTTPGet.Path != "/healthz", c.ReadinessProbe.InitialDelaySeconds != 5, c.ReadinessProbe.FailureThreshold != 1:
			t.Errorf("%s: readiness %+v", tc.name, c.ReadinessProbe)
		case d.Spec.Template.Labels["version"] != tc.version:
			t.Errorf("%s: version label %q", tc.name, d.Spec.Template.Labels["version"])
		}
	}

	b, _ := File(Service)
	var svc corev1.Service
	if err := yaml.UnmarshalStrict(b, &svc); err != nil {
		t.Fatal(err)
	}
	p := svc.Spec.Ports[0]
	if svc.Spec.Type != corev1.ServiceTypeNodePort || p.Port != 80 || p.TargetPort.IntValue() != 80 || p.NodePort != 30080 ||
		!reflect.DeepEqual(svc.Spec.Selector, map[string]string{"deployment": "foo", "env": "prod"}) {
		t.Errorf("service %+v", svc.Spec)
	}
}

func TestStagesInOrder(t *testing.T) {
	first := FirstStage()
	if len(first) != 2 || !strings.Contains(string(first[0]), "kind: Service") || !strings.Contains(string(first[1]), "version: 1.0.1") {
		t.Fatalf("FirstStage is not the Service then 1.0.1")
	}
	if second := SecondStage(); len(second) != 1 || !strings.Contains(string(second[0]), "version: 1.0.2") {
		t.Fatalf("SecondStage is not 1.0.2")
	}
	if _, err := File("nope.yaml"); err == nil || !strings.Contains(err.Error(), `"nope.yaml"`) {
		t.Fatalf("File(nope.yaml) = %v", err)
	}
}
