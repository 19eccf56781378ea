package store

import (
	"errors"
	"time"

	"logpacker/appliance/option"
)

// DefaultOptions returns the defaults of a type = store output, those of
// the embedded [output.store] in appliance/server.ini.default (retention =
// 14d), except two: Enabled is "true" (the embedded [output.store] has
// auto) and Dir is empty (the embedded one uses store; another store
// output needs its own, which Validate checks).
func DefaultOptions() Options {
	return Options{Enabled: "true", Retention: 14 * 24 * time.Hour}
}

// Set parses one key of a type = store [output.NAME] section (documented in
// appliance/server.ini.default): enabled (auto | true | false), dir (not
// empty; the node resolves it against data_dir), retention (14d, 36h,
// 1d12h; 0 keeps everything), max_disk (a size, 0: no cap), min_free (auto,
// 0 in Options, which the node resolves; or a size, at least 1m). The node handles type, batch_size,
// flush_interval and the match keys. A key it does not know gives an error
// wrapping option.ErrUnknownKey.
func (o *Options) Set(key, value string) error {
	switch key {
	case "enabled":
		return option.OneOf(&o.Enabled, value, "auto", "true", "false")
	case "dir":
		return option.NonEmpty(&o.Dir, value)
	case "retention":
		return option.Retention(&o.Retention, value)
	case "max_disk":
		return option.Size(&o.MaxDisk, value, 0, 1<<62)
	case "min_free":
		if value == "auto" {
			o.MinFree = 0
			return nil
		}
		return option.Size(&o.MinFree, value, 1<<20, 1<<62)
	}
	return option.UnknownKey("store")
}

// Validate checks what a new type = store section must set: a dir.
func (o *Options) Validate() error {
	if o.Dir == "" {
		return errors.New("dir is required")
	}
	return nil
}
