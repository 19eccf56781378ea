package cluster

import (
	"context"
	"log/slog"
	"testing"
)

func TestMemberlistLogLines(t *testing.T) {
	cases := []struct {
		in    string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:5000\n", slog.LevelDebug, "Stream connection from=127.0.0.1:5000"},
		{"[INFO] memberlist: Suspect n3 has failed, no acks received", slog.LevelInfo, "Suspect n3 has failed, no acks received"},
		{"[WARN] memberlist: Refuting a suspect message (from: n2)", slog.LevelWarn, "Refuting a suspect message (from: n2)"},
		{"[ERR] memberlist: Failed to send gossip to 127.0.0.1:1: x", slog.LevelError, "Failed to send gossip to 127.0.0.1:1: x"},
		{"[ERROR] memberlist: boom", slog.LevelError, "boom"},
		{"no tag at all", slog.LevelInfo, "no tag at all"},
		{"[ODD] something", slog.LevelInfo, "something"},
		{"", slog.LevelInfo, ""},
	}
	for _, tc := range cases {
		level, msg := parseMemberlistLine(tc.in)
		if level != tc.level || msg != tc.msg {
			t.Errorf("parse %q = %v %q, want %v %q", tc.in, level, msg, tc.level, tc.msg)
		}
	}

	// Through the *log.Logger memberlist gets.
	rec := &recorder{}
	l := newMemberlistLogger(slog.New(rec))
	l.Printf("[DEBUG] memberlist: one %d", 1)
	l.Printf("[WARN] memberlist: two")
	l.Printf("")
	if got := rec.find(slog.LevelDebug, "one 1", "component", "memberlist"); len(got) != 1 {
		t.Errorf("debug line: %d records", len(got))
	}
	if got := rec.find(slog.LevelWarn, "two", "component", "memberlist"); len(got) != 1 {
		t.Errorf("warn line: %d records", len(got))
	}
	if len(rec.recs) != 2 {
		t.Errorf("%d records, want 2 (empty line dropped)", len(rec.recs))
	}

	// Debug lines cost nothing when debug is off.
	info := &recorder{}
	l = newMemberlistLogger(slog.New(levelFilter{info, slog.LevelInfo}))
	l.Printf("[DEBUG] memberlist: hidden")
	l.Printf("[INFO] memberlist: shown")
	if len(info.recs) != 1 || info.recs[0].Message != "shown" {
		t.Errorf("with level info got %d records", len(info.recs))
	}
}

type levelFilter struct {
	*recorder
	min slog.Level
}

func (f levelFilter) Enabled(_ context.Context, l slog.Level) bool { return l >= f.min }
