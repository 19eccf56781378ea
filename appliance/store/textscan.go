package store

import (
	"container/heap"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// noTextStreaming turns the streaming text search off (tests compare the two).
var noTextStreaming = false

// streamMinMatches: a day file where the text alone has fewer matches than
// this is searched with the plain query (materialising them is cheap).
// Tests lower it to exercise the streaming path on small data.
var streamMinMatches = 10000

// querier is what a search reads through: a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// textScan is a text search's statements for each day file: stmt walks the
// text's matches newest rid first (rowid, received, id), with the other
// conditions applied; fallback is the plain query (received, id, json,
// LIMIT ? last) for a day file whose blocks do not account for every row
// (written before blocks existed). Both take args.
type textScan struct {
	stmt, fallback string
	args           []any
	from           int64 // Query.From in unix ns; math.MinInt64: none
}

// hit is one match: its sort key and where its row is.
type hit struct {
	received int64
	id       string
	rid      int64
}

// older reports whether a comes after b in a search's newest-first order.
func older(a, b hit) bool {
	if a.received != b.received {
		return a.received < b.received
	}
	return a.id < b.id
}

// hitHeap keeps the newest hits found so far; its root is the oldest of them.
type hitHeap []hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return older(h[i], h[j]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *hitHeap) Pop() any          { x := (*h)[len(*h)-1]; *h = (*h)[:len(*h)-1]; return x }

// block is one write transaction's rows, lo..hi, and the newest received
// time among the rows up to hi (the block's and every earlier block's).
type block struct {
	lo, hi     int64
	upToMaxRec int64
}

// loadBlocks reads the day file's blocks, oldest first, and reports whether
// they account for every row (rids min..max with no gap).
func loadBlocks(ctx context.Context, db querier) ([]block, bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT lo, hi, max_received FROM blocks ORDER BY lo")
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var bs []block
	runMax := int64(math.MinInt64)
	for rows.Next() {
		var b block
		var mx int64
		if err := rows.Scan(&b.lo, &b.hi, &mx); err != nil {
			return nil, false, err
		}
		runMax = max(runMax, mx)
		b.upToMaxRec = runMax
		if len(bs) > 0 && b.lo != bs[len(bs)-1].hi+1 {
			return nil, false, rows.Err()
		}
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	var lo, hi sql.NullInt64
	mm, err := db.QueryContext(ctx, "SELECT min(rid), max(rid) FROM events")
	if err != nil {
		return nil, false, err
	}
	defer mm.Close()
	if mm.Next() {
		if err := mm.Scan(&lo, &hi); err != nil {
			return nil, false, err
		}
	}
	if err := mm.Err(); err != nil {
		return nil, false, err
	}
	if !lo.Valid { // no rows
		return bs, true, nil
	}
	ok := len(bs) > 0 && bs[0].lo == lo.Int64 && bs[len(bs)-1].hi == hi.Int64
	return bs, ok, nil
}

// searchDayText is searchDay for a text search without host, app or tag.
//
// SQLite would evaluate the text's matches in full and sort them: seconds
// for a word in most of a day's millions of events. Instead the matches are
// walked newest rid first (FTS5 does this without materialising them),
// keeping the fetch newest by (received, id), and the walk stops as soon as
// no row left can be newer than the oldest kept: the rows left all have
// smaller rids, that is, they lie in the current write block or earlier
// ones, whose newest received time the blocks table gives. Rows are
// written roughly in received order, so this reads little more than fetch
// matches; an old backlog relayed late only makes it read further.
func (s *Store) searchDayText(ctx context.Context, name string, ts *textScan, fetch int, res *Result, last *cursor, limit int) (bool, error) {
	d, err := s.acquire(name, false)
	if err != nil || d == nil {
		return false, err
	}
	defer s.release(d)
	// one read transaction: blocks, matches and events from one snapshot
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return false, s.queryErr(name, err)
	}
	defer tx.Rollback()
	// A text with few matches is cheapest the plain way (FTS5 walks
	// doclists backwards by loading them whole: a rare word next to a
	// common one would cost more than the matches themselves).
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM events_fts WHERE events_fts MATCH ? LIMIT ?)",
		ts.args[0], streamMinMatches).Scan(&n); err != nil {
		return false, s.queryErr(name, err)
	}
	if n < streamMinMatches {
		return s.searchRows(ctx, tx, name, ts.fallback, ts.args, fetch, res, last, limit)
	}
	blocks, ok, err := loadBlocks(ctx, tx)
	if err != nil {
		return false, s.queryErr(name, err)
	}
	if !ok {
		return s.searchRows(ctx, tx, name, ts.fallback, ts.args, fetch, res, last, limit)
	}
	hits, err := scanText(ctx, tx, ts, blocks, fetch)
	if err != nil {
		return false, s.queryErr(name, err)
	}
	if len(hits) == 0 {
		return false, nil
	}
	js, err := eventJSON(ctx, tx, hits)
	if err != nil {
		return false, s.queryErr(name, err)
	}
	for _, h := range hits {
		if addToPage(res, last, limit, cursor{h.received, h.id}, js[h.rid]) {
			return true, nil
		}
	}
	return false, nil
}

// scanText walks ts.stmt's rows (newest rid first) and returns the fetch
// newest hits, newest first.
func scanText(ctx context.Context, db querier, ts *textScan, blocks []block, fetch int) ([]hit, error) {
	rows, err := db.QueryContext(ctx, ts.stmt, ts.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h := make(hitHeap, 0, fetch)
	bi := len(blocks) - 1
	for rows.Next() {
		var x hit
		if err := rows.Scan(&x.rid, &x.received, &x.id); err != nil {
			return nil, err
		}
		if len(h) < fetch {
			heap.Push(&h, x)
		} else if older(h[0], x) {
			h[0] = x
			heap.Fix(&h, 0)
		}
		// every row left has a rid below x.rid: in x's block or before it
		for bi >= 0 && blocks[bi].lo > x.rid {
			bi--
		}
		if bi >= 0 && x.rid <= blocks[bi].hi {
			bound := blocks[bi].upToMaxRec // no row left was received later
			if len(h) == fetch && h[0].received > bound || bound < ts.from {
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(h, func(a, b hit) int {
		if older(a, b) {
			return 1
		}
		if older(b, a) {
			return -1
		}
		return 0
	})
	return h, nil
}

// eventJSON reads the JSON of the hits' rows, by rid.
func eventJSON(ctx context.Context, db querier, hits []hit) (map[int64][]byte, error) {
	rids := make([]int64, len(hits))
	for i, h := range hits {
		rids[i] = h.rid
	}
	sort.Slice(rids, func(i, j int) bool { return rids[i] < rids[j] })
	out := make(map[int64][]byte, len(hits))
	const chunk = 500
	for len(rids) > 0 {
		n := min(chunk, len(rids))
		args := make([]any, n)
		for i := range n {
			args[i] = rids[i]
		}
		rows, err := db.QueryContext(ctx, "SELECT rid, json FROM events WHERE rid IN (?"+strings.Repeat(",?", n-1)+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var rid int64
			var js []byte
			if err := rows.Scan(&rid, &js); err != nil {
				rows.Close()
				return nil, err
			}
			out[rid] = js
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
		rids = rids[n:]
	}
	if len(out) != len(hits) {
		return nil, fmt.Errorf("%d of %d matched rows read", len(out), len(hits))
	}
	return out, nil
}
