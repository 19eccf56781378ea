// Package option holds the value parsers of the configuration (server.ini):
// each reads one key's text, checks it and stores it through a pointer, or
// returns an error that says what is wrong with the value. The error never
// names the key, the section or the file: the caller knows them (package
// appliance wraps it in a ConfigError with file, line and key).
//
// The output packages (appliance/sink/…, appliance/store) use these parsers
// in their Options.Set, so that each owns its [output.NAME] keys; package
// appliance uses them for the other sections.
//
// Options.Set returns an error wrapping ErrUnknownKey for a key its type
// does not have, and Options.Validate a *KeyError when a problem found after
// all keys were read is about one key (api_key and username/password of an
// Elasticsearch output), so the caller can point at that key's line.
//
// The parsers take the value as written, with surrounding white space
// already trimmed (ini.v1 does that), and store into dst only a good value.
//
// Package optiontest (for tests) applies the keys of a section of the
// embedded appliance/server.ini.default through an Options.Set, so that
// each output's DefaultOptions and Set are checked against the file that
// documents them.
package option
