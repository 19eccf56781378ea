package relp

import "logpacker/appliance/option"

// ErrUnknownKey is what Settings.Set returns for a key that is not [relp]'s;
// its text is exactly "unknown key". It is syslog.ErrUnknownKey.
var ErrUnknownKey = option.ErrUnknownKey

// Settings are the [relp] section of server.ini. The rest of a RELP
// listener's settings (message size, zone, batch size, connections, idle
// timeout) are [syslog]'s: see syslog.Settings.
type Settings struct {
	MaxDataSize int // max_data_size: largest frame DATA accepted (Options.MaxData); 1k..64m
}

// DefaultSettings are the embedded server.ini's [relp] section.
func DefaultSettings() Settings { return Settings{MaxDataSize: DefaultMaxData} }

// Set parses value into the field of key (a [relp] key). A bad value leaves
// s as it was; a key that is not [relp]'s returns ErrUnknownKey.
func (s *Settings) Set(key, value string) error {
	switch key {
	case "max_data_size":
		return option.SizeInt(&s.MaxDataSize, value, 1<<10, 64<<20)
	}
	return ErrUnknownKey
}
