package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// slogWriter routes memberlist's log lines ("[LEVEL] memberlist: text") into
// a slog.Logger at the matching level: [DEBUG] at debug, [INFO] at info,
// [WARN] at warn, [ERR]/[ERROR] at error; a line without a level tag at info.
// memberlist logs through a *log.Logger, which calls Write once per line.
type slogWriter struct{ l *slog.Logger }

func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l}, "", 0)
}

func (w slogWriter) Write(p []byte) (int, error) {
	n := len(p)
	for _, line := range bytes.Split(bytes.TrimRight(p, "\r\n"), []byte("\n")) {
		level, msg := parseMemberlistLine(string(line))
		if msg == "" || !w.l.Enabled(context.Background(), level) {
			continue
		}
		w.l.Log(context.Background(), level, msg, "component", "memberlist")
	}
	return n, nil
}

func parseMemberlistLine(s string) (slog.Level, string) {
	level := slog.LevelInfo
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 {
			switch s[1:i] {
			case "DEBUG", "TRACE":
				level = slog.LevelDebug
			case "INFO":
				level = slog.LevelInfo
			case "WARN", "WARNING":
				level = slog.LevelWarn
			case "ERR", "ERROR":
				level = slog.LevelError
			}
			s = strings.TrimSpace(s[i+1:])
		}
	}
	s = strings.TrimPrefix(s, "memberlist: ")
	return level, s
}
