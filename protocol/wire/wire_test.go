package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"logpacker/protocol"
)

func sampleFrames() []Frame {
	return []Frame{
		&Hello{Version: Version, Node: "leaf-1", Caps: CapZstd, Window: 8},
		&Welcome{Version: Version, Node: "root-a", Members: []Member{
			{Node: "root-a", Addr: "10.0.0.1:7000", Attrs: []Attr{{"cpu_user", "0.25"}, {"mem_free", "1073741824"}}},
			{Node: "root-b", Addr: "[::1]:7000"},
		}},
		&Welcome{Version: Version, Node: "root-a"},
		&Batch{Seq: 1, Count: 2, Codec: CodecNone, RawLen: 6, Data: []byte{2, 'a', 'b', 2, 'c', 'd'}},
		&Ack{Seq: 1 << 40},
		&Error{Seq: 7, Code: ErrBadBatch, Reason: "zstd: corrupt input"},
		&Error{Code: ErrVersion, Reason: strings.Repeat("x", 300)},
		&Ping{Nonce: 0xdeadbeefcafef00d},
		&Pong{Nonce: 1},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var stream []byte
	for _, f := range sampleFrames() {
		b := AppendFrame(nil, f)
		got, n, err := DecodeFrame(b, 0)
		if err != nil || n != len(b) {
			t.Fatalf("%s: decode: %v (n %d of %d)", f.Type(), err, n, len(b))
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("%s: got %+v, want %+v", f.Type(), got, f)
		}
		// every proper prefix is short, never an error or a frame
		for i := 0; i < len(b); i++ {
			if _, _, err := DecodeFrame(b[:i], 0); err != ErrShort {
				t.Fatalf("%s: prefix of %d bytes: %v, want ErrShort", f.Type(), i, err)
			}
		}
		stream = append(stream, b...)
	}
	r := NewReader(bytes.NewReader(stream), 0)
	for _, want := range sampleFrames() {
		got, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("reader: got %+v, want %+v", got, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
}

// A body of 128 bytes or more needs a multi-byte length: AppendFrame moves
// the body to make room.
func TestFrameLongBody(t *testing.T) {
	for _, n := range []int{126, 127, 128, 129, 16383, 16384, 70000} {
		data := bytes.Repeat([]byte{7}, n)
		f := &Batch{Seq: 3, Count: 1, RawLen: uint32(n), Data: data}
		b := AppendFrame([]byte("prefix"), f)
		got, k, err := DecodeFrame(b[6:], 0)
		if err != nil || k != len(b)-6 || !bytes.Equal(got.(*Batch).Data, data) {
			t.Fatalf("body %d: err %v, k %d", n, err, k)
		}
	}
}

func frameBytes(t Type, body ...[]byte) []byte {
	b := []byte{byte(t)}
	var all []byte
	for _, x := range body {
		all = append(all, x...)
	}
	b = binary.AppendUvarint(b, uint64(len(all)))
	return append(b, all...)
}

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func TestMalformedFrames(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"unknown type", []byte{0x7f, 0}, "unknown frame type"},
		{"type zero", []byte{0, 0}, "unknown frame type"},
		{"length overflows", append([]byte{byte(TypeAck)}, bytes.Repeat([]byte{0xff}, 11)...), "length overflows"},
		{"length over the limit", append([]byte{byte(TypeBatch)}, uv(DefaultMaxFrame+1)...), "exceeds"},
		{"hello without node", frameBytes(TypeHello, uv(1), uv(0), uv(0), uv(1)), "empty node ID"},
		{"hello truncated", frameBytes(TypeHello, uv(1)), "truncated"},
		{"hello window out of range", frameBytes(TypeHello, uv(1), uv(1), []byte("n"), uv(0), uv(1<<33)), "window out of range"},
		{"trailing bytes", frameBytes(TypeAck, uv(5), []byte{1}), "trailing bytes"},
		{"batch seq 0", frameBytes(TypeBatch, uv(0), uv(1), []byte{0}, uv(1), []byte{1}), "sequence 0"},
		{"batch count 0", frameBytes(TypeBatch, uv(1), uv(0), []byte{0}, uv(0)), "event count 0"},
		{"batch huge count", frameBytes(TypeBatch, uv(1), uv(MaxBatchEvents+1), []byte{0}, uv(1<<20)), "event count"},
		{"batch unknown codec", frameBytes(TypeBatch, uv(1), uv(1), []byte{9}, uv(1), []byte{1}), "unknown codec"},
		{"batch raw too big", frameBytes(TypeBatch, uv(1), uv(1), []byte{1}, uv(MaxBatchBytes+1)), "exceeds"},
		{"batch raw shorter than count", frameBytes(TypeBatch, uv(1), uv(5), []byte{1}, uv(4)), "too short"},
		{"batch wrong length, uncompressed", frameBytes(TypeBatch, uv(1), uv(1), []byte{0}, uv(5), []byte{1, 2}), "header says 5"},
		{"string too long", frameBytes(TypeError, uv(0), uv(1), uv(MaxString+1)), "exceeds"},
		{"string truncated", frameBytes(TypeError, uv(0), uv(1), uv(10), []byte("abc")), "truncated string"},
		{"welcome member count beyond body", frameBytes(TypeWelcome, uv(1), uv(1), []byte("r"), uv(1000)), "members out of range"},
		{"welcome too many members", frameBytes(TypeWelcome, uv(1), uv(1), []byte("r"), uv(MaxMembers+1), bytes.Repeat([]byte{0}, 3000)), "members out of range"},
		{"welcome too many attrs", frameBytes(TypeWelcome, uv(1), uv(1), []byte("r"), uv(1), uv(0), uv(0), uv(MaxAttrs+1), bytes.Repeat([]byte{0}, 200)), "attributes out of range"},
		{"ping short", frameBytes(TypePing, []byte{1, 2, 3}), "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, _, err := DecodeFrame(c.b, 0)
			var fe *FrameError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got frame %v, err %v; want a FrameError containing %q", f, err, c.want)
			}
			// the stream reader says the same
			_, err = NewReader(bytes.NewReader(c.b), 0).Next()
			if !errors.As(err, &fe) {
				t.Fatalf("reader: %v, want a FrameError", err)
			}
		})
	}
	// a stream cut inside a frame
	b := AppendFrame(nil, &Error{Code: ErrBadFrame, Reason: "cut"})
	if _, err := NewReader(bytes.NewReader(b[:len(b)-1]), 0).Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut stream: %v, want io.ErrUnexpectedEOF", err)
	}
}

func events(n int) [][]byte {
	var recs [][]byte
	for i := 0; i < n; i++ {
		ev := protocol.Event{ID: protocol.ID{Node: "leaf-1", Seq: uint64(i + 1)}, Host: "web-1", App: "nginx",
			Message: fmt.Sprintf("GET /item/%d 200 1234 \"Mozilla/5.0\"", i), Count: 1}
		recs = append(recs, ev.AppendBinary(nil))
	}
	return recs
}

func TestBatchRoundTrip(t *testing.T) {
	dec, err := NewBatchDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for _, compress := range []bool{false, true} {
		enc, err := NewBatchEncoder(compress)
		if err != nil {
			t.Fatal(err)
		}
		recs := events(500)
		b, err := enc.Encode(9, recs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if compress && len(b.Data) >= int(b.RawLen)/2 {
			t.Fatalf("zstd: %d → %d bytes: not compressed", b.RawLen, len(b.Data))
		}
		f, _, err := DecodeFrame(AppendFrame(nil, b), 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Records(f.(*Batch), nil)
		if err != nil {
			t.Fatalf("compress=%v: %v", compress, err)
		}
		if len(got) != len(recs) {
			t.Fatalf("%d records, want %d", len(got), len(recs))
		}
		for i := range recs {
			if !bytes.Equal(got[i], recs[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
	}
}

func TestMalformedBatchData(t *testing.T) {
	dec, _ := NewBatchDecoder()
	zenc, _ := NewBatchEncoder(true)
	good, _ := zenc.Encode(1, events(3), nil)
	goodData := append([]byte(nil), good.Data...)
	flipped := append([]byte(nil), goodData...)
	flipped[len(flipped)/2] ^= 0xff
	cases := []struct {
		name string
		b    Batch
		want string
	}{
		{"bad zstd", Batch{Seq: 1, Count: 1, Codec: CodecZstd, RawLen: 10, Data: []byte("not zstd at all")}, "zstd"},
		{"corrupt zstd", Batch{Seq: 1, Count: 3, Codec: CodecZstd, RawLen: good.RawLen, Data: flipped}, "batch 1"},
		{"zstd size differs from header", Batch{Seq: 1, Count: 3, Codec: CodecZstd, RawLen: good.RawLen + 1, Data: goodData}, "header says"},
		{"fewer records than count", Batch{Seq: 2, Count: 3, RawLen: 4, Data: []byte{1, 'a', 1, 'b'}}, "2 records, header says 3"},
		{"more records than count", Batch{Seq: 2, Count: 1, RawLen: 4, Data: []byte{1, 'a', 1, 'b'}}, "more than 1"},
		{"record length past the end", Batch{Seq: 2, Count: 1, RawLen: 2, Data: []byte{5, 'a'}}, "bad record length"},
		{"zero-length record", Batch{Seq: 2, Count: 1, RawLen: 1, Data: []byte{0}}, "bad record length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, err := dec.Records(&c.b, nil)
			var be *BatchError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), c.want) || recs != nil {
				t.Fatalf("got %d records, %v; want a BatchError containing %q and no records", len(recs), err, c.want)
			}
		})
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		f.Add(AppendFrame(nil, fr))
	}
	f.Add([]byte{byte(TypeBatch), 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := DecodeFrame(b, 1<<16)
		if err != nil {
			return
		}
		again := AppendFrame(nil, fr)
		fr2, n2, err := DecodeFrame(again, 1<<16)
		if err != nil || n2 != len(again) || !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("re-encoded %s frame does not decode the same: %v", fr.Type(), err)
		}
		if n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		if bt, ok := fr.(*Batch); ok {
			dec, _ := NewBatchDecoder()
			recs, err := dec.Records(bt, nil)
			if err == nil && len(recs) != int(bt.Count) {
				t.Fatalf("%d records for count %d", len(recs), bt.Count)
			}
		}
	})
}

func FuzzBatchRecords(f *testing.F) {
	zenc, _ := NewBatchEncoder(true)
	b, _ := zenc.Encode(1, events(4), nil)
	f.Add(uint32(4), byte(CodecZstd), b.RawLen, append([]byte(nil), b.Data...))
	f.Add(uint32(2), byte(CodecNone), uint32(4), []byte{1, 'a', 1, 'b'})
	dec, _ := NewBatchDecoder()
	f.Fuzz(func(t *testing.T, count uint32, codec byte, raw uint32, data []byte) {
		bt := &Batch{Seq: 1, Count: count % (MaxBatchEvents + 1), Codec: Codec(codec % 3), RawLen: raw % (1 << 20), Data: data}
		recs, err := dec.Records(bt, nil)
		if err == nil && len(recs) != int(bt.Count) {
			t.Fatalf("%d records for count %d", len(recs), bt.Count)
		}
	})
}

func BenchmarkBatchEncodeZstd(b *testing.B) { benchEncode(b, false, events(1024)) }

func BenchmarkBatchDecodeZstd(b *testing.B) { benchDecode(b, false, events(1024)) }

// benchEncode measures Encode of recs, in columns or as one zstd frame.
func benchEncode(b *testing.B, columns bool, recs [][]byte) {
	enc, _ := NewBatchEncoder(true)
	enc.UseColumns(columns)
	var data []byte
	n := 0
	for _, r := range recs {
		n += len(r)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		bt, err := enc.Encode(1, recs, data)
		if err != nil || (bt.Codec == CodecColumns) != columns {
			b.Fatal(err, bt.Codec)
		}
		data = bt.Data
	}
}

// benchDecode measures Records of recs encoded as benchEncode does.
func benchDecode(b *testing.B, columns bool, recs [][]byte) {
	enc, _ := NewBatchEncoder(true)
	enc.UseColumns(columns)
	dec, _ := NewBatchDecoder()
	bt, _ := enc.Encode(1, recs, nil)
	b.SetBytes(int64(bt.RawLen))
	var out [][]byte
	for b.Loop() {
		var err error
		if out, err = dec.Records(bt, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameRoundTrip(b *testing.B) {
	f := &Batch{Seq: 1, Count: 1, RawLen: 4096, Data: make([]byte, 4096)}
	var buf []byte
	for b.Loop() {
		buf = AppendFrame(buf[:0], f)
		if _, _, err := DecodeFrame(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}
