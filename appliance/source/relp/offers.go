package relp

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Offers are the feature offers of an "open" command or of its response:
// lines of NAME[=VALUE[,VALUE…]], separated by LF.
type Offers map[string][]string

// maxVersion is the highest relp_version we answer. librelp calls the
// protocol it speaks version 0 and refuses a server that answers a higher
// version than it offered; the specification calls the same protocol 1. We
// answer the version the client offered, capped at 1.
const maxVersion = 1

// ParseOffers parses the DATA of an "open" command (or, after its status
// line, of the response to one).
func ParseOffers(data []byte) (Offers, error) {
	o := Offers{}
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		name, vals, hasVals := bytes.Cut(line, []byte{'='})
		if len(name) == 0 || len(name) > 32 {
			return nil, fmt.Errorf("offer %q: the name must be 1 to 32 bytes", line)
		}
		key := string(name)
		if _, dup := o[key]; dup {
			continue // the first one counts
		}
		var vs []string
		if hasVals {
			for v := range bytes.SplitSeq(vals, []byte{','}) {
				if len(v) > 255 {
					return nil, fmt.Errorf("offer %q: a value longer than 255 bytes", key)
				}
				if len(v) > 0 {
					vs = append(vs, string(v))
				}
			}
		}
		o[key] = vs
	}
	return o, nil
}

// negotiate checks a client's offers and returns the DATA of the "rsp" to
// its "open": "200 OK" and our offers, or an error whose text goes into a
// "500" response.
func negotiate(client Offers, software string) ([]byte, error) {
	vs, ok := client["relp_version"]
	if !ok || len(vs) == 0 {
		return nil, fmt.Errorf("the relp_version offer is missing")
	}
	v, err := strconv.Atoi(vs[0])
	if err != nil || v < 0 {
		return nil, fmt.Errorf("relp_version %q is not a version number", vs[0])
	}
	if !slices.Contains(client["commands"], CmdSyslog) {
		return nil, fmt.Errorf("the client does not offer the syslog command (commands=%s)", strings.Join(client["commands"], ","))
	}
	v = min(v, maxVersion)
	rsp := fmt.Appendf(nil, "%s\nrelp_version=%d\nrelp_software=%s\ncommands=%s", rsp200, v, software, CmdSyslog)
	return rsp, nil
}
