package tui

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/proberctl/proberctl/kube"
)

// focus is which pane gets the keys. The lower panes share the space under
// the pods table; detail and help take the whole body.
type focus int

const (
	focusPods focus = iota
	focusTimeline
	focusEvents
	focusOutput
	focusRollout
	focusDetail
	focusHelp
)

var paneNames = [...]string{"pods", "timeline", "events", "output", "rollout"}

// chaosState is the C key: crash a random ready pod every interval.
type chaosState struct {
	on      bool
	every   time.Duration
	gen     int
	crashes int
	// idle counts the ticks in a row that found no ready pod to crash, so
	// the header says why nothing happens (pods still starting, or all
	// crashed already) instead of looking stuck.
	idle    int
	started time.Time
}

// model is the root: it owns the state, routes messages, lays out panes.
type model struct {
	ctx  context.Context
	opts Options
	now  func() time.Time
	log  *slog.Logger
	rand *rand.Rand

	state *clusterState
	st    styles
	keys  keyMap
	help  help.Model

	focus focus
	lower focus // which pane sits under the table
	back  focus // where esc returns to from detail/help

	pods     podsPane
	timeline timelinePane
	events   eventsPane
	output   outputPane
	rollout  rolloutPane
	detail   detailPane
	prompt   promptPane
	helpText scroller // the ? screen, scrollable on short terminals

	chaos     chaosState
	lastApply string

	w, h   int
	bodyH  int
	lowerH int

	// after schedules a message; tea.Tick in the program, replaced in
	// tests so a chaos interval is not waited out.
	after     func(time.Duration, tea.Msg) tea.Cmd
	sourceErr error

	// The last frame View built, valid until a message other than a clock
	// tick arrives (frameOK false) or the clock reaches frameNext, the
	// soonest moment a shown text changes by itself (zero: none does).
	// frames counts the frames built; tests read it.
	frame     string
	frameOK   bool
	frameNext time.Time
	frames    int
	// frameAt is the latest wall clock time a View saw (no monotonic
	// reading: it is there to notice the wall clock going back).
	frameAt time.Time

	// The one pending clock tick: when it fires, and its generation.
	tickAt  time.Time
	tickGen int
	// pruned is when the timelines were last pruned of what has left the
	// window.
	pruned time.Time
}

// newModel builds the root model. color false draws no colour (NO_COLOR).
func newModel(ctx context.Context, opts Options, color bool, log *slog.Logger) *model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &model{
		ctx:   ctx,
		opts:  opts,
		now:   opts.Now,
		log:   log,
		rand:  rand.New(rand.NewPCG(uint64(opts.Now().UnixNano()), 1)),
		state: newClusterState(),
		st:    newStyles(color),
		keys:  newKeyMap(),
		help:  help.New(),
		lower: focusEvents,
		after: func(d time.Duration, msg tea.Msg) tea.Cmd {
			return tea.Tick(d, func(time.Time) tea.Msg { return msg })
		},
	}
	if !color {
		// bubbles' help has coloured defaults; NO_COLOR means none at all.
		plain := lipgloss.NewStyle()
		m.help.Styles = help.Styles{Ellipsis: plain, ShortKey: plain, ShortDesc: plain, ShortSeparator: plain,
			FullKey: plain, FullDesc: plain, FullSeparator: plain}
	}
	m.pods = newPodsPane(&m.st, &m.keys)
	m.pods.focused = true
	m.pods.allNamespaces = opts.Namespace == ""
	m.timeline = newTimelinePane(&m.st, &m.keys)
	m.pods.hist = m.state.hist
	m.pods.timeline = &m.timeline
	m.events = newEventsPane(&m.st, &m.keys)
	m.output = newOutputPane(&m.st, &m.keys)
	m.rollout = newRolloutPane(&m.st, &m.keys)
	m.detail = newDetailPane(&m.st, &m.keys)
	m.prompt = newPromptPane(&m.st, &m.keys)
	m.rollout.rebuild(m.state)
	for _, n := range opts.Notices {
		m.notify("%s", n)
	}
	if len(opts.Notices) > 0 {
		m.lower = focusOutput
	}
	return m
}

// Init starts the watch; the first clock tick is scheduled by the first
// Update (the window size), when there is a screen to keep up to date.
func (m *model) Init() tea.Cmd {
	return waitBatch(m.ctx, m.opts.Source)
}

// Update is a router: one handler per message type. A clock tick changes
// nothing but the time, so it keeps the frame unless the frame's own
// expiry has come; any other message may change what is drawn.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if t, ok := msg.(tickMsg); ok {
		return m, m.handleTick(t)
	}
	m.frameOK = false
	cmd := m.route(msg)
	return m, tea.Batch(cmd, m.scheduleTick())
}

func (m *model) route(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		return m.handleResize(msg)
	case tea.KeyMsg:
		return m.handleKey(msg)
	case tea.MouseMsg:
		return m.handleMouse(msg)
	case batchMsg:
		return m.handleBatch(kube.Batch(msg))
	case sourceErrMsg:
		return m.handleSourceErr(msg)
	case retrySourceMsg:
		return waitBatch(m.ctx, m.opts.Source)
	case resultMsg:
		return m.handleResult(msg)
	case chaosMsg:
		return m.handleChaos(msg)
	case filterChangedMsg:
		return m.handleFilterChanged()
	}
	// Anything else (cursor blinks, paste) belongs to an open text input.
	return m.forwardToInput(msg)
}
