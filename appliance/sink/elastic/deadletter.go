package elastic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"

	"logpacker/wal/durable"
)

// deadTailScan bounds how much of the end of the dead-letter file New
// reads for the _ids dead-lettered before a restart. The batch a restart
// replays was read from the WAL with at most 8 MiB of records; their dead
// letters (each event as JSON, with the error) fit unless the events are
// mostly control characters, which JSON escapes sixfold.
const deadTailScan = 64 << 20

// loadDeadTail cuts a torn last line of the dead-letter file (a crash or a
// full disk inside write(2) left it; the Write that wrote it failed, so its
// event was never confirmed and will be rejected and written again whole:
// durable.RepairLastLine) and returns the _ids of the lines in its last
// budget bytes (nil when there is no file).
func loadDeadTail(path string, budget int64) (map[string]bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size, err := durable.RepairLastLine(f, st.Size())
	if err != nil {
		return nil, err
	}
	start := max(0, size-budget)
	r := bufio.NewReaderSize(io.NewSectionReader(f, start, size-start), 256<<10)
	if start > 0 {
		// the rest of a line that began before start (the file ends in '\n')
		_, err := r.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			_, err = r.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
	}
	ids := map[string]bool{}
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF { // the file ends in '\n': line is empty
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		if id := deadLineID(line); id != "" {
			ids[id] = true
		}
	}
}

// deadLineID reads the "_id" of a dead-letter line, stopping there (it
// comes before the event); "" if the line has none.
func deadLineID(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		if k == "_id" {
			v, _ := dec.Token()
			id, _ := v.(string)
			return id
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// appendSync appends b to the file at path and fsyncs it. A failed write is
// cut back, so that a partial line does not run into the next one.
func appendSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil {
		var n int
		if n, err = f.Write(b); err != nil && n > 0 {
			f.Truncate(st.Size())
		}
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
