package manifest

import (
	"context"
	"maps"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/lab/store"
)

// Re-applying a Pod keeps what the lab kubelet wrote on it (its loopback
// IP and port map, which the Service proxy and the actions read), as a
// server-side apply keeps fields other managers own, and reads
// "unchanged".
func TestApplyKeepsKubeletAnnotations(t *testing.T) {
	s := store.New(store.Options{})
	defer s.Close()
	ctx := context.Background()
	c := s.Client()
	objs, err := Load("testdata/dir/a.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, c, "default", objs); err != nil {
		t.Fatal(err)
	}
	p, err := c.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := map[string]string{"lab.proberctl.dev/ip": "127.0.1.4", "lab.proberctl.dev/ports": `{"c":4001,"c/80":4001}`}
	p.Annotations = kubelet
	if _, err := c.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, _ = Load("testdata/dir/a.yml")
	lines, err := Apply(ctx, c, "default", objs)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pod/a unchanged"}; !slices.Equal(lines, want) {
		t.Errorf("second apply: %q, want %q", lines, want)
	}
	p, err = c.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(p.Annotations, kubelet) {
		t.Errorf("annotations after the second apply: %v, want the kubelet's %v", p.Annotations, kubelet)
	}
}
