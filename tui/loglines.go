package tui

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// condenseLog rewrites one log line written by log/slog's JSON handler
// (the probe server's format: {"time":...,"level":...,"msg":...,...}) as
// "15:04:05.000 LEVEL msg key=value ...", in the line's own key order. In
// the output pane a JSON line wrapped at every hyphen and quote ran to
// five ragged lines, and the message the newcomer reads the log for
// ("crashing on start", reason "CRASH_FACTOR=40 rolled 6") was buried in
// its punctuation. Any other line is returned as it is, so a container
// that logs something else shows it verbatim, as kubectl logs would.
func condenseLog(line string) string {
	s := strings.TrimSpace(line)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return line
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return line
	}
	var ts, level, msg string
	var rest []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return line
		}
		key, _ := k.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return line
		}
		var str string
		isString := json.Unmarshal(raw, &str) == nil
		switch {
		case key == "time" && isString && ts == "":
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return line
			}
			ts = t.Local().Format("15:04:05.000")
		case key == "level" && isString && level == "":
			level = str
		case key == "msg" && isString && msg == "":
			msg = str
		case isString:
			rest = append(rest, key+"="+logfmtValue(str))
		default:
			var b bytes.Buffer
			if json.Compact(&b, raw) != nil {
				return line
			}
			rest = append(rest, key+"="+b.String())
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return line
	}
	if _, err := dec.Token(); err != io.EOF {
		return line // more after the object: not one log line
	}
	if ts == "" || msg == "" {
		return line // not slog's shape: leave it alone
	}
	out := ts
	if level != "" {
		out += " " + level
	}
	out += " " + msg
	if len(rest) > 0 {
		out += " " + strings.Join(rest, " ")
	}
	return out
}

// logfmtValue quotes a string value when it would not read as one word
// (as slog's text handler does).
func logfmtValue(s string) string {
	if s == "" || strings.ContainsAny(s, " =\"\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
		return strconv.Quote(s)
	}
	return s
}

// condenseLogs is condenseLog on every line of a log body.
func condenseLogs(body string) string {
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		lines[i] = condenseLog(l)
	}
	return strings.Join(lines, "\n")
}
