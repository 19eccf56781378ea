package elastic

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"logpacker/appliance/option"
	"logpacker/appliance/option/optiontest"
)

// TestDefaultOptions: the zero Options, and Set takes the keys of the
// [output.es] example in server.ini.default.
func TestDefaultOptions(t *testing.T) {
	if !reflect.DeepEqual(DefaultOptions(), Options{}) {
		t.Errorf("DefaultOptions() = %+v", DefaultOptions())
	}
	o := DefaultOptions()
	optiontest.Apply(t, "output.es", o.Set)
	want := Options{URLs: []string{"https://es1:9200", "https://es2:9200"}, Username: "logpacker", Password: "secret",
		Index: "logpacker-%Y.%m.%d", Template: TemplateCreate, TemplateName: "logpacker-es"}
	if !reflect.DeepEqual(o, want) || o.Validate() != nil {
		t.Errorf("[output.es] example: %+v, %v", o, o.Validate())
	}
}

func TestOptionsSet(t *testing.T) {
	optiontest.CheckSet(t, func() Options {
		return Options{URLs: []string{"http://before:9200"}, Index: "before", Template: TemplateCreate, TemplateName: "before"}
	}, (*Options).Set, []struct {
		Key, Value string
		Want       func(*Options) bool
		Err        string
	}{
		{"urls", "http://a:9200", func(o *Options) bool { return reflect.DeepEqual(o.URLs, []string{"http://a:9200"}) }, ""},
		{"urls", "https://a:9200, https://b:9200,", func(o *Options) bool { return len(o.URLs) == 2 && o.URLs[1] == "https://b:9200" }, ""},
		{"urls", "", func(o *Options) bool { return o.URLs == nil }, ""},
		{"urls", "http://a:9200, es2:9200", nil, `"es2:9200": want http://host:port or https://host:port`},
		{"urls", "ftp://a", nil, "want http://host:port"},
		{"username", "u", func(o *Options) bool { return o.Username == "u" }, ""},
		{"password", "p;w", func(o *Options) bool { return o.Password == "p;w" }, ""},
		{"api_key", "aWQ6a2V5", func(o *Options) bool { return o.APIKey == "aWQ6a2V5" }, ""},
		{"index", "logs-%Y.%m", func(o *Options) bool { return o.Index == "logs-%Y.%m" }, ""},
		{"index", "", func(o *Options) bool { return o.Index == "" }, ""},
		{"index", "Logs-%Y", nil, `index "Logs-%Y": an index name must be lowercase`},
		{"index", "logs-%j", nil, "unknown %j"},
		{"template", "overwrite", func(o *Options) bool { return o.Template == TemplateOverwrite }, ""},
		{"template", "none", func(o *Options) bool { return o.Template == TemplateNone }, ""},
		{"template", "always", nil, `"always" is not one of create, overwrite, none`},
		{"template", "", nil, `"" is not one of create, overwrite, none`},
		{"template_name", "lp-main", func(o *Options) bool { return o.TemplateName == "lp-main" }, ""},
		{"template_name", "", func(o *Options) bool { return o.TemplateName == "" }, ""},
		{"template_name", "Logs", nil, "a template name must be lowercase"},
	})
	o := DefaultOptions()
	optiontest.UnknownKeys(t, "elasticsearch", o.Set, "path", "dsn", "dir", "url")
}

func TestOptionsValidate(t *testing.T) {
	urls := []string{"http://a:9200"}
	for _, tt := range []struct {
		o   Options
		key string // of the *option.KeyError; "" for a plain error
		err string
	}{
		{Options{URLs: urls}, "", ""},
		{Options{URLs: urls, Username: "u", Password: "p", Index: "logs-%Y", Template: TemplateOverwrite}, "", ""},
		{Options{URLs: urls, APIKey: "k"}, "", ""},
		{Options{URLs: urls, Index: "%Y-logs", Template: TemplateNone}, "", ""},
		{Options{}, "", "urls is required"},
		{Options{Index: "logs-%Y", Username: "u"}, "", "urls is required"},
		{Options{URLs: urls, Username: "u", APIKey: "k"}, "api_key", "api_key and username/password are exclusive"},
		{Options{URLs: urls, Password: "p", APIKey: "k"}, "api_key", "api_key and username/password are exclusive"},
		{Options{URLs: urls, Index: "%Y-logs"}, "index", `index "%Y-logs" starts with %Y: its index template would match every index`},
		{Options{URLs: urls, Index: "%Y-logs", Template: TemplateCreate}, "index", "would match every index"},
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
