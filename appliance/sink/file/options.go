package file

import (
	"errors"

	"logpacker/appliance/option"
)

// DefaultOptions returns the defaults of a type = file output, those of the
// embedded [output.file] in appliance/server.ini.default (max_size = 256m,
// max_files = 5, page_cache = drop), except Path: [output.file] writes
// events.jsonl, another file output has no default path (Validate wants
// one).
func DefaultOptions() Options {
	return Options{MaxSize: 256 << 20, MaxFiles: 5}
}

// Set parses one key of a type = file [output.NAME] section (documented in
// appliance/server.ini.default): path, max_size, max_files, page_cache
// (drop | keep: KeepCache). The node handles type, batch_size and the
// match keys. A key it does not know gives an error wrapping
// option.ErrUnknownKey; a bad value, an error that names neither key nor
// section (the caller does).
func (o *Options) Set(key, value string) error {
	switch key {
	case "path":
		o.Path = value // empty: [output.file] is off (Validate refuses it elsewhere)
		return nil
	case "max_size":
		return option.Size(&o.MaxSize, value, 0, 1<<50)
	case "max_files":
		return option.Int(&o.MaxFiles, value, 0, 10000)
	case "page_cache":
		var pc string
		if err := option.OneOf(&pc, value, "drop", "keep"); err != nil {
			return err
		}
		o.KeepCache = pc == "keep"
		return nil
	}
	return option.UnknownKey("file")
}

// Validate checks what a new type = file section must set: a path. (The
// embedded [output.file] may have an empty path, which turns it off: the
// node does not Validate it.)
func (o *Options) Validate() error {
	if o.Path == "" {
		return errors.New("path is required (to turn this output off, remove or comment out the section)")
	}
	return nil
}
