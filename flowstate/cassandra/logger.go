package cassandra

import (
	"log/slog"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// slogger passes the driver's logs to a *slog.Logger.
type slogger struct{ l *slog.Logger }

var _ gocql.StructuredLogger = slogger{}

func attrs(fields []gocql.LogField) []any {
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		switch f.Value.LogFieldValueType() {
		case gocql.LogFieldTypeInt64:
			out = append(out, slog.Int64(f.Name, f.Value.Int64()))
		case gocql.LogFieldTypeBool:
			out = append(out, slog.Bool(f.Name, f.Value.Bool()))
		default:
			out = append(out, slog.String(f.Name, f.Value.String()))
		}
	}
	return out
}

func (s slogger) Error(msg string, f ...gocql.LogField)   { s.l.Error(msg, attrs(f)...) }
func (s slogger) Warning(msg string, f ...gocql.LogField) { s.l.Warn(msg, attrs(f)...) }
func (s slogger) Info(msg string, f ...gocql.LogField)    { s.l.Info(msg, attrs(f)...) }
func (s slogger) Debug(msg string, f ...gocql.LogField)   { s.l.Debug(msg, attrs(f)...) }
