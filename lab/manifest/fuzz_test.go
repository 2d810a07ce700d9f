package manifest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/proberctl/proberctl/lab/store"
)

// FuzzDecode: no manifest, however broken, makes Decode panic; what it
// accepts has a name and a supported kind.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, o := range objs {
			if metaOf(o.Obj).GetName() == "" {
				t.Errorf("accepted an object without a name: %#v", o.Obj)
			}
		}
	})
}

// FuzzApply: no manifest Decode accepts makes Apply or the store's
// defaulting and validation panic, on create or on the update of what the
// first apply stored; what the store refuses is an API status error, as a
// cluster's refusal is.
func FuzzApply(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "../../demo/*.yaml", "../../testdata/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		s := store.New(store.Options{})
		defer s.Close()
		for range 2 {
			if _, err := Apply(context.Background(), s.Client(), "default", objs); err != nil {
				var status apierrors.APIStatus
				if !errors.As(err, &status) {
					t.Fatalf("refused with %T, not an API status: %v", err, err)
				}
				return
			}
		}
	})
}
