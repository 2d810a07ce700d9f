package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/proberctl/proberctl/kube"
)

type promptKind int

const (
	promptNone promptKind = iota
	promptResolve
	promptApply
	promptDelete
	promptChaos
)

// promptPane is the one-line question at the bottom of the screen. While
// it is open it has the keyboard: no global binding fires.
type promptPane struct {
	st   *styles
	keys *keyMap

	kind   promptKind
	label  string
	input  textinput.Model
	target kube.Target // resolve and delete
	err    string      // why the last answer was refused
	w      int

	// prefilled: the input holds the suggested value untouched. As in a
	// browser's address bar or a shell's suggested default, the first
	// printable key replaces it (typing a new path after a failed apply
	// must not give "/old.yamlnew.yaml"); an editing key (arrows,
	// backspace, ctrl+e) keeps it for editing; enter takes it as it is.
	prefilled bool
}

func newPromptPane(st *styles, keys *keyMap) promptPane {
	ti := textinput.New()
	ti.Prompt = ""
	ti.CharLimit = 4096
	// A steady cursor: a blinking one would redraw the screen twice a
	// second for nothing.
	ti.Cursor.SetMode(cursor.CursorStatic)
	return promptPane{st: st, keys: keys, input: ti}
}

func (p *promptPane) SetSize(w, _ int) {
	p.w = w
	p.input.Width = max(w-len(p.label)-4, 10)
}

func (p *promptPane) active() bool { return p.kind != promptNone }

func (p *promptPane) open(kind promptKind, label, value string, t kube.Target) tea.Cmd {
	p.kind, p.label, p.target, p.err = kind, label, t, ""
	p.input.Placeholder = ""
	if kind == promptApply {
		// A newcomer does not know what to type: name the seed's next step.
		p.input.Placeholder = "e.g. demo/foo-1.0.2.yaml, the seed's rolling update to 1.0.2"
	}
	p.input.SetValue(value)
	p.input.CursorEnd()
	p.prefilled = value != ""
	p.input.Width = max(p.w-len(label)-4, 10)
	if kind == promptDelete {
		p.input.Blur()
		return nil
	}
	return p.input.Focus()
}

func (p *promptPane) close() {
	p.kind = promptNone
	p.input.Blur()
	p.err = ""
	p.prefilled = false
}

// replaces reports whether msg, typed into a prefilled input, replaces the
// suggestion rather than editing it: printable text (a key, a space, a
// paste), not alt+key, which the input reads as a word motion.
func replaces(msg tea.KeyMsg) bool {
	return (msg.Type == tea.KeyRunes || msg.Type == tea.KeySpace) && !msg.Alt
}

// promptAnswer is what the person decided.
type promptAnswer struct {
	kind     promptKind
	value    string
	interval time.Duration // chaos
	target   kube.Target
}

// Update returns an answer when the prompt was accepted, and whether it is
// still open.
func (p *promptPane) Update(msg tea.KeyMsg) (*promptAnswer, tea.Cmd) {
	if p.kind == promptDelete {
		kind, t := p.kind, p.target
		p.close()
		if msg.String() == "y" || msg.String() == "Y" {
			return &promptAnswer{kind: kind, target: t}, nil
		}
		return nil, nil
	}
	switch {
	case key.Matches(msg, p.keys.Cancel):
		p.close()
		return nil, nil
	case key.Matches(msg, p.keys.Confirm):
		a, err := p.answer()
		if err != nil {
			p.err = err.Error()
			return nil, nil
		}
		p.close()
		return a, nil
	}
	if p.prefilled {
		p.prefilled = false
		if replaces(msg) {
			p.input.SetValue("")
		}
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	p.err = ""
	return nil, cmd
}

func (p *promptPane) answer() (*promptAnswer, error) {
	v := strings.TrimSpace(p.input.Value())
	a := &promptAnswer{kind: p.kind, value: v, target: p.target}
	switch p.kind {
	case promptResolve:
		if v == "" {
			return nil, fmt.Errorf("type a host name, for example a Service name")
		}
	case promptApply:
		if v == "" {
			return nil, fmt.Errorf("type the path of a YAML manifest or a directory of them")
		}
	case promptChaos:
		d, err := parseInterval(v)
		if err != nil {
			return nil, err
		}
		a.interval = d
	}
	return a, nil
}

// parseInterval accepts "10", "10s", "1m30s"; at least one second, so
// chaos cannot flood the cluster.
func parseInterval(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		v = strconv.FormatFloat(f, 'f', -1, 64) + "s"
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not an interval: use seconds (10) or a duration (10s, 1m)", v)
	}
	if d < time.Second {
		return 0, fmt.Errorf("interval %s is too short: at least 1s", d)
	}
	return d, nil
}

func (p *promptPane) ShortHelp() []key.Binding {
	if p.kind == promptDelete {
		return []key.Binding{
			key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "delete")),
			key.NewBinding(key.WithKeys("n"), key.WithHelp("any other key", "cancel")),
		}
	}
	if p.prefilled {
		return []key.Binding{p.keys.Confirm, p.keys.Cancel, prefillType, prefillEdit}
	}
	return []key.Binding{p.keys.Confirm, p.keys.Cancel}
}

// Help for a prefilled prompt: what typing and the arrows do to it.
var (
	prefillType = key.NewBinding(key.WithKeys("x"), key.WithHelp("type", "replace"))
	prefillEdit = key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "edit"))
)

// View is one line: the question, the input, and the refusal if any.
func (p *promptPane) View() string {
	if p.kind == promptDelete {
		return fit(p.st.Prompt.Render(p.label)+" [y/N]", p.w)
	}
	line := p.st.Prompt.Render(p.label+": ") + p.input.View()
	if p.prefilled {
		// Shown selected, as a suggestion that typing replaces; the help
		// line under it says so.
		line = p.st.Prompt.Render(p.label+": ") + p.st.Selected.Render(sanitize(p.input.Value()))
	}
	if p.err != "" {
		line = p.st.Prompt.Render(p.label+": ") + p.input.Value() + "  " + p.st.Error.Render(p.err)
	}
	return fit(line, p.w)
}
