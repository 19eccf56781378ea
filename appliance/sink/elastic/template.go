package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Options.Template: what New's sink does about its index template before
// its first _bulk request (see doc.go).
const (
	TemplateCreate    = "create"    // install it unless a template of that name exists (the default)
	TemplateOverwrite = "overwrite" // install it, replacing one of that name, on every start
	TemplateNone      = "none"      // install nothing
)

const (
	// templatePriority is above Elasticsearch's built-in templates (logs,
	// metrics, synthetics: 100), so that ours wins for an index both match.
	templatePriority = 200
	// templateVersion is the template's "version": raise it when the
	// mappings change.
	templateVersion = 1
	// ignoreAbove: keyword values longer than this (characters) are kept in
	// _source but not indexed, which keeps them under Lucene's 32766-byte
	// term limit (a longer term would reject the whole document).
	ignoreAbove = 1024
	// flattenedIgnoreAbove does the same for each leaf of sd and fields.
	flattenedIgnoreAbove = 4096
)

// DefaultTemplateName is the index template's name when
// Options.TemplateName is empty: "logpacker-" and the output's name in
// lowercase (template names are lowercase).
func DefaultTemplateName(output string) string {
	if output == "" {
		return "logpacker"
	}
	return "logpacker-" + strings.ToLower(output)
}

// CheckTemplate reports whether a template mode and name suit an index
// pattern, for configuration checks: mode is "", create, overwrite or
// none; name is "" (the default) or a valid template name; with a template
// to install, the pattern must start with literal text (a template for
// "*" would apply to every new index of the cluster).
func CheckTemplate(index, mode, name string) error {
	switch mode {
	case "", TemplateCreate, TemplateOverwrite, TemplateNone:
	default:
		return fmt.Errorf("template %q: want %s, %s or %s", mode, TemplateCreate, TemplateOverwrite, TemplateNone)
	}
	if name != "" {
		if err := CheckTemplateName(name); err != nil {
			return fmt.Errorf("template_name %q: %w", name, err)
		}
	}
	if mode == TemplateNone {
		return nil
	}
	pat, err := parseIndexPattern(index)
	if err != nil {
		return err
	}
	_, err = pat.templatePatterns()
	return err
}

// CheckTemplateName reports whether name is a valid Options.TemplateName.
func CheckTemplateName(name string) error { return checkName("a template", name) }

// templatePatterns returns the template's index_patterns: the literal
// prefix up to the first %-directive followed by *, or the index name
// itself when the pattern has no directive.
func (ip *indexPattern) templatePatterns() ([]string, error) {
	var prefix strings.Builder
	for _, p := range ip.parts {
		if p.verb == 0 {
			prefix.WriteString(p.lit)
			continue
		}
		if prefix.Len() == 0 {
			return nil, fmt.Errorf("index %q starts with %%%c: its index template would match every index of the cluster; "+
				"start the index with literal text (logs-%%Y.%%m.%%d) or set template = none", ip.src, p.verb)
		}
		return []string{prefix.String() + "*"}, nil
	}
	return []string{prefix.String()}, nil
}

// templateBody is the PUT /_index_template body: index_patterns, priority,
// version, _meta, and the mappings of the event's public JSON form
// (protocol.Event.AppendJSON). Fields it does not map are mapped
// dynamically, so a field added later still indexes.
func templateBody(patterns []string, output, index string) []byte {
	typ := func(t string) map[string]any { return map[string]any{"type": t} }
	kw := func() map[string]any { return map[string]any{"type": "keyword", "ignore_above": ignoreAbove} }
	flat := func() map[string]any {
		return map[string]any{"type": "flattened", "ignore_above": flattenedIgnoreAbove}
	}
	props := map[string]any{
		"id":       typ("keyword"),
		"received": typ("date_nanos"),
		// The message's own time is what the sender claims: one outside
		// date_nanos' range (1970 to 2262) is kept in _source, not indexed,
		// rather than rejecting the event.
		"time":        map[string]any{"type": "date_nanos", "ignore_malformed": true},
		"facility":    typ("keyword"),
		"severity":    typ("keyword"),
		"host":        kw(),
		"app":         kw(),
		"procid":      kw(),
		"msgid":       kw(),
		"message":     typ("text"),
		"sd":          flat(),
		"tags":        kw(),
		"fields":      flat(),
		"transport":   typ("keyword"),
		"peer":        kw(),
		"hops":        typ("integer"),
		"count":       typ("long"), // a uint32: beyond integer's range
		"parse_error": kw(),
	}
	body := map[string]any{
		"index_patterns": patterns,
		"priority":       templatePriority,
		"version":        templateVersion,
		"_meta": map[string]any{
			"managed_by":  "logpacker",
			"output":      output,
			"index":       index,
			"description": "Mappings of logpacker's event JSON. Installed by the output when missing (template = create) or on every start (template = overwrite).",
		},
		"template": map[string]any{"mappings": map[string]any{"properties": props}},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings and numbers
	}
	return b
}

// installTemplate puts the index template. nil means done: installed, there
// already (create), or refused for good (401/403 and other 4xx: logged
// once, counted, and the output goes on without it). An error means try
// again (connection errors, 429, 5xx): Write returns it before sending any
// event, and the output loop retries.
func (s *Sink) installTemplate(ctx context.Context) error {
	put := s.es.Indices.PutIndexTemplate
	res, err := put(s.tmplName, bytes.NewReader(s.tmplBody), put.WithContext(ctx), put.WithCreate(s.tmplMode == TemplateCreate))
	if err != nil {
		return fmt.Errorf("sink/elastic: index template %s: %w (retrying before any event is sent)", s.tmplName, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("sink/elastic: index template %s: reading the answer: %w", s.tmplName, err)
	}
	st := res.StatusCode
	switch {
	case st >= 200 && st <= 299:
		s.log.Info("sink/elastic: index template installed", "output", s.name, "template", s.tmplName,
			"index_patterns", s.tmplPatterns, "mode", s.tmplMode)
	case s.tmplMode == TemplateCreate && templateExists(st, body):
		s.log.Info("sink/elastic: index template exists; left as it is (template = overwrite replaces it)", "output", s.name,
			"template", s.tmplName)
	case st == 429 || st >= 500:
		return fmt.Errorf("sink/elastic: index template %s: HTTP %d: %s (cluster busy or unavailable; retrying before any event is sent)",
			s.tmplName, st, requestError(body))
	default:
		s.tmplErrors.Add(1)
		hint := "the output goes on without it"
		if st == 401 || st == 403 {
			hint = "the user lacks the manage_index_templates cluster privilege (grant it, or install the template yourself and set template = none); the output goes on without it"
		}
		s.log.Warn("sink/elastic: index template not installed: "+hint, "output", s.name, "template", s.tmplName,
			"status", st, "error", requestError(body))
	}
	s.tmplDone = true
	return nil
}

// templateExists reports whether a refused PUT ?create=true says that a
// template of that name exists: Elasticsearch 8 answers 400
// illegal_argument_exception "index template [NAME] already exists";
// resource_already_exists_exception is taken to mean the same.
func templateExists(status int, body []byte) bool {
	if status != 400 {
		return false
	}
	e := bodyError(body)
	return e != nil && (e.Type == "resource_already_exists_exception" ||
		e.Type == "illegal_argument_exception" && strings.HasSuffix(e.Reason, "already exists"))
}
