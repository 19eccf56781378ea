package relay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names of a cluster CA and of a node's certificate in their directories.
const (
	CACertFile   = "ca.crt"
	CAKeyFile    = "ca.key"
	NodeCertFile = "node.crt"
	NodeKeyFile  = "node.key"
)

// NewCA creates a cluster CA (ECDSA P-256, self-signed) in dir: ca.crt (0644)
// and ca.key (0600). It refuses to overwrite an existing CA.
func NewCA(dir, name string, validity time.Duration) error {
	if name == "" {
		name = "logpacker cluster CA"
	}
	if validity <= 0 {
		return errors.New("cert: validity must be positive")
	}
	if err := refuseOverwrite(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"logpacker"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // signs node certificates only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	return writePair(dir, CACertFile, CAKeyFile, der, key)
}

// NewNodeCert creates a node certificate in outDir (node.crt 0644, node.key
// 0600), signed by the CA in caDir. Its subject is the node ID; hosts (DNS
// names and IP addresses) are its subject alternative names, which a child
// checks when it dials the node. It is valid for both ends of a link (server
// and client authentication): links are mutual TLS.
func NewNodeCert(caDir, outDir, nodeID string, hosts []string, validity time.Duration) error {
	if nodeID == "" || strings.ContainsAny(nodeID, "\x00/") {
		return fmt.Errorf("cert: bad node ID %q", nodeID)
	}
	if validity <= 0 {
		return errors.New("cert: validity must be positive")
	}
	ca, caKey, err := LoadCA(caDir)
	if err != nil {
		return err
	}
	if err := refuseOverwrite(filepath.Join(outDir, NodeCertFile), filepath.Join(outDir, NodeKeyFile)); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	now := time.Now()
	notAfter := now.Add(validity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: nodeID, Organization: []string{"logpacker"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
		case net.ParseIP(h) != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(h))
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	return writePair(outDir, NodeCertFile, NodeKeyFile, der, key)
}

// LoadCA reads the CA certificate and key from dir.
func LoadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("cert: load CA from %s: %w", dir, err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("cert: CA: %w", err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !ca.IsCA {
		return nil, nil, fmt.Errorf("cert: %s does not hold a logpacker CA", dir)
	}
	return ca, key, nil
}

// CAPool reads a CA certificate file into a pool, for verifying peers.
func CAPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("cert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("cert: no certificate in %s", caFile)
	}
	return pool, nil
}

// TLSFiles are the files of a node's link TLS: the cluster CA certificate,
// and this node's certificate and key (paths as they are to be opened).
type TLSFiles struct {
	CA, Cert, Key string
}

// LoadTLS is the mutual-TLS configuration of node links: this node's
// certificate, and the cluster CA to verify the other end (as a server, the
// children: ClientCAs; as a client, the parent, whose address must be in its
// certificate: RootCAs). It refuses a certificate whose subject is not
// nodeID, which the other end would refuse anyway.
func LoadTLS(f TLSFiles, nodeID string, server bool) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("relay: certificate: %w", err)
	}
	pool, err := CAPool(f.CA)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil && leaf.Subject.CommonName != nodeID {
		return nil, fmt.Errorf("relay: certificate %s is for node %q, this node is %q ([node] id)",
			f.Cert, leaf.Subject.CommonName, nodeID)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	if server {
		tc.ClientCAs = pool
	} else {
		tc.RootCAs = pool
	}
	return tc, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func refuseOverwrite(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("cert: %s exists; remove it first to replace it", p)
		}
	}
	return nil
}

// writePair writes the certificate (0644) and the key (0600, written first,
// never readable by others even for a moment).
func writePair(dir, certName, keyName string, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	if err := writeFileExcl(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeFileExcl(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFileExcl(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("cert: %w", err)
	}
	return nil
}
