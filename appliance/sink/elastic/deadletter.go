package elastic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
)

// deadTailScan bounds how much of the end of the dead-letter file New
// reads for the _ids dead-lettered before a restart. The batch a restart
// replays was read from the WAL with at most 8 MiB of records; their dead
// letters (each event as JSON, with the error) fit unless the events are
// mostly control characters, which JSON escapes sixfold.
const deadTailScan = 64 << 20

// loadDeadTail returns the _ids of the complete lines in the last budget
// bytes of the dead-letter file (nil when there is no file), and cuts a torn
// last line: a crash or a full disk inside write(2) left it, the Write that
// wrote it failed, so its event was never confirmed and will be rejected and
// written again whole. When the torn line began before the part read (longer
// than budget), it cannot be cut: needNL says to end it before the next line.
func loadDeadTail(path string, budget int64) (ids map[string]bool, needNL bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := st.Size()
	start := max(0, size-budget)
	r := bufio.NewReaderSize(io.NewSectionReader(f, start, size-start), 256<<10)
	off := start // of the next line
	if start > 0 {
		first, err := r.ReadBytes('\n') // the rest of a line that began before start
		if err == io.EOF {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		off += int64(len(first))
	}
	ids = map[string]bool{}
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				if err := f.Truncate(off); err != nil {
					return nil, false, err
				}
				if err := f.Sync(); err != nil {
					return nil, false, err
				}
			}
			return ids, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		off += int64(len(line))
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
