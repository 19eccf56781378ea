package syslog

import (
	"time"
	"unicode/utf8"
	"unsafe"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"logpacker/protocol"
)

// DefaultMaxSize is the message size limit used when Options.MaxSize is 0.
// It matches rsyslog's usual maxMessageSize.
const DefaultMaxSize = 64 << 10

// defaultPRI is what a message without a PRI gets: user.notice, as rsyslog does.
const defaultPRI = 13

// Options configure a Parser.
type Options struct {
	// MaxSize is the maximum message size in bytes; 0 means DefaultMaxSize.
	// Longer messages are truncated to MaxSize, never split.
	MaxSize int
	// Location is the zone for RFC 3164 timestamps that carry none; nil means time.Local.
	Location *time.Location
	// Now is the clock for the RFC 3164 year rule; nil means time.Now.
	Now func() time.Time
}

// Parser parses single syslog messages. It is not safe for concurrent use:
// use one Parser per goroutine. It is cheap to create.
type Parser struct {
	max   int
	loc   *time.Location
	now   func() time.Time
	m5424 gosyslog.Machine
	zones map[int]*time.Location // fixed zones by offset in seconds, so times do not allocate
	arena []byte                 // backing store of the strings of parsed events
}

const (
	arenaSize     = 64 << 10
	arenaMaxEntry = 4 << 10
)

// str returns b as a string. Small inputs are copied into the parser's arena,
// one allocation per 64 KiB instead of one per message: bytes appended to the
// arena are never written again (a full arena is replaced, not reused), so
// the strings stay immutable. A string keeps its whole arena chunk alive,
// which is fine for events that live until they are in the WAL.
func (p *Parser) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaMaxEntry {
		return string(b)
	}
	if cap(p.arena)-len(p.arena) < len(b) {
		p.arena = make([]byte, 0, arenaSize)
	}
	start := len(p.arena)
	p.arena = append(p.arena, b...)
	return unsafe.String(&p.arena[start], len(b))
}

// NewParser returns a Parser with the given options.
func NewParser(o Options) *Parser {
	p := &Parser{max: o.MaxSize, loc: o.Location, now: o.Now}
	if p.max <= 0 {
		p.max = DefaultMaxSize
	}
	if p.loc == nil {
		p.loc = time.Local
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// MaxSize reports the effective size limit.
func (p *Parser) MaxSize() int { return p.max }

// Parse parses one syslog message (no framing; a single trailing "\n" or
// "\r\n" is stripped) into ev. It sets Time, Facility, Severity, Host, App,
// ProcID, MsgID, Message, SD and ParseErr and leaves every other field alone.
//
// It never fails and never drops: a message that does not parse is kept whole
// in Message with ParseErr set. A message longer than MaxSize is cut to
// MaxSize (at a UTF-8 boundary when the cut would split a character) before
// parsing, and truncated is true; the caller counts and tags it.
func (p *Parser) Parse(msg []byte, ev *protocol.Event) (truncated bool) {
	msg = trimEOL(msg)
	if len(msg) > p.max {
		msg = cutUTF8(msg, p.max)
		truncated = true
	}
	ev.Time = time.Time{}
	ev.Host, ev.App, ev.ProcID, ev.MsgID, ev.Message, ev.ParseErr = "", "", "", "", "", ""
	ev.SD = nil

	pri, n, st := parsePRI(msg)
	switch st {
	case priBad:
		p.raw(msg, defaultPRI, "invalid PRI", ev)
		return truncated
	case priNone:
		p.parse3164(msg, defaultPRI, false, ev)
		return truncated
	}
	if len(msg) >= n+2 && msg[n] == '1' && msg[n+1] == ' ' {
		p.parse5424(msg, pri, n, ev)
	} else {
		p.parse3164(msg[n:], pri, true, ev)
	}
	return truncated
}

// raw keeps the whole input as the message, flagged with reason.
func (p *Parser) raw(msg []byte, pri int, reason string, ev *protocol.Event) {
	setPRI(ev, pri)
	ev.Time = time.Time{}
	ev.Host, ev.App, ev.ProcID, ev.MsgID = "", "", "", ""
	ev.SD = nil
	ev.Message = p.str(msg)
	ev.ParseErr = reason
}

func setPRI(ev *protocol.Event, pri int) {
	ev.Facility = protocol.Facility(pri >> 3)
	ev.Severity = protocol.Severity(pri & 7)
}

// trimEOL removes one trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n > 1 && b[n-2] == '\r' {
			b = b[:n-2]
		}
	}
	return b
}

// cutUTF8 returns b[:max], or a little less when the cut would split a valid
// multi-byte UTF-8 character.
func cutUTF8(b []byte, max int) []byte {
	for i := max - 1; i >= 0 && i > max-utf8.UTFMax; i-- {
		c := b[i]
		if c < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(c) {
			if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError && i+size > max {
				return b[:i]
			}
			break
		}
	}
	return b[:max]
}

type priState uint8

const (
	priNone priState = iota // no '<' at the start
	priOK
	priBad // starts with '<' but is not <0>..<191>
)

// parsePRI reads "<PRIVAL>" (1 to 3 digits, 0..191) and returns the value and
// its length. Leading zeros are tolerated here ("<013>"); the strict RFC 5424
// fast path rejects them and lets go-syslog decide.
func parsePRI(b []byte) (pri, n int, st priState) {
	if len(b) == 0 || b[0] != '<' {
		return 0, 0, priNone
	}
	i := 1
	for ; i < len(b) && i <= 4 && b[i] >= '0' && b[i] <= '9'; i++ {
		pri = pri*10 + int(b[i]-'0')
	}
	if i == 1 || i > 4 || i >= len(b) || b[i] != '>' || pri > 191 {
		return 0, 0, priBad
	}
	return pri, i + 1, priOK
}

// fixedZone returns a cached zone for offset seconds east of UTC.
func (p *Parser) fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if l, ok := p.zones[off]; ok {
		return l
	}
	if p.zones == nil {
		p.zones = make(map[int]*time.Location)
	}
	l := time.FixedZone("", off)
	if len(p.zones) < 64 {
		p.zones[off] = l
	}
	return l
}

func (p *Parser) goSyslog5424() gosyslog.Machine {
	if p.m5424 == nil {
		p.m5424 = rfc5424.NewMachine(rfc5424.WithBestEffort())
	}
	return p.m5424
}
