package protocol

import "fmt"

// Facility is the syslog facility (RFC 5424 §6.2.1), 0..23.
type Facility uint8

// Severity is the syslog severity (RFC 5424 §6.2.1), 0 (emerg) .. 7 (debug).
type Severity uint8

// Severities, most severe first.
const (
	SevEmerg Severity = iota
	SevAlert
	SevCrit
	SevErr
	SevWarning
	SevNotice
	SevInfo
	SevDebug
)

// Facilities as numbered by RFC 5424.
const (
	FacKern Facility = iota
	FacUser
	FacMail
	FacDaemon
	FacAuth
	FacSyslog
	FacLPR
	FacNews
	FacUUCP
	FacCron
	FacAuthPriv
	FacFTP
	FacNTP
	FacSecurity
	FacConsole
	FacSolarisCron
	FacLocal0
	FacLocal1
	FacLocal2
	FacLocal3
	FacLocal4
	FacLocal5
	FacLocal6
	FacLocal7
)

var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// String returns the keyword used in JSON ("kern" … "local7").
func (f Facility) String() string {
	if int(f) < len(facilityNames) {
		return facilityNames[f]
	}
	return fmt.Sprintf("facility(%d)", uint8(f))
}

// String returns the keyword used in JSON ("emerg" … "debug").
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// Valid reports whether f is one of the 24 RFC 5424 facilities.
func (f Facility) Valid() bool { return int(f) < len(facilityNames) }

// Valid reports whether s is one of the 8 RFC 5424 severities.
func (s Severity) Valid() bool { return int(s) < len(severityNames) }

// ParseFacility maps a keyword to a Facility.
func ParseFacility(s string) (Facility, error) {
	for i, n := range facilityNames {
		if n == s {
			return Facility(i), nil
		}
	}
	return 0, fmt.Errorf("protocol: unknown facility %q", s)
}

// ParseSeverity maps a keyword to a Severity. "warn", "error" and "panic" are accepted as aliases.
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "warn":
		return SevWarning, nil
	case "error":
		return SevErr, nil
	case "panic":
		return SevEmerg, nil
	}
	for i, n := range severityNames {
		if n == s {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("protocol: unknown severity %q", s)
}

// Priority combines facility and severity into a PRI value.
func Priority(f Facility, s Severity) int { return int(f)*8 + int(s) }
