package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/lab/manifest"
)

// applyDemo applies one of the demo's manifests as the dashboard's `a`
// and `proberctl lab -f` do.
func applyDemo(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	b, err := demo.File(name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Decode(name, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Apply(ctx, c, "default", objs); err != nil {
		t.Fatal(err)
	}
}

type rsRevision struct {
	name     string
	replicas int32
	revision string
	history  string
}

func revisionsByVersion(ctx context.Context, c kubernetes.Interface) map[string]rsRevision {
	rss, _ := c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	out := map[string]rsRevision{}
	for _, rs := range rss.Items {
		out[rs.Labels["version"]] = rsRevision{
			name: rs.Name, replicas: *rs.Spec.Replicas,
			revision: rs.Annotations[RevisionAnnotation], history: rs.Annotations[RevisionHistoryAnnotation],
		}
	}
	return out
}

// Going back to an earlier template is how a person rolls back in the
// lab: apply foo-1.0.1.yaml again after foo-1.0.2.yaml. The replica set of
// that template still exists (scaled to zero), so it becomes the new one:
// no replica set is created, it takes revision max(old)+1, and the
// revision it had goes into deployment.kubernetes.io/revision-history
// (sync.go getNewReplicaSet, deployment_util.go SetNewReplicaSetAnnotations).
// The rollout then scales it up and the other down as any rollout does.
func TestReapplyEarlierTemplateReusesReplicaSet(t *testing.T) {
	ctx, c := startLab(t, func(*corev1.Pod) bool { return true })
	type want struct{ revision, history string }
	for i, step := range []struct {
		file string
		want map[string]want // version -> revision annotations of its replica set
	}{
		{"foo-1.0.1.yaml", map[string]want{"1.0.1": {"1", ""}}},
		{"foo-1.0.2.yaml", map[string]want{"1.0.1": {"1", ""}, "1.0.2": {"2", ""}}},
		{"foo-1.0.1.yaml", map[string]want{"1.0.1": {"3", "1"}, "1.0.2": {"2", ""}}},
		{"foo-1.0.2.yaml", map[string]want{"1.0.1": {"3", "1"}, "1.0.2": {"4", "2"}}},
		{"foo-1.0.1.yaml", map[string]want{"1.0.1": {"5", "1,3"}, "1.0.2": {"4", "2"}}},
	} {
		before := revisionsByVersion(ctx, c)
		applyDemo(ctx, t, c, step.file)
		current := "1.0.1"
		if step.file == "foo-1.0.2.yaml" {
			current = "1.0.2"
		}
		waitFor(t, fmt.Sprintf("step %d (%s) rolled out", i, step.file), func() (bool, string) {
			d, err := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			got := revisionsByVersion(ctx, c)
			ok := len(got) == len(step.want) && d.Status.ObservedGeneration == d.Generation &&
				d.Status.UpdatedReplicas == 3 && d.Status.Replicas == 3 && d.Status.AvailableReplicas == 3 &&
				d.Annotations[RevisionAnnotation] == step.want[current].revision
			for v, w := range step.want {
				r := got[v]
				wantReplicas := int32(0)
				if v == current {
					wantReplicas = 3
				}
				ok = ok && r.revision == w.revision && r.history == w.history && r.replicas == wantReplicas
			}
			return ok, fmt.Sprintf("replica sets %+v, deployment revision %q, status %+v", got, d.Annotations[RevisionAnnotation], d.Status)
		})
		// The same replica set objects throughout: names never change.
		after := revisionsByVersion(ctx, c)
		for v, r := range before {
			if after[v].name != r.name {
				t.Errorf("step %d: %s replica set was %s, now %s", i, v, r.name, after[v].name)
			}
		}
	}
	// Every scaling of the reused replica set is an ordinary rollout step.
	rss := revisionsByVersion(ctx, c)
	waitFor(t, "the reused replica set's scale-up event", func() (bool, string) {
		got := eventMessages(ctx, t, c, reasonScalingRS)
		return slices.Contains(got, "Scaled up replica set "+rss["1.0.1"].name+" from 0 to 1"), fmt.Sprint(got)
	})
}

// appendRevisionHistory keeps deployment.kubernetes.io/revision-history
// within 2000 characters by dropping the oldest entries
// (deployment_util.go SetNewReplicaSetAnnotations).
func TestAppendRevisionHistory(t *testing.T) {
	long := func(n int) string { // "1,2,...,n"
		s := "1"
		for i := 2; i <= n; i++ {
			s += fmt.Sprintf(",%d", i)
		}
		return s
	}
	full := long(499) // 9 + 90*2 + 400*3 = 1389 digits + 498 commas = 1887
	for _, tc := range []struct {
		history, old, want string
	}{
		{"", "1", "1"},
		{"1", "3", "1,3"},
		{"1,3", "5", "1,3,5"},
		{full, "1000", full + ",1000"}, // 1887 + 5 = 1892 fits
	} {
		if got := appendRevisionHistory(tc.history, tc.old); got != tc.want {
			t.Errorf("appendRevisionHistory(%.20q, %q) = %.40q, want %.40q", tc.history, tc.old, got, tc.want)
		}
	}
	// Past 2000: entries go from the front until it fits.
	big := long(540) // 1887 + 41*4 = 2051 chars
	got := appendRevisionHistory(big, "541")
	if len(got) > maxRevHistoryLengthInChars || got[len(got)-4:] != ",541" || got[:2] == "1," {
		t.Errorf("history of %d chars became %d chars starting %.10q ending %q", len(big), len(got), got, got[len(got)-4:])
	}
}

// The deprecated.deployment.rollback.to annotation (what `kubectl rollout
// undo` once wrote into spec.rollbackTo) asks the controller itself to copy
// an old replica set's template into the Deployment (rollback.go): 0 is
// the revision before the current one. The annotation is cleared and
// "Rolled back deployment ... to revision N" recorded; an unknown revision
// gives DeploymentRollbackRevisionNotFound and changes nothing.
func TestRollbackToAnnotation(t *testing.T) {
	for _, tc := range []struct {
		to          string
		wantVersion string
		wantEvent   string
	}{
		{"0", "1.0.1", reasonRollbackDone + " Rolled back deployment \"prober-foo\" to revision 1"},
		{"1", "1.0.1", reasonRollbackDone + " Rolled back deployment \"prober-foo\" to revision 1"},
		{"2", "1.0.2", reasonRollbackTemplateUnchanged + " The rollback revision contains the same template as current deployment \"prober-foo\""},
		{"7", "1.0.2", reasonRollbackRevisionNotFound + " Unable to find the revision to rollback to."},
	} {
		t.Run(tc.to, func(t *testing.T) {
			ctx, c := startLab(t, func(*corev1.Pod) bool { return true })
			d, err := c.AppsV1().Deployments("default").Create(ctx, seedDeployment("1.0.1", appsv1.RollingUpdateDeploymentStrategyType), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "1.0.1", deploymentDone(ctx, c, d.Generation))
			gen := updateDeployment(ctx, t, c, func(d *appsv1.Deployment) { d.Spec.Template.Labels["version"] = "1.0.2" })
			waitFor(t, "1.0.2", deploymentDone(ctx, c, gen))
			updateDeployment(ctx, t, c, func(d *appsv1.Deployment) {
				setAnnotation(&d.ObjectMeta, appsv1.DeprecatedRollbackTo, tc.to)
			})
			waitFor(t, "the rollback handled", func() (bool, string) {
				d, _ := c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
				_, has := d.Annotations[appsv1.DeprecatedRollbackTo]
				list, _ := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
				var evs []string
				for _, e := range list.Items {
					evs = append(evs, e.Reason+" "+e.Message)
				}
				return !has && d.Spec.Template.Labels["version"] == tc.wantVersion && slices.Contains(evs, tc.wantEvent),
					fmt.Sprintf("annotation left %v, version %s, events %q", has, d.Spec.Template.Labels["version"], evs)
			})
			d, _ = c.AppsV1().Deployments("default").Get(ctx, "prober-foo", metav1.GetOptions{})
			waitFor(t, "rolled out", deploymentDone(ctx, c, d.Generation))
			got := map[string]string{}
			for v, r := range revisionsByVersion(ctx, c) {
				got[v] = r.revision
			}
			want := map[string]string{"1.0.1": "1", "1.0.2": "2"}
			if tc.wantVersion == "1.0.1" {
				want["1.0.1"] = "3"
			}
			if !maps.Equal(got, want) {
				t.Errorf("revisions %v, want %v", got, want)
			}
		})
	}
}
