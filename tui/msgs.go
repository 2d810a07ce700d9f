package tui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

// batchMsg is one batch from the watcher.
type batchMsg kube.Batch

// sourceErrMsg means Source.Next failed; the root waits and asks again.
type sourceErrMsg struct{ err error }

// retrySourceMsg asks for the next batch after a failure.
type retrySourceMsg struct{}

// tickMsg is the clock. It is scheduled for the moment something on
// screen next reads differently (an AGE, a "(5m ago)", a change marker
// running out, a timeline strip moving; see clock.go), not every second;
// gen drops a tick that a sooner one replaced.
type tickMsg struct{ gen int }

// resultMsg is an action's answer.
type resultMsg struct {
	res    kube.Result
	detail string // pod key of the detail view that asked for /info
	hint   string // shown under the result's headline (outputEntry.hint)
}

// chaosMsg fires the next chaos crash; gen drops ticks from a chaos run
// that was stopped.
type chaosMsg struct{ gen int }

// waitBatch blocks on the source in a command, never in Update, and hands
// back one batch. The root issues it again after each batch.
func waitBatch(ctx context.Context, src kube.Source) tea.Cmd {
	return func() tea.Msg {
		b, err := src.Next(ctx)
		if err != nil {
			return sourceErrMsg{err}
		}
		return batchMsg(b)
	}
}
