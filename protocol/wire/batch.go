package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// BatchEncoder builds BATCH frames from encoded events. It reuses one zstd
// encoder (SpeedFastest) and its buffers. Not safe for concurrent use.
type BatchEncoder struct {
	enc      *zstd.Encoder
	raw      []byte
	compress bool
}

// NewBatchEncoder returns an encoder; compress selects zstd (the peer must
// have announced CapZstd).
func NewBatchEncoder(compress bool) (*BatchEncoder, error) {
	e := &BatchEncoder{compress: compress}
	if compress {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("wire: zstd encoder: %w", err)
		}
		e.enc = enc
	}
	return e, nil
}

// Encode returns the BATCH for recs (protocol binary events), with sequence
// seq. Its Data is valid until the next Encode.
func (e *BatchEncoder) Encode(seq uint64, recs [][]byte, data []byte) (*Batch, error) {
	if seq == 0 {
		return nil, errors.New("wire: batch sequence 0")
	}
	if len(recs) == 0 || len(recs) > MaxBatchEvents {
		return nil, fmt.Errorf("wire: %d events in one batch, want 1..%d", len(recs), MaxBatchEvents)
	}
	e.raw = e.raw[:0]
	for _, r := range recs {
		e.raw = binary.AppendUvarint(e.raw, uint64(len(r)))
		e.raw = append(e.raw, r...)
	}
	if len(e.raw) > MaxBatchBytes {
		return nil, fmt.Errorf("wire: batch of %d bytes exceeds %d", len(e.raw), MaxBatchBytes)
	}
	b := &Batch{Seq: seq, Count: uint32(len(recs)), RawLen: uint32(len(e.raw))}
	if e.enc == nil {
		b.Codec, b.Data = CodecNone, append(data[:0], e.raw...)
		return b, nil
	}
	b.Codec, b.Data = CodecZstd, e.enc.EncodeAll(e.raw, data[:0])
	return b, nil
}

// BatchDecoder unpacks BATCH data. It reuses one zstd decoder and never
// decompresses more than the frame's RawLen (at most MaxBatchBytes). Not safe
// for concurrent use.
type BatchDecoder struct {
	dec *zstd.Decoder
	raw []byte
}

// NewBatchDecoder returns a decoder.
func NewBatchDecoder() (*BatchDecoder, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxBatchBytes),
		zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, fmt.Errorf("wire: zstd decoder: %w", err)
	}
	return &BatchDecoder{dec: dec}, nil
}

// BatchError is a BATCH whose data does not hold what its header says. The
// receiver answers ERROR ErrBadBatch for that sequence and appends nothing
// of it.
type BatchError struct {
	Seq    uint64
	Reason string
}

func (e *BatchError) Error() string { return fmt.Sprintf("wire: batch %d: %s", e.Seq, e.Reason) }

// Records returns the batch's events (protocol binary encodings), aliasing
// the decoder's buffer until the next call. Either all Count records are
// returned or a *BatchError: a batch is taken whole or not at all.
func (d *BatchDecoder) Records(b *Batch, recs [][]byte) ([][]byte, error) {
	raw := b.Data
	switch b.Codec {
	case CodecNone:
	case CodecZstd:
		// Refuse a frame that announces another size before inflating it;
		// one that announces none is bounded by MaxBatchBytes.
		var h zstd.Header
		if err := h.Decode(b.Data); err != nil {
			return nil, &BatchError{Seq: b.Seq, Reason: "zstd: " + err.Error()}
		}
		if h.HasFCS && h.FrameContentSize != uint64(b.RawLen) {
			return nil, &BatchError{Seq: b.Seq, Reason: fmt.Sprintf("zstd frame holds %d bytes, header says %d", h.FrameContentSize, b.RawLen)}
		}
		if cap(d.raw) < int(b.RawLen) {
			d.raw = make([]byte, 0, b.RawLen)
		}
		out, err := d.dec.DecodeAll(b.Data, d.raw[:0])
		if err != nil {
			return nil, &BatchError{Seq: b.Seq, Reason: "zstd: " + err.Error()}
		}
		raw = out
	default:
		return nil, &BatchError{Seq: b.Seq, Reason: fmt.Sprintf("unknown codec %d", b.Codec)}
	}
	if len(raw) != int(b.RawLen) {
		return nil, &BatchError{Seq: b.Seq, Reason: fmt.Sprintf("data is %d bytes, header says %d", len(raw), b.RawLen)}
	}
	recs = recs[:0]
	for off := 0; off < len(raw); {
		n, k := binary.Uvarint(raw[off:])
		if k <= 0 || n == 0 || n > uint64(len(raw)-off-k) {
			return nil, &BatchError{Seq: b.Seq, Reason: fmt.Sprintf("bad record length at byte %d", off)}
		}
		if len(recs) == int(b.Count) {
			return nil, &BatchError{Seq: b.Seq, Reason: fmt.Sprintf("more than %d records", b.Count)}
		}
		off += k
		recs = append(recs, raw[off:off+int(n):off+int(n)])
		off += int(n)
	}
	if len(recs) != int(b.Count) {
		return nil, &BatchError{Seq: b.Seq, Reason: fmt.Sprintf("%d records, header says %d", len(recs), b.Count)}
	}
	return recs, nil
}
