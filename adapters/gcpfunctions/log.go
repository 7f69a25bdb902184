package gcpfunctions

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// NewLogHandler returns a slog handler that writes one JSON object per line
// in the form Cloud Logging reads from a Cloud Run instance's standard
// error: the level as "severity" (DEBUG, INFO, WARNING, ERROR), the message
// as "message", and every attribute in the entry's jsonPayload.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: cloudLoggingAttr})
}

func cloudLoggingAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String("severity", severity(level))
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// severity names a slog level with Cloud Logging's LogSeverity.
func severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	}
	return "ERROR"
}

// logLevel reads POLYFN_LOG_LEVEL (debug, info, warn, error; default info),
// as the launch package does.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(os.Getenv("POLYFN_LOG_LEVEL")))); err != nil {
		return slog.LevelInfo
	}
	return l
}
