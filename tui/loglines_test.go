package tui

import (
	"strings"
	"testing"
	"time"
)

// TestCondenseLog: the probe server's JSON log lines read as one line of
// time, level, message and fields; anything else is left as it is.
func TestCondenseLog(t *testing.T) {
	at := time.Date(2026, 11, 25, 0, 10, 29, 164059710, time.UTC)
	clock := at.Local().Format("15:04:05.000")
	tests := []struct {
		name, in, want string
	}{
		{"crash roll",
			`{"time":"2026-11-25T00:10:29.16405971Z","level":"ERROR","msg":"crashing on start","reason":"CRASH_FACTOR=40 rolled 6 (crashes below 40)","exit_code":1}`,
			clock + ` ERROR crashing on start reason="CRASH_FACTOR=40 rolled 6 (crashes below 40)" exit_code=1`},
		{"nested object and bare words",
			`{"time":"2026-11-25T00:10:29.16405971Z","level":"INFO","msg":"starting","hostname":"prober-foo-db477b8ff-9kzpp","knobs":{"PORT":"80", "CONTENT":"{ \"team\": \"foo\" }"}}`,
			clock + ` INFO starting hostname=prober-foo-db477b8ff-9kzpp knobs={"PORT":"80","CONTENT":"{ \"team\": \"foo\" }"}`},
		{"empty and escaped strings", `{"time":"2026-11-25T00:10:29.16405971Z","msg":"m","a":"","b":"x\"y","c":"tab\there"}`,
			clock + ` m a="" b="x\"y" c="tab\there"`},
		{"plain text stays", "Starting server on :80", "Starting server on :80"},
		{"JSON without slog's time and msg stays", `{"status":"ok"}`, `{"status":"ok"}`},
		{"broken JSON stays", `{"time":"2026-11-25T00:10:29Z","msg":"cut`, `{"time":"2026-11-25T00:10:29Z","msg":"cut`},
		{"a bad time stays", `{"time":"yesterday","msg":"m"}`, `{"time":"yesterday","msg":"m"}`},
		{"trailing garbage stays", `{"time":"2026-11-25T00:10:29Z","msg":"m"} {}`, `{"time":"2026-11-25T00:10:29Z","msg":"m"} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := condenseLog(tt.in); got != tt.want {
				t.Errorf("condenseLog(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
	body := strings.Join([]string{tests[0].in, "plain", ""}, "\n")
	if got, want := condenseLogs(body), tests[0].want+"\nplain\n"; got != want {
		t.Errorf("condenseLogs = %q, want %q", got, want)
	}
}
