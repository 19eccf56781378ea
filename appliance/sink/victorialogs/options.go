package victorialogs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"logpacker/appliance/option"
)

// Compression of the request body: Options.Compression.
const (
	CompressGzip = "gzip"
	CompressZstd = "zstd"
	CompressNone = "none"
)

// Defaults of the options New fills in.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxLineSize = 256 << 10 // VictoriaLogs' -insert.maxLineSizeBytes default
	minMaxLineSize     = 16 << 10
)

// DefaultStreamFields are the stream fields of an output without a
// stream_fields key.
var DefaultStreamFields = []string{"host", "app"}

// streamFieldNames are the fields a stream field may be: the ones every
// line carries with a low number of values. fields.<key> is allowed too.
var streamFieldNames = []string{"host", "app", "procid", "msgid", "facility", "severity", "transport"}

// DefaultOptions returns the defaults of a type = victorialogs output:
// stream fields host and app, gzip bodies, 30s timeout, 256 KiB lines. The
// URLs have no default.
func DefaultOptions() Options {
	return Options{
		StreamFields: append([]string(nil), DefaultStreamFields...),
		Compression:  CompressGzip,
		Timeout:      DefaultTimeout,
		MaxLineSize:  DefaultMaxLineSize,
	}
}

// Set parses one key of a type = victorialogs [output.NAME] section
// (documented in appliance/server.ini.default): urls (comma-separated
// http:// or https:// base URLs of a single-node VictoriaLogs or of
// vlinsert), stream_fields (comma-separated; empty: none), username,
// password, bearer_token, account_id, project_id (0 to 4294967295),
// compression (gzip | zstd | none), tls_ca (a PEM file; relative paths are
// under data_dir), timeout (at least 1s), max_line_size (16k to 2m). The node
// handles type, batch_size and the match keys. A key it does not know gives
// an error wrapping option.ErrUnknownKey.
func (o *Options) Set(key, value string) error {
	switch key {
	case "urls":
		return option.URLs(&o.URLs, value)
	case "stream_fields":
		fs, err := ParseStreamFields(value)
		if err != nil {
			return err
		}
		o.StreamFields = fs
	case "username":
		o.Username = value
	case "password":
		o.Password = value
	case "bearer_token":
		o.BearerToken = value
	case "account_id":
		return tenant(&o.AccountID, value)
	case "project_id":
		return tenant(&o.ProjectID, value)
	case "compression":
		return option.OneOf(&o.Compression, value, CompressGzip, CompressZstd, CompressNone)
	case "tls_ca":
		o.TLSCA = value
	case "timeout":
		return option.Duration(&o.Timeout, value, time.Second)
	case "max_line_size":
		return option.SizeInt(&o.MaxLineSize, value, minMaxLineSize, 2<<20)
	default:
		return option.UnknownKey("victorialogs")
	}
	return nil
}

// Validate checks a type = victorialogs section once all its keys are read:
// urls is required; bearer_token and username/password are exclusive (an
// *option.KeyError for bearer_token); a password needs a username.
func (o *Options) Validate() error {
	if len(o.URLs) == 0 {
		return errors.New("urls is required")
	}
	if o.BearerToken != "" && (o.Username != "" || o.Password != "") {
		return &option.KeyError{Key: "bearer_token", Err: errors.New("bearer_token and username/password are exclusive")}
	}
	if o.Password != "" && o.Username == "" {
		return &option.KeyError{Key: "password", Err: errors.New("password without username")}
	}
	return nil
}

// tenant reads an AccountID or ProjectID: a uint32, as VictoriaLogs takes it.
func tenant(dst *string, v string) error {
	if _, err := strconv.ParseUint(v, 10, 32); err != nil {
		return fmt.Errorf("%q is not a tenant ID (0 to 4294967295)", v)
	}
	*dst = v
	return nil
}

// ParseStreamFields reads a stream_fields value: a comma-separated list of
// host, app, procid, msgid, facility, severity, transport and fields.<key>
// (the fields of the lines that suit a log stream: few values each), no
// name twice; empty items are skipped, and an empty list (every event in
// one stream) is allowed.
func ParseStreamFields(v string) ([]string, error) {
	fs := []string{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if err := checkStreamField(f); err != nil {
			return nil, err
		}
		for _, g := range fs {
			if g == f {
				return nil, fmt.Errorf("%q is listed twice", f)
			}
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func checkStreamField(f string) error {
	if k, ok := strings.CutPrefix(f, "fields."); ok {
		switch {
		case k == "":
			return fmt.Errorf("%q: fields.<key> needs a key", f)
		case len(f) > maxFieldName:
			return fmt.Errorf("%q: longer than %d bytes", f, maxFieldName)
		case strings.ContainsAny(f, "=}\", "):
			// VictoriaLogs refuses '=' and '}' in stream field names; quotes,
			// commas and blanks would not survive the query arg.
			return fmt.Errorf("%q: a stream field name cannot contain = } \" , or blanks", f)
		}
		return nil
	}
	for _, n := range streamFieldNames {
		if f == n {
			return nil
		}
	}
	return fmt.Errorf("%q is not a field that suits a stream (%s, fields.<key>)", f, strings.Join(streamFieldNames, ", "))
}
