package tui

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"k8s.io/apimachinery/pkg/types"

	"github.com/proberctl/proberctl/kube"
)

// TestCachedFrameMatchesFreshEverywhere is TestCachedFrameMatchesFresh
// with colour on (a style left stale shows only then) and with what that
// one leaves out: pods deleted and created again under the same name,
// events about pods not seen yet and event deletions, every prompt opened,
// typed into and closed, help, the mouse wheel, action results, and a
// wall clock that steps back.
func TestCachedFrameMatchesFreshEverywhere(t *testing.T) {
	for _, color := range []bool{true, false} {
		t.Run(fmt.Sprintf("color=%v", color), func(t *testing.T) {
			b := seedBatch()
			pods := benchPods(30)
			for _, p := range pods[:20] { // the last 10 come later
				b.Deltas = append(b.Deltas, podDelta(p))
			}
			c := &clockModel{now: t0}
			c.model = newModel(t.Context(), Options{Source: newFakeSource(), Actions: &fakeActions{}, Namespace: "default",
				Now: func() time.Time { return c.now }}, color, nil)
			c.after = func(d time.Duration, msg tea.Msg) tea.Cmd {
				if _, ok := msg.(tickMsg); ok {
					c.delay, c.tick = d, msg
				}
				return nil
			}
			c.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
			c.Update(batchMsg(b))
			rng := rand.New(rand.NewPCG(11, 12))
			keys := []string{"down", "up", "pgdown", "space", "s", "1", "2", "3", "4", "5", "enter", "esc", "tab",
				"shift+tab", "e", "g", "G", "/", "a", "r", "d", "C", "x", "h", "i", "?", "1", "2"}
			sizes := [][2]int{{80, 24}, {160, 48}, {120, 30}, {200, 60}, {40, 10}}
			uid := 0
			for step := range 600 {
				var what string
				switch r := rng.IntN(12); {
				case r < 4:
					k := keys[rng.IntN(len(keys))]
					what = "key " + k
					press(t, c.model, k)
				case r < 5:
					what = "mouse wheel"
					btn := tea.MouseButtonWheelDown
					if rng.IntN(2) == 0 {
						btn = tea.MouseButtonWheelUp
					}
					c.Update(tea.MouseMsg{Action: tea.MouseActionPress, Button: btn})
				case r < 8:
					what = "batch"
					var nb kube.Batch
					for range 1 + rng.IntN(4) {
						p := pods[rng.IntN(len(pods))].DeepCopy()
						switch rng.IntN(6) {
						case 0:
							toggleReady(p, c.now)
						case 1:
							restarts(int32(1+rng.IntN(9)), c.now.Add(-time.Duration(rng.IntN(60))*time.Second))(p)
						case 2: // gone
							nb.Deltas = append(nb.Deltas, kube.Delta{Kind: kube.KindPod, Type: kube.Deleted, Key: "default/" + p.Name, Obj: p})
							continue
						case 3: // back under the same name, a new pod
							uid++
							p.UID = types.UID(fmt.Sprint("uid-", uid))
							p.CreationTimestamp.Time = c.now
						case 4: // an event alone, maybe before its pod
							ev := event(fmt.Sprintf("ev%d", rng.IntN(40)), p.Name, "Warning", []string{"Unhealthy", "Killing"}[rng.IntN(2)],
								"Readiness probe failed", int32(1+rng.IntN(3)), c.now)
							nb.Deltas = append(nb.Deltas, ev)
							continue
						default: // an event deleted
							nb.Deltas = append(nb.Deltas, kube.Delta{Kind: kube.KindEvent, Type: kube.Deleted, Key: fmt.Sprintf("default/ev%d", rng.IntN(40))})
							continue
						}
						nb.Deltas = append(nb.Deltas, podDelta(p))
					}
					c.Update(batchMsg(nb))
				case r < 9:
					s := sizes[rng.IntN(len(sizes))]
					what = fmt.Sprintf("resize %dx%d", s[0], s[1])
					c.Update(tea.WindowSizeMsg{Width: s[0], Height: s[1]})
				default:
					d := c.delay
					switch rng.IntN(8) {
					case 0: // the wall clock stepped back
						d = -time.Duration(rng.Int64N(int64(10 * time.Minute)))
					case 1, 2, 3:
						d = time.Duration(rng.Int64N(int64(20 * time.Second)))
					}
					what = fmt.Sprintf("clock +%v", d)
					c.advance(d)
				}
				cached := c.View()
				if fresh := uncachedView(c.model); cached != fresh {
					t.Fatalf("step %d (%s): the cached frame differs from a fresh one:\n%s\n---\n%s", step, what, ansi.Strip(cached), ansi.Strip(fresh))
				}
			}
		})
	}
}
