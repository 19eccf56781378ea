package victorialogs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/option"
	"logpacker/appliance/option/optiontest"
)

// TestDefaultOptions: the defaults, and Set takes the keys of the [output.vl]
// example in server.ini.default.
func TestDefaultOptions(t *testing.T) {
	want := Options{StreamFields: []string{"host", "app"}, Compression: CompressGzip, Timeout: 30 * time.Second, MaxLineSize: 256 << 10}
	if !reflect.DeepEqual(DefaultOptions(), want) {
		t.Errorf("DefaultOptions() = %+v", DefaultOptions())
	}
	o := DefaultOptions()
	optiontest.Apply(t, "output.vl", o.Set)
	want = Options{URLs: []string{"http://vlinsert-1:9481", "http://vlinsert-2:9481"}, StreamFields: []string{"host", "app"},
		Username: "logpacker", Password: "secret", AccountID: "0", ProjectID: "0", Compression: CompressGzip,
		Timeout: 30 * time.Second, MaxLineSize: 256 << 10}
	if !reflect.DeepEqual(o, want) || o.Validate() != nil {
		t.Errorf("[output.vl] example: %+v, %v", o, o.Validate())
	}
}

func TestOptionsSet(t *testing.T) {
	optiontest.CheckSet(t, func() Options {
		o := DefaultOptions()
		o.URLs = []string{"http://before:9428"}
		return o
	}, (*Options).Set, []struct {
		Key, Value string
		Want       func(*Options) bool
		Err        string
	}{
		{"urls", "http://vl:9428", func(o *Options) bool { return reflect.DeepEqual(o.URLs, []string{"http://vl:9428"}) }, ""},
		{"urls", "https://a:9481, https://b:9481/prefix,", func(o *Options) bool { return len(o.URLs) == 2 && o.URLs[1] == "https://b:9481/prefix" }, ""},
		{"urls", "vl:9428", nil, `"vl:9428": want http://host:port`},
		{"stream_fields", "host", func(o *Options) bool { return reflect.DeepEqual(o.StreamFields, []string{"host"}) }, ""},
		{"stream_fields", " app , host, fields.env ", func(o *Options) bool {
			return reflect.DeepEqual(o.StreamFields, []string{"app", "host", "fields.env"})
		}, ""},
		{"stream_fields", "", func(o *Options) bool { return o.StreamFields != nil && len(o.StreamFields) == 0 }, ""},
		{"stream_fields", "message", nil, `"message" is not a field that suits a stream`},
		{"stream_fields", "host,host", nil, `"host" is listed twice`},
		{"stream_fields", "fields.", nil, "needs a key"},
		{"stream_fields", "fields.a=b", nil, "cannot contain"},
		{"stream_fields", "fields.a}", nil, "cannot contain"},
		{"stream_fields", "fields." + strings.Repeat("k", 130), nil, "longer than 128 bytes"},
		{"username", "u", func(o *Options) bool { return o.Username == "u" }, ""},
		{"password", "p;w", func(o *Options) bool { return o.Password == "p;w" }, ""},
		{"bearer_token", "tok", func(o *Options) bool { return o.BearerToken == "tok" }, ""},
		{"account_id", "42", func(o *Options) bool { return o.AccountID == "42" }, ""},
		{"account_id", "4294967295", func(o *Options) bool { return o.AccountID == "4294967295" }, ""},
		{"account_id", "4294967296", nil, "is not a tenant ID"},
		{"project_id", "-1", nil, "is not a tenant ID"},
		{"project_id", "", nil, "is not a tenant ID"},
		{"project_id", "7", func(o *Options) bool { return o.ProjectID == "7" }, ""},
		{"compression", "zstd", func(o *Options) bool { return o.Compression == CompressZstd }, ""},
		{"compression", "none", func(o *Options) bool { return o.Compression == CompressNone }, ""},
		{"compression", "snappy", nil, `"snappy" is not one of gzip, zstd, none`},
		{"tls_ca", "ca.pem", func(o *Options) bool { return o.TLSCA == "ca.pem" }, ""},
		{"timeout", "5s", func(o *Options) bool { return o.Timeout == 5*time.Second }, ""},
		{"timeout", "10ms", nil, "below the minimum 1s"},
		{"max_line_size", "1m", func(o *Options) bool { return o.MaxLineSize == 1<<20 }, ""},
		{"max_line_size", "1k", nil, "out of range"},
		{"max_line_size", "3m", nil, "out of range"},
	})
	o := DefaultOptions()
	optiontest.UnknownKeys(t, "victorialogs", o.Set, "path", "dsn", "index", "api_key", "flush_interval")
}

func TestOptionsValidate(t *testing.T) {
	urls := []string{"http://a:9428"}
	for _, tt := range []struct {
		o   Options
		key string // of the *option.KeyError; "" for a plain error
		err string
	}{
		{Options{URLs: urls}, "", ""},
		{Options{URLs: urls, Username: "u", Password: "p"}, "", ""},
		{Options{URLs: urls, Username: "u"}, "", ""},
		{Options{URLs: urls, BearerToken: "t"}, "", ""},
		{Options{}, "", "urls is required"},
		{Options{URLs: urls, Username: "u", BearerToken: "t"}, "bearer_token", "exclusive"},
		{Options{URLs: urls, Password: "p", BearerToken: "t"}, "bearer_token", "exclusive"},
		{Options{URLs: urls, Password: "p"}, "password", "password without username"},
	} {
		err := tt.o.Validate()
		if tt.err == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v", tt.o, err)
			}
			continue
		}
		var ke *option.KeyError
		isKE := errors.As(err, &ke)
		if err == nil || !strings.Contains(err.Error(), tt.err) || isKE != (tt.key != "") || isKE && ke.Key != tt.key {
			t.Errorf("Validate(%+v) = %#v, want %q (key %q)", tt.o, err, tt.err, tt.key)
		}
	}
}

func TestInsertURL(t *testing.T) {
	for _, tt := range []struct {
		base   string
		fields []string
		want   string
	}{
		{"http://vl:9428", []string{"host", "app"}, "http://vl:9428/insert/jsonline?_msg_field=_msg&_stream_fields=host%2Capp&_time_field=_time"},
		{"https://lb/vl/", nil, "https://lb/vl/insert/jsonline?_msg_field=_msg&_time_field=_time"},
		{"http://vl:9428/insert/jsonline?extra_fields=dc%3Deu&_stream_fields=x", []string{"app"},
			"http://vl:9428/insert/jsonline?_msg_field=_msg&_stream_fields=app&_time_field=_time&extra_fields=dc%3Deu"},
	} {
		got, err := insertURL(tt.base, tt.fields)
		if err != nil || got != tt.want {
			t.Errorf("insertURL(%q, %q) = %q, %v; want %q", tt.base, tt.fields, got, err, tt.want)
		}
	}
	if _, err := insertURL("ftp://x", nil); err == nil {
		t.Error("ftp:// accepted")
	}
}

// FuzzParseStreamFields: no panic; what it accepts is accepted again when
// joined back, and every name is one a stream may have.
func FuzzParseStreamFields(f *testing.F) {
	for _, s := range []string{"host,app", "", " fields.env , host", "fields.a=b", "host,host", ",,,", "fields.\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		fs, err := ParseStreamFields(v)
		if err != nil {
			return
		}
		again, err := ParseStreamFields(strings.Join(fs, ","))
		if err != nil || !reflect.DeepEqual(again, fs) {
			t.Fatalf("%q → %q → %q, %v", v, fs, again, err)
		}
		for _, n := range fs {
			if n == "" || strings.ContainsAny(n, "=}, ") || len(n) > maxFieldName {
				t.Fatalf("%q: bad name %q", v, n)
			}
		}
	})
}
