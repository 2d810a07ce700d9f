package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/proberctl/proberctl/kube"
)

// FuzzScreenText feeds text from outside (a pod name, an event message, a
// response body, a log, an error, a typed filter) into the screen: nothing may
// panic and every line must stay exactly the terminal's width.
func FuzzScreenText(f *testing.F) {
	f.Add("prober-foo-67b66bdbf7-4bxjb", "Liveness probe failed: HTTP probe failed with statuscode: 500", "{ \"status\": \"ok\" }\n", "dial tcp: refused", "4bx")
	f.Add("x", "\x1b[31mred\x1b[0m\ttab", "line1\r\nline2\x00\x07", "", "\x1b")
	f.Add(strings.Repeat("名", 40), "😀 emoji 👩‍👩‍👧", strings.Repeat("a", 300), "e\nrr", "名")
	f.Fuzz(func(t *testing.T, name, msg, body, errText, filter string) {
		b := seedBatch()
		p := pod(name, t0.Add(-time.Minute), ready(t0))
		b.Deltas = append(b.Deltas, podDelta(p), event("fz", name, "Warning", "Unhealthy", msg, 3, t0))
		for _, size := range []struct{ w, h int }{{80, 24}, {41, 12}} {
			m, _ := newTestModel(t, size.w, size.h, b)
			r := kube.Result{Action: "healthz", Target: kube.Target{Namespace: "default", Pod: name}, Code: 200, Body: body, Note: msg}
			if errText != "" {
				r.Err = errors.New(errText)
			}
			m.Update(resultMsg{res: r})
			// A log is wrapped and tailed, not previewed: its own path.
			m.Update(resultMsg{res: kube.Result{Action: "logs", Target: r.Target, Code: 200, Body: body + "\n" + msg, Note: errText}, hint: msg})
			m.Update(filterChangedMsg{})
			for _, k := range []string{"3", "e", "4", "2", "5"} {
				press(t, m, k)
				screen(t, m)
			}
			press(t, m, "/")
			m.pods.filter.SetValue(filter)
			m.Update(filterChangedMsg{})
			screen(t, m)
			press(t, m, "enter", "enter")
			v := screen(t, m)
			if strings.ContainsRune(ansi.Strip(v), '\x1b') {
				t.Fatalf("an escape sequence reached the screen text")
			}
		}
	})
}
