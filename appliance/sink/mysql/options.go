package mysql

import (
	"errors"

	"logpacker/appliance/option"
)

// DefaultOptions returns the defaults of a type = mysql output: the zero
// Options, whose empty fields New fills in (table logs, 250 rows a
// statement, 4 MiB statements, 30s timeout); the DSN has no default.
func DefaultOptions() Options {
	return Options{}
}

// Set parses one key of a type = mysql [output.NAME] section (documented in
// appliance/server.ini.default): dsn, table. The node handles type,
// batch_size, flush_interval and the match keys. A key it does not know
// gives an error wrapping option.ErrUnknownKey. The values are checked by
// New (the DSN's syntax and database name, the table name).
func (o *Options) Set(key, value string) error {
	switch key {
	case "dsn":
		o.DSN = value
		return nil
	case "table":
		o.Table = value
		return nil
	}
	return option.UnknownKey("mysql")
}

// Validate checks what a type = mysql section must set: a dsn.
func (o *Options) Validate() error {
	if o.DSN == "" {
		return errors.New("dsn is required")
	}
	return nil
}
