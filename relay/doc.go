// Package relay is both ends of the node-to-node link over QUIC: Server (an
// input of the parent) and Client (an output of the child), speaking the
// frames of protocol/wire.
//
// What is here so far is the link's security: a cluster CA and node
// certificates, made with crypto/x509 and no external tool (`logpacker cert
// ca`, `logpacker cert node`). Links are mutual TLS: every node certificate
// is valid for server and client authentication, names its node ID as
// subject and its addresses as subject alternative names, and is signed by
// the cluster CA (ECDSA P-256). A CA may sign node certificates only (path
// length 0). Keys are written 0600 before their certificates, with O_EXCL:
// nothing is ever overwritten.
package relay
