package syslog

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"logpacker/appliance/option"
)

// TLSSettings are the [tls] section of server.ini: the certificate of the
// syslog_tls listener and whether clients must show one.
type TLSSettings struct {
	CertFile, KeyFile string // cert_file, key_file: PEM; re-read when cert_file changes
	ClientCAFile      string // client_ca_file: PEM bundle to verify client certificates with
	ClientAuth        string // client_auth: none | request | require ("" is none)
}

// clientAuthModes are the values of client_auth.
var clientAuthModes = []string{"none", "request", "require"}

// DefaultTLSSettings are the embedded server.ini's [tls] section: no
// certificate (a syslog_tls listener needs one) and client_auth = none.
func DefaultTLSSettings() TLSSettings { return TLSSettings{ClientAuth: "none"} }

// Set parses value into the field of key (a [tls] key). A bad value leaves t
// as it was; a key that is not [tls]'s returns ErrUnknownKey.
func (t *TLSSettings) Set(key, value string) error {
	switch key {
	case "cert_file":
		t.CertFile = value
	case "key_file":
		t.KeyFile = value
	case "client_ca_file":
		t.ClientCAFile = value
	case "client_auth":
		return option.OneOf(&t.ClientAuth, value, clientAuthModes...)
	default:
		return ErrUnknownKey
	}
	return nil
}

// certCheckInterval is how often, at most, a handshake looks at whether the
// certificate file changed.
const certCheckInterval = 5 * time.Second

// ServerConfig loads the certificate and, for client_auth, the CA pool, and
// returns the listener's TLS configuration (TLS 1.2 at least). The
// certificate is re-read when its file changes (checked at handshake time,
// at most every 5 s), so rotating it needs no restart; a changed file that
// does not load is logged and the previous certificate kept. log may be nil
// (slog.Default()).
func (t TLSSettings) ServerConfig(log *slog.Logger) (*tls.Config, error) {
	return t.serverConfig(log, certCheckInterval)
}

func (t TLSSettings) serverConfig(log *slog.Logger, every time.Duration) (*tls.Config, error) {
	if log == nil {
		log = slog.Default()
	}
	mode := t.ClientAuth
	if mode == "" {
		mode = "none"
	}
	if err := option.OneOf(new(string), mode, clientAuthModes...); err != nil {
		return nil, fmt.Errorf("source/syslog: tls: client_auth: %w", err)
	}
	if mode != "none" && t.ClientCAFile == "" {
		return nil, fmt.Errorf("source/syslog: tls: client_auth = %s needs client_ca_file", mode)
	}
	cl := &certLoader{cert: t.CertFile, key: t.KeyFile, log: log, every: every}
	if _, err := cl.get(); err != nil {
		return nil, fmt.Errorf("source/syslog: tls: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cl.get() }}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("source/syslog: tls: client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("source/syslog: tls: client_ca_file %s: no PEM certificates", t.ClientCAFile)
		}
		tc.ClientCAs = pool
		switch mode {
		case "require":
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		case "request":
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return tc, nil
}

// certLoader keeps the certificate and re-reads it when the modification
// time of its file changed, looking at most every `every`.
type certLoader struct {
	cert, key string
	log       *slog.Logger
	every     time.Duration
	mu        sync.Mutex
	cur       *tls.Certificate
	mtime     time.Time
	checked   time.Time
}

func (l *certLoader) get() (*tls.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil && time.Since(l.checked) < l.every {
		return l.cur, nil
	}
	l.checked = time.Now()
	st, err := os.Stat(l.cert)
	if err != nil {
		if l.cur != nil {
			return l.cur, nil
		}
		return nil, err
	}
	if l.cur != nil && st.ModTime().Equal(l.mtime) {
		return l.cur, nil
	}
	c, err := tls.LoadX509KeyPair(l.cert, l.key)
	if err != nil {
		if l.cur != nil {
			l.log.Error("cannot load the changed TLS certificate; keeping the old one", "err", err)
			return l.cur, nil
		}
		return nil, err
	}
	if l.cur != nil {
		l.log.Info("TLS certificate reloaded", "cert_file", l.cert)
	}
	l.cur, l.mtime = &c, st.ModTime()
	return l.cur, nil
}
