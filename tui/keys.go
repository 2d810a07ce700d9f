package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is the dashboard's one keymap. Panes pick their bindings from it for
// the help line, so a key is declared once and its help text cannot drift
// from what it does.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	Detail, Back, Mark, Filter, Sort, EventScope key.Binding

	Crash, Logs, LogsOther, Resolve, Healthz, Info, Delete, Apply, Chaos key.Binding

	NextPane, PrevPane, Panes key.Binding

	Help, Quit key.Binding

	// Prompt keys: shown while a prompt has the keyboard.
	Confirm, Cancel key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "bottom")),

		Detail:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pod detail")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / clear marks")),
		Mark:       key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "mark pod")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter by name")),
		Sort:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort: name/age/restarts/status")),
		EventScope: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "events: selected pod / all")),

		Crash: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "crash pod (or marked)")),
		// After a restart the log of the instance that died says why, so l
		// shows that one first; L is for the other instance.
		Logs:      key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "logs (crashed one first)")),
		LogsOther: key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "logs of the other instance")),
		Resolve:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resolve a host")),
		Healthz:   key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "GET /healthz")),
		Info:      key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "GET /info")),
		Delete:    key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete pod")),
		Apply:     key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "apply manifest")),
		Chaos:     key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "chaos on/off")),

		NextPane: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Panes:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5"), key.WithHelp("1-5", "pods timeline events output rollout")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "ok")),
		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// globalShort are the bindings every short help line ends with.
func (k keyMap) globalShort() []key.Binding {
	return []key.Binding{k.NextPane, k.Help, k.Quit}
}

// FullHelp groups every binding into columns for the help screen.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Crash, k.Logs, k.LogsOther, k.Mark, k.Resolve, k.Healthz, k.Info, k.Delete, k.Apply, k.Chaos},
		{k.Detail, k.Back, k.Filter, k.Sort, k.EventScope, k.Help, k.Quit},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.NextPane, k.PrevPane, k.Panes},
	}
}
