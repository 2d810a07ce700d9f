package tui

import "github.com/charmbracelet/lipgloss"

// styles holds every style the dashboard uses, built once at start. Nothing
// in a View creates a style: building lipgloss styles in render loops is the
// usual cause of slow Bubble Tea screens.
//
// Colour only ever repeats what the text already says (STATUS words, the
// "Warning" type, timeline glyphs, ! and * markers), so the screen stays
// usable with NO_COLOR.
type styles struct {
	Header    lipgloss.Style
	HeaderDim lipgloss.Style
	Chaos     lipgloss.Style

	ColHeader lipgloss.Style
	Selected  lipgloss.Style
	Dim       lipgloss.Style

	OK, Progress, Bad, Done lipgloss.Style

	TabActive, Tab lipgloss.Style

	Warning lipgloss.Style

	// Timeline cells, indexed by markKind.
	Timeline [markCount]lipgloss.Style

	Prompt lipgloss.Style
	Error  lipgloss.Style
}

func newStyles(color bool) styles {
	s := styles{
		Header:    lipgloss.NewStyle().Bold(true),
		HeaderDim: lipgloss.NewStyle(),
		Chaos:     lipgloss.NewStyle().Bold(true),
		ColHeader: lipgloss.NewStyle().Bold(true),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Dim:       lipgloss.NewStyle(),
		OK:        lipgloss.NewStyle(),
		Progress:  lipgloss.NewStyle(),
		Bad:       lipgloss.NewStyle(),
		Done:      lipgloss.NewStyle(),
		TabActive: lipgloss.NewStyle().Bold(true).Reverse(true),
		Tab:       lipgloss.NewStyle(),
		Warning:   lipgloss.NewStyle(),
		Prompt:    lipgloss.NewStyle().Bold(true),
		Error:     lipgloss.NewStyle().Bold(true),
	}
	for i := range s.Timeline {
		s.Timeline[i] = lipgloss.NewStyle()
	}
	if !color {
		return s
	}
	// AdaptiveColor picks light or dark from the background flag Run sets
	// once before the program starts.
	green := lipgloss.AdaptiveColor{Light: "28", Dark: "42"}
	yellow := lipgloss.AdaptiveColor{Light: "136", Dark: "220"}
	red := lipgloss.AdaptiveColor{Light: "160", Dark: "203"}
	grey := lipgloss.AdaptiveColor{Light: "245", Dark: "243"}
	blue := lipgloss.AdaptiveColor{Light: "25", Dark: "75"}
	magenta := lipgloss.AdaptiveColor{Light: "127", Dark: "213"}

	s.Header = s.Header.Foreground(blue)
	s.HeaderDim = s.HeaderDim.Foreground(grey)
	s.Chaos = s.Chaos.Foreground(magenta)
	s.Dim = s.Dim.Foreground(grey)
	s.OK = s.OK.Foreground(green)
	s.Progress = s.Progress.Foreground(yellow)
	s.Bad = s.Bad.Foreground(red)
	s.Done = s.Done.Foreground(grey)
	s.Tab = s.Tab.Foreground(grey)
	s.Warning = s.Warning.Foreground(red)
	s.Error = s.Error.Foreground(red)
	s.Prompt = s.Prompt.Foreground(blue)

	s.Timeline[markReady] = s.Timeline[markReady].Foreground(green)
	s.Timeline[markNotReady] = s.Timeline[markNotReady].Foreground(yellow)
	s.Timeline[markProbe] = s.Timeline[markProbe].Foreground(yellow).Bold(true)
	s.Timeline[markKilled] = s.Timeline[markKilled].Foreground(red).Bold(true)
	s.Timeline[markRestart] = s.Timeline[markRestart].Foreground(red).Bold(true)
	s.Timeline[markCrash] = s.Timeline[markCrash].Foreground(magenta).Bold(true)
	return s
}

// health classifies a pod row for colour.
type health int

const (
	healthOK       health = iota // running and ready
	healthProgress               // starting, not ready yet, pending
	healthBad                    // crash loops, errors, restarts just happened
	healthDone                   // completed, terminating
)

func (s *styles) forHealth(h health) lipgloss.Style {
	switch h {
	case healthProgress:
		return s.Progress
	case healthBad:
		return s.Bad
	case healthDone:
		return s.Done
	}
	return s.OK
}
