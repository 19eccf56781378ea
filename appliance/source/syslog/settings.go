package syslog

import (
	"fmt"
	"time"

	"logpacker/appliance/option"
	psyslog "logpacker/protocol/syslog"
)

// ErrUnknownKey is what the settings types' Set returns for a key that is
// not of their section; its text is exactly "unknown key".
var ErrUnknownKey = option.ErrUnknownKey

// Settings are the [syslog] section of server.ini: what every syslog
// listener (and the RELP input) shares.
type Settings struct {
	MaxMessageSize int            // max_message_size: longer messages are truncated once; 480..16m
	Timezone       *time.Location // timezone: for RFC 3164 timestamps that carry none
	UDPReadBuffer  int            // udp_read_buffer: SO_RCVBUF of UDP and unix sockets; 0..1g
	UDPReaders     int            // udp_readers: sockets (SO_REUSEPORT) and readers per UDP listener; 1..64
	BatchSize      int            // batch_size: events per emit at most; 1..65536
	MaxConnections int            // max_connections: per stream listener; 1..1048576
	IdleTimeout    time.Duration  // idle_timeout: close stream connections idle this long; 0 never
}

// DefaultSettings are the embedded server.ini's [syslog] section.
func DefaultSettings() Settings {
	return Settings{
		MaxMessageSize: 64 << 10,
		Timezone:       time.Local,
		UDPReadBuffer:  4 << 20,
		UDPReaders:     2,
		BatchSize:      512,
		MaxConnections: 4096,
		IdleTimeout:    0,
	}
}

// Set parses value into the field of key (a [syslog] key). A bad value
// leaves s as it was; a key that is not [syslog]'s returns ErrUnknownKey.
func (s *Settings) Set(key, value string) error {
	switch key {
	case "max_message_size":
		return option.SizeInt(&s.MaxMessageSize, value, 480, 16<<20)
	case "timezone":
		loc, err := time.LoadLocation(value)
		if err != nil {
			return fmt.Errorf("unknown time zone %q (use e.g. UTC, Local, Europe/Berlin)", value)
		}
		s.Timezone = loc
		return nil
	case "udp_read_buffer":
		return option.SizeInt(&s.UDPReadBuffer, value, 0, 1<<30)
	case "udp_readers":
		return option.Int(&s.UDPReaders, value, 1, 64)
	case "batch_size":
		return option.Int(&s.BatchSize, value, 1, 65536)
	case "max_connections":
		return option.Int(&s.MaxConnections, value, 1, 1<<20)
	case "idle_timeout":
		return option.Duration(&s.IdleTimeout, value, 0)
	}
	return ErrUnknownKey
}

// Parse returns the parser options of the syslog listeners (and RELP).
func (s Settings) Parse() psyslog.Options {
	return psyslog.Options{MaxSize: s.MaxMessageSize, Location: s.Timezone}
}
