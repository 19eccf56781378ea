package pipeline

import (
	"errors"
	"fmt"
	"os"

	"logpacker/protocol"
)

// Dead letters: a batch a sink rejected for good (Permanent()), or a WAL
// record that does not decode, is appended to the output's dead-letter file
// (data_dir/deadletter-KIND.jsonl), one JSON line per event, fsynced, before
// the cursor moves past it: nothing is dropped without a trace a human can
// replay.

func (c *Consumer) deadLetter(evs []protocol.Event, cause error) {
	var buf []byte
	for i := range evs {
		buf = append(buf, `{"output":`...)
		buf = append(buf, fmt.Sprintf("%q,\"error\":%q,\"event\":", c.name, cause.Error())...)
		buf = evs[i].AppendJSON(buf)
		buf = append(buf, "}\n"...)
	}
	c.appendDead(buf)
}

func (c *Consumer) deadLetterRaw(index uint64, data []byte, cause error) {
	line := fmt.Sprintf("{\"output\":%q,\"error\":%q,\"wal_index\":%d,\"raw_hex\":\"%x\"}\n", c.name, cause.Error(), index, data)
	c.appendDead([]byte(line))
}

func (c *Consumer) appendDead(b []byte) {
	c.deadMu.Lock()
	defer c.deadMu.Unlock()
	f, err := os.OpenFile(c.deadPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err == nil {
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		c.log.Error("cannot write dead-letter file", "path", c.deadPath, "err", err)
	}
}
