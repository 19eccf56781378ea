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
	enc     *zstd.Encoder
	raw     []byte
	columns bool
	split   columnSplitter
}

// NewBatchEncoder returns an encoder; compress selects zstd (the peer must
// have announced CapZstd).
func NewBatchEncoder(compress bool) (*BatchEncoder, error) {
	e := &BatchEncoder{}
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

// UseColumns selects CodecColumns (wire version 2) for the batches that
// follow, when the encoder compresses; the link's parent must speak version
// 2. A batch whose records it cannot take apart goes as CodecZstd.
func (e *BatchEncoder) UseColumns(on bool) { e.columns = on && e.enc != nil }

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
	if e.columns && e.split.split(recs) {
		b.Codec, b.Data = CodecColumns, e.split.appendColumns(data[:0], e.enc.EncodeAll)
		return b, nil
	}
	b.Codec, b.Data = CodecZstd, e.enc.EncodeAll(e.raw, data[:0])
	return b, nil
}

// BatchDecoder unpacks BATCH data. It reuses one zstd decoder and never
// decompresses more than the frame's RawLen (at most MaxBatchBytes). Not safe
// for concurrent use.
type BatchDecoder struct {
	dec    *zstd.Decoder
	raw    []byte
	cols   [numCols][]byte // the columns of the batch being decoded
	colBuf [numCols][]byte // storage for the columns it inflates
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
		out, err := d.inflate(b.Data, d.raw, int(b.RawLen))
		if err != nil {
			return nil, &BatchError{Seq: b.Seq, Reason: err.Error()}
		}
		d.raw, raw = out, out
	case CodecColumns:
		out, err := d.columns(b)
		if err != nil {
			return nil, &BatchError{Seq: b.Seq, Reason: err.Error()}
		}
		d.raw, raw = out, out
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

// inflate decompresses one zstd frame of want bytes into buf's storage.
// A frame that announces another size is refused before it is inflated; one
// that announces none is bounded by MaxBatchBytes.
func (d *BatchDecoder) inflate(src, buf []byte, want int) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if h.HasFCS && h.FrameContentSize != uint64(want) {
		return nil, fmt.Errorf("zstd frame holds %d bytes, header says %d", h.FrameContentSize, want)
	}
	if cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	out, err := d.dec.DecodeAll(src, buf[:0])
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if len(out) != want {
		return nil, fmt.Errorf("zstd frame holds %d bytes, header says %d", len(out), want)
	}
	return out, nil
}

// columns rebuilds a CodecColumns batch's records (uvarint length | record
// each, RawLen bytes in all).
func (d *BatchDecoder) columns(b *Batch) ([]byte, error) {
	r := recReader{b: b.Data}
	// A column never holds more than three times the records' bytes (a
	// one-digit number takes a template byte and a digit and a space).
	limit := 3*uint64(b.RawLen) + 64
	for i := range d.cols {
		mode, rawLen, n := r.byte1(), r.uvarint(), r.uvarint()
		data := r.bytes(n)
		switch {
		case r.err:
			return nil, fmt.Errorf("columns: column %s: truncated", colNames[i])
		case rawLen > limit:
			return nil, fmt.Errorf("columns: column %s of %d bytes for %d bytes of records", colNames[i], rawLen, b.RawLen)
		case mode == colRaw:
			if n != rawLen {
				return nil, fmt.Errorf("columns: column %s: %d bytes, header says %d", colNames[i], n, rawLen)
			}
			d.cols[i] = data
		case mode == colZstd:
			out, err := d.inflate(data, d.colBuf[i], int(rawLen))
			if err != nil {
				return nil, fmt.Errorf("columns: column %s: %w", colNames[i], err)
			}
			d.colBuf[i], d.cols[i] = out, out
		default:
			return nil, fmt.Errorf("columns: column %s: unknown mode %d", colNames[i], mode)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("columns: %d bytes after the last column", len(r.b)-r.off)
	}
	return joinColumns(d.raw[:0], &d.cols, int(b.Count), int(b.RawLen))
}
