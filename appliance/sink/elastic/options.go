package elastic

import (
	"errors"

	"logpacker/appliance/option"
)

// DefaultOptions returns the defaults of a type = elasticsearch output: the
// zero Options, whose empty fields New fills in (Index DefaultIndex,
// Template TemplateCreate, TemplateName DefaultTemplateName(Name), Timeout
// 60s); the URLs have no default.
func DefaultOptions() Options {
	return Options{}
}

// Set parses one key of a type = elasticsearch [output.NAME] section
// (documented in appliance/server.ini.default): urls (comma-separated
// http:// or https:// URLs), username, password, api_key, index (CheckIndex),
// template (create | overwrite | none), template_name (CheckTemplateName;
// empty: the default). The node handles type, batch_size, flush_interval
// and the match keys. A key it does not know gives an error wrapping
// option.ErrUnknownKey.
func (o *Options) Set(key, value string) error {
	switch key {
	case "urls":
		return option.URLs(&o.URLs, value)
	case "username":
		o.Username = value
	case "password":
		o.Password = value
	case "api_key":
		o.APIKey = value
	case "index":
		if err := CheckIndex(value); err != nil {
			return err
		}
		o.Index = value
	case "template":
		return option.OneOf(&o.Template, value, TemplateCreate, TemplateOverwrite, TemplateNone)
	case "template_name":
		if value != "" { // "": the default
			if err := CheckTemplateName(value); err != nil {
				return err
			}
		}
		o.TemplateName = value
	default:
		return option.UnknownKey("elasticsearch")
	}
	return nil
}

// Validate checks a type = elasticsearch section once all its keys are
// read: urls is required; api_key and username/password are exclusive
// (an *option.KeyError for api_key); the index template suits the index
// pattern (CheckTemplate; an *option.KeyError for index).
func (o *Options) Validate() error {
	if len(o.URLs) == 0 {
		return errors.New("urls is required")
	}
	if o.APIKey != "" && (o.Username != "" || o.Password != "") {
		return &option.KeyError{Key: "api_key", Err: errors.New("api_key and username/password are exclusive")}
	}
	if err := CheckTemplate(o.Index, o.Template, o.TemplateName); err != nil {
		return &option.KeyError{Key: "index", Err: err}
	}
	return nil
}
