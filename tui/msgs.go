package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

// batchMsg is one batch from the watcher.
type batchMsg kube.Batch

// sourceErrMsg means Source.Next failed; the root waits and asks again.
type sourceErrMsg struct{ err error }

// retrySourceMsg asks for the next batch after a failure.
type retrySourceMsg struct{}

// tickMsg is the clock: once a second, for AGE and the timeline only.
type tickMsg time.Time

// resultMsg is an action's answer.
type resultMsg struct {
	res    kube.Result
	detail string // pod key of the detail view that asked for /info
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

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}
