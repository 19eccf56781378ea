package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

// mixedEvents returns records that use every part of the binary form: all
// optional parts, times in whole microseconds and not, differences too large
// for the microsecond shift, IDs from several nodes, control bytes in the
// message, and more keys than fit one uvarint byte.
func mixedEvents(n int) [][]byte {
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	zone := time.FixedZone("", -5*3600)
	var recs [][]byte
	for i := 0; i < n; i++ {
		ev := protocol.Event{
			ID:        protocol.ID{Node: fmt.Sprintf("leaf-%d", i%3), Seq: uint64(1000 + i*7 - (i%3)*500)},
			Received:  base.Add(time.Duration(i) * 1234 * time.Nanosecond),
			Facility:  protocol.Facility(i % 24),
			Severity:  protocol.Severity(i % 8),
			Host:      fmt.Sprintf("host-%d", i%200),
			App:       []string{"nginx", "sshd", "kernel", ""}[i%4],
			ProcID:    fmt.Sprint(100 + i%150),
			MsgID:     []string{"-", "access", ""}[i%3],
			Message:   fmt.Sprintf("GET /item/%d 200 \x00\x01\x02\x03 ünïcode %x", i, i*7919),
			Peer:      fmt.Sprintf("127.0.0.1:%d", 40000+i%4),
			Transport: "tcp",
			Hops:      uint8(i % 3),
			Count:     uint32(i % 5),
		}
		switch i % 6 {
		case 0:
			ev.Time = base.Add(time.Duration(i) * time.Millisecond).In(zone)
		case 1:
			ev.Time = base.Add(-time.Duration(i) * time.Microsecond)
		case 2: // no time of its own
		case 3:
			ev.Time = time.Unix(0, math.MinInt64+int64(i)) // far from its neighbours
			ev.Received = time.Unix(0, math.MaxInt64-int64(i))
		case 4:
			ev.Received = time.Time{}
			ev.ParseErr = "no PRI"
		case 5:
			ev.SD = []protocol.SDElement{{ID: "req@32473", Params: []protocol.SDParam{{Name: "id", Value: fmt.Sprint(i)}}}}
			ev.Tags = []string{"a", "b"}
			ev.Fields = map[string]string{"k": "v", "x": fmt.Sprint(i)}
		}
		if i%17 == 0 {
			ev.Message = ""
		}
		recs = append(recs, ev.AppendBinary(nil))
	}
	return recs
}

// roundTrip encodes recs with the columns codec on and checks the codec it
// chose and that the records decode byte for byte.
func roundTrip(t *testing.T, recs [][]byte, want Codec) *Batch {
	t.Helper()
	enc, err := NewBatchEncoder(true)
	if err != nil {
		t.Fatal(err)
	}
	enc.UseColumns(true)
	b, err := enc.Encode(3, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Codec != want {
		t.Fatalf("codec %d, want %d", b.Codec, want)
	}
	f, _, err := DecodeFrame(AppendFrame(nil, b), 0)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewBatchDecoder()
	got, err := dec.Records(f.(*Batch), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Fatalf("record %d differs:\n got %q\nwant %q", i, got[i], recs[i])
		}
	}
	return b
}

func TestColumnsRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 7, 300, 2048} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { roundTrip(t, mixedEvents(n), CodecColumns) })
	}
	// the decoder is reused: a second batch must not see the first's keys
	dec, _ := NewBatchDecoder()
	enc, _ := NewBatchEncoder(true)
	enc.UseColumns(true)
	for i, recs := range [][][]byte{mixedEvents(300), events(50), mixedEvents(10)} {
		b, _ := enc.Encode(uint64(i+1), recs, nil)
		got, err := dec.Records(b, nil)
		if err != nil || len(got) != len(recs) || !bytes.Equal(got[len(got)-1], recs[len(recs)-1]) {
			t.Fatalf("batch %d: %d records, %v", i, len(got), err)
		}
	}
}

// A record the splitter does not know goes in a CodecZstd batch.
func TestColumnsFallBack(t *testing.T) {
	good := events(3)
	padded := append([]byte(nil), good[1]...)
	// count (byte 5) as a two-byte uvarint: the same value, another encoding
	padded = append(padded[:5:5], append([]byte{padded[5] | 0x80, 0}, padded[6:]...)...)
	if _, err := protocol.DecodeEvent(padded); err != nil {
		t.Fatalf("the padded record should still decode: %v", err)
	}
	unknown := append([]byte{2}, good[0][1:]...)
	trailing := append(append([]byte(nil), good[2]...), 0)
	for name, rec := range map[string][]byte{"padded varint": padded, "unknown version": unknown, "trailing bytes": trailing} {
		t.Run(name, func(t *testing.T) {
			roundTrip(t, [][]byte{good[0], rec, good[2]}, CodecZstd)
		})
	}
	// off (or no zstd): never columns
	enc, _ := NewBatchEncoder(false)
	enc.UseColumns(true)
	if b, _ := enc.Encode(1, good, nil); b.Codec != CodecNone {
		t.Fatalf("codec %d without compression", b.Codec)
	}
}

func TestColumnsSmaller(t *testing.T) {
	recs := events(2048)
	z, _ := NewBatchEncoder(true)
	bz, _ := z.Encode(1, recs, nil)
	zl := len(bz.Data)
	bc := roundTrip(t, recs, CodecColumns)
	t.Logf("zstd %d bytes, columns %d bytes, of %d", zl, len(bc.Data), bc.RawLen)
	if len(bc.Data) >= zl {
		t.Fatalf("columns %d bytes, zstd alone %d", len(bc.Data), zl)
	}
}

// colSection builds column data from raw columns (mode 0).
func colSection(cols ...[]byte) []byte {
	var b []byte
	for _, c := range cols {
		b = append(b, colRaw)
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

func TestMalformedColumns(t *testing.T) {
	// one valid record, by hand: flags 0, facility 1, severity 2, hops 0,
	// count 1; key 0 = node "n", host "h", app/procid/msgid/peer/transport
	// empty; seq 5; message "hi"; empty tail
	head := []byte{0, 1, 2, 0, 1}
	dict := []byte{1, 'n', 1, 'h', 0, 0, 0, 0, 0}
	seq := []byte{10} // zigzag(5)
	msg := []byte{2, 'h', 'i'}
	rest := []byte{0, 0, 0, 0}
	want := []byte{1, 0, 1, 2, 0, 1, 1, 'n', 5, 1, 'h', 0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0, 0, 0}
	rawLen := uint32(1 + len(want))
	ok := colSection(head, []byte{0}, dict, seq, nil, msg, rest)
	dec, _ := NewBatchDecoder()
	got, err := dec.Records(&Batch{Seq: 1, Count: 1, Codec: CodecColumns, RawLen: rawLen, Data: ok}, nil)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("the hand-made batch: %q, %v", got, err)
	}
	if _, err := protocol.DecodeEvent(got[0]); err != nil {
		t.Fatalf("the hand-made record: %v", err)
	}
	badMode := append([]byte(nil), ok...)
	badMode[0] = 9
	badLen := append([]byte(nil), ok...)
	badLen[1] = 6
	zenc, _ := NewBatchEncoder(true)
	zcol := zenc.enc.EncodeAll(bytes.Repeat(msg, 40), nil)
	cases := []struct {
		name  string
		count uint32
		raw   uint32
		data  []byte
		want  string
	}{
		{"empty", 1, rawLen, nil, "column head: truncated"},
		{"missing columns", 1, rawLen, colSection(head, []byte{0}, dict), "column seq: truncated"},
		{"bytes after the columns", 1, rawLen, append(append([]byte(nil), ok...), 7), "1 bytes after the last column"},
		{"unknown mode", 1, rawLen, badMode, "unknown mode 9"},
		{"raw column length differs", 1, rawLen, badLen, "5 bytes, header says 6"},
		{"column larger than records allow", 1, rawLen, append([]byte{colRaw, 0x80, 0x80, 0x04, 5}, ok[3:]...), "of 65536 bytes for 24 bytes of records"},
		{"zstd column of another size", 1, rawLen, colSectionZ(zcol, 119), "header says 119"},
		{"zstd column corrupt", 1, rawLen, colSectionZ([]byte{0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3}, 5), "zstd"},
		{"key not in the table", 1, rawLen, colSection(head, []byte{1}, dict, seq, nil, msg, rest), "key 1 not in the table"},
		{"key table truncated", 1, rawLen, colSection(head, []byte{0}, dict[:4], seq, nil, msg, rest), "key table truncated"},
		{"padded key index", 1, rawLen, colSection(head, []byte{0x80, 0}, dict, seq, nil, msg, rest), "keys column truncated"},
		{"unknown flags", 1, rawLen, colSection([]byte{4, 1, 2, 0, 1}, []byte{0}, dict, seq, nil, msg, rest), "unknown flags"},
		{"times missing", 1, rawLen, colSection([]byte{2, 1, 2, 0, 1, 0}, []byte{0}, dict, seq, nil, msg, rest), "column times truncated"},
		{"message past its column", 1, rawLen, colSection(head, []byte{0}, dict, seq, nil, []byte{9, 'h'}, rest), "column message truncated"},
		{"tail missing", 1, rawLen, colSection(head, []byte{0}, dict, seq, nil, msg, rest[:3]), "column rest truncated"},
		{"a column left over", 1, rawLen, colSection(head, []byte{0}, dict, seq, nil, append(msg, msg...), rest), "column message: 3 bytes left over"},
		{"count larger than the columns", 2, rawLen, ok, "record 1: keys column truncated"},
		{"records longer than the header says", 1, rawLen - 1, ok, "records exceed"},
		{"records shorter than the header says", 1, rawLen + 1, ok, "header says"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, err := dec.Records(&Batch{Seq: 1, Count: c.count, Codec: CodecColumns, RawLen: c.raw, Data: c.data}, nil)
			var be *BatchError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), c.want) || recs != nil {
				t.Fatalf("got %d records, %v; want a BatchError containing %q and no records", len(recs), err, c.want)
			}
		})
	}
}

// colSectionZ is a section whose first column is the zstd frame z, said to
// inflate to n bytes; the other columns are empty.
func colSectionZ(z []byte, n int) []byte {
	b := []byte{colZstd}
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.AppendUvarint(b, uint64(len(z)))
	b = append(b, z...)
	return append(b, colSection(nil, nil, nil, nil, nil, nil)...)
}

// FuzzColumnsRoundTrip: whatever events the fuzzer makes, the columns codec
// gives back the same records.
func FuzzColumnsRoundTrip(f *testing.F) {
	f.Add([]byte("web-1\x00nginx\x00GET / 200"), int64(1), int64(1000), uint64(7))
	f.Add([]byte{0, 1, 2, 3, 255}, int64(math.MinInt64), int64(math.MaxInt64), uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, text []byte, t1, t2 int64, seq uint64) {
		parts := strings.SplitN(string(text), "\x00", 4)
		for len(parts) < 4 {
			parts = append(parts, "")
		}
		var recs [][]byte
		for i := range 5 {
			ev := protocol.Event{ID: protocol.ID{Node: parts[0], Seq: seq + uint64(i)*seq}, Host: parts[i%2], App: parts[1],
				Message: parts[2] + parts[3][:len(parts[3])*i/5], Received: time.Unix(0, t1+int64(i)*t2), Hops: uint8(i)}
			if i%2 == 0 {
				ev.Time = time.Unix(0, t2-int64(i)*t1)
			}
			if i == 3 {
				ev.Tags = []string{parts[3]}
			}
			recs = append(recs, ev.AppendBinary(nil))
		}
		roundTrip(t, recs, CodecColumns)
	})
}

// FuzzColumnsDecode: column data from anywhere gives records or a
// BatchError, never a panic, and never a record count other than Count.
func FuzzColumnsDecode(f *testing.F) {
	enc, _ := NewBatchEncoder(true)
	enc.UseColumns(true)
	b, _ := enc.Encode(1, mixedEvents(12), nil)
	f.Add(uint32(12), b.RawLen, append([]byte(nil), b.Data...))
	f.Add(uint32(1), uint32(25), colSection([]byte{0, 1, 2, 0, 1}, []byte{0}, []byte{1, 'n', 1, 'h', 0, 0, 0, 0, 0}, []byte{10}, nil, []byte{2, 'h', 'i'}, []byte{0, 0, 0, 0}))
	dec, _ := NewBatchDecoder()
	f.Fuzz(func(t *testing.T, count, raw uint32, data []byte) {
		bt := &Batch{Seq: 1, Count: count % (MaxBatchEvents + 1), Codec: CodecColumns, RawLen: raw % (1 << 20), Data: data}
		recs, err := dec.Records(bt, nil)
		var be *BatchError
		if err != nil && !errors.As(err, &be) {
			t.Fatalf("not a BatchError: %v", err)
		}
		if err == nil && len(recs) != int(bt.Count) {
			t.Fatalf("%d records for count %d", len(recs), bt.Count)
		}
	})
}

func BenchmarkBatchEncodeColumns(b *testing.B) { benchEncode(b, true, mixedEvents(2048)) }

func BenchmarkBatchDecodeColumns(b *testing.B) { benchDecode(b, true, mixedEvents(2048)) }
