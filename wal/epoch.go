package wal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EpochFile is the file, in the WAL directory, that holds the WAL's epoch
// (see doc.go, "Epoch").
const EpochFile = "epoch"

// maxEpochLen bounds what ReadEpoch accepts; Open writes 8 hex digits.
const maxEpochLen = 32

// Epoch is this WAL's incarnation: 8 hex digits drawn when its directory was
// created, or "" for a WAL created before epochs existed. It never changes
// for the life of the directory; a new directory gets a new one.
func (l *Log) Epoch() string { return l.epoch }

// ReadEpoch reads the epoch of the WAL in dir without changing anything.
// found is false when dir has no epoch file (a WAL from before epochs, or
// one never opened); err is set when the file cannot be read or holds
// anything but an epoch.
func ReadEpoch(dir string) (epoch string, found bool, err error) {
	p := filepath.Join(dir, EpochFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	epoch = strings.TrimSpace(string(b))
	if !validEpoch(epoch) {
		return "", true, fmt.Errorf("%s holds %q: want up to %d lowercase hex digits (none: a WAL from before epochs)",
			p, clip(string(b), maxEpochLen+8), maxEpochLen)
	}
	return epoch, true, nil
}

func validEpoch(s string) bool {
	return len(s) <= maxEpochLen && strings.Trim(s, "0123456789abcdef") == ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// loadEpoch returns the epoch of the WAL in dir, writing the epoch file
// first when there is none: a new random epoch when dir holds no segment
// yet (a new WAL: Open calls this before it creates the first segment), an
// empty one when it does (a WAL from before epochs keeps the event IDs it
// gave). created reports that the file was written.
func loadEpoch(dir string) (epoch string, created bool, err error) {
	os.Remove(filepath.Join(dir, "."+EpochFile+".tmp")) // left by a crash while creating it
	epoch, found, err := ReadEpoch(dir)
	if err != nil || found {
		return epoch, false, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return "", false, err
	}
	if len(segs) == 0 {
		var b [4]byte
		rand.Read(b[:])
		epoch = hex.EncodeToString(b[:])
	}
	if err := writeFileSync(dir, EpochFile, []byte(epoch+"\n")); err != nil {
		return "", false, err
	}
	return epoch, true, nil
}
