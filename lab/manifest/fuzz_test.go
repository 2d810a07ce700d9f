package manifest

import (
	"os"
	"path/filepath"
	"testing"
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
