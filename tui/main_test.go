package tui

import (
	"os"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// TestMain fixes what would otherwise differ between machines: the colour
// profile (ASCII, so teatest output and goldens are plain text) and the
// time zone the detail view prints times in.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	time.Local = time.UTC
	os.Exit(m.Run())
}
