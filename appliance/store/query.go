package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"

	"logpacker/protocol"
)

// filter is the LogsQL filter of q's conditions but time and cursor ("*":
// none). Bad input is a *QueryError.
func (q Query) filter() (string, error) {
	var and []string
	if q.Text != "" {
		t, err := ParseText(q.Text)
		if err != nil {
			return "", &QueryError{"q", err}
		}
		if t != "" { // only spaces: no text condition
			and = append(and, t)
		}
	}
	if q.Severity != nil {
		and = append(and, colSeverity+":<="+strconv.Itoa(int(*q.Severity)))
	}
	if q.Host != "" {
		and = append(and, colHost+":equals_common_case("+strconv.Quote(q.Host)+")")
	}
	if q.App != "" {
		and = append(and, colApp+":="+strconv.Quote(q.App))
	}
	if q.Tag != "" {
		and = append(and, colTags+":json_array_contains_any("+strconv.Quote(q.Tag)+")")
	}
	if len(and) == 0 {
		return "*", nil
	}
	return strings.Join(and, " "), nil
}

// run executes the LogsQL query qs over received times [start, end] (unix
// ns, inclusive) and calls fn with each result row (its fields are copies,
// fn may keep them), from one goroutine at a time.
func (s *Store) run(ctx context.Context, qs string, start, end int64, fn func(row []logstorage.Field)) error {
	q, err := logstorage.ParseQuery(qs)
	if err != nil {
		return fmt.Errorf("store: query %q: %w", qs, err)
	}
	q.AddTimeFilter(start, end)
	var mu sync.Mutex
	qctx := logstorage.NewQueryContext(ctx, &logstorage.QueryStats{}, []logstorage.TenantID{{}}, q, false, nil)
	err = s.vl.RunQuery(qctx, func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			row := make([]logstorage.Field, 0, len(cols))
			for _, c := range cols {
				if v := c.Values[i]; v != "" {
					row = append(row, logstorage.Field{Name: strings.Clone(c.Name), Value: strings.Clone(v)})
				}
			}
			fn(row)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("store: query: %w", err)
	}
	return nil
}

// hit is a search result row and its place in the order.
type hit struct {
	key cursor
	row []logstorage.Field
}

func keyOf(row []logstorage.Field) (cursor, error) {
	var c cursor
	for _, f := range row {
		switch f.Name {
		case colTime:
			t, err := time.Parse(time.RFC3339Nano, f.Value)
			if err != nil {
				return c, fmt.Errorf("store: stored _time %q: %w", f.Value, err)
			}
			c.received = t.UnixNano()
		case colNode:
			c.node = f.Value
		case colSeq:
			c.seq, _ = strconv.ParseUint(f.Value, 10, 64)
		}
	}
	return c, nil
}

// newestFirst orders hits newest first.
func newestFirst(a, b hit) int {
	switch {
	case b.key.before(a.key):
		return -1
	case a.key.before(b.key):
		return 1
	}
	return 0
}

// rows runs filter over [start, end] and returns the matching hits newest
// first, at most k of them.
func (s *Store) rows(ctx context.Context, filter string, start, end int64, k int) ([]hit, error) {
	var hits []hit
	var ferr error
	collect := func(row []logstorage.Field) {
		c, err := keyOf(row)
		if err != nil {
			ferr = err
			return
		}
		hits = append(hits, hit{c, row})
	}
	if err := s.run(ctx, filter+" | sort by (_time desc) limit "+strconv.Itoa(k), start, end, collect); err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	if len(hits) >= k {
		// The engine's top k by time is exact but for the oldest time in
		// it, whose rows may be more than those that fit: take all of them
		// and order them by ID here.
		tmin := int64(math.MaxInt64)
		for _, h := range hits {
			tmin = min(tmin, h.key.received)
		}
		hits = slices.DeleteFunc(hits, func(h hit) bool { return h.key.received == tmin })
		if err := s.run(ctx, filter, tmin, tmin, collect); err != nil {
			return nil, err
		}
		if ferr != nil {
			return nil, ferr
		}
	}
	slices.SortFunc(hits, newestFirst)
	return hits[:min(len(hits), k)], nil
}

// bounds is the received-time range [lo, hi] (unix ns, inclusive) that q
// covers, cut to the days the store holds; ok is false when it holds none.
func (s *Store) bounds(q Query) (lo, hi int64, ok bool) {
	parts := s.Partitions()
	if len(parts) == 0 {
		return 0, 0, false
	}
	first, ok1 := dayStart(parts[0])
	last, ok2 := dayStart(parts[len(parts)-1])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	lo, hi = first.UnixNano(), last.Add(24*time.Hour).UnixNano()-1
	if !q.From.IsZero() {
		lo = max(lo, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		hi = min(hi, q.To.UnixNano()-1)
	}
	return lo, hi, lo <= hi
}

// firstWindow is the time span a search reads first, back from its end; it
// grows eightfold each time the page is not full yet. The newest page of a
// common word then reads a few seconds of events, not the whole store.
const firstWindow = 10 * time.Second

// Search returns the events q selects, newest first by (received, ID), at
// most q.Limit of them, and a cursor for the rest. Paging with Next returns
// every event stored before the first page exactly once; events that arrive
// meanwhile with a newer received time are not in later pages (they are on
// a new first page). Bad input is a *QueryError.
func (s *Store) Search(ctx context.Context, q Query) (Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		return Result{}, &QueryError{"limit", fmt.Errorf("%d: at most %d", limit, MaxLimit)}
	}
	filter, err := q.filter()
	if err != nil {
		return Result{}, err
	}
	var cur *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return Result{}, &QueryError{"cursor", err}
		}
		cur = &c
	}
	var res Result
	lo, hi, ok := s.bounds(q)
	if !ok {
		return res, nil
	}
	fetch := limit + 1 // one more: is there a next page?
	var hits []hit
	if cur != nil {
		if cur.received < hi {
			hi = cur.received
		}
		if cur.received >= lo && cur.received <= hi {
			// the rest of the cursor's own received time
			same, err := s.rows(ctx, filter, cur.received, cur.received, math.MaxInt32)
			if err != nil {
				return res, err
			}
			for _, h := range same {
				if h.key.before(*cur) && len(hits) < fetch {
					hits = append(hits, h)
				}
			}
		}
		hi = cur.received - 1
	}
	for step := int64(firstWindow); hi >= lo && len(hits) < fetch; step *= 8 {
		start := lo
		if hi-lo >= step {
			start = hi - step + 1
		}
		got, err := s.rows(ctx, filter, start, hi, fetch-len(hits))
		if err != nil {
			return res, err
		}
		hits = append(hits, got...)
		hi = start - 1
	}
	for i, h := range hits {
		if i == limit {
			res.Next = encodeCursor(hits[i-1].key)
			break
		}
		ev, err := eventOf(h.row)
		if err != nil {
			return Result{}, fmt.Errorf("store: stored event %s:%d: %w", h.key.node, h.key.seq, err)
		}
		res.Events = append(res.Events, ev.AppendJSON(nil))
	}
	return res, nil
}

// Bucket is the count of events in [Time, Time+step).
type Bucket struct {
	Time  time.Time `json:"time"`
	Count uint64    `json:"count"`
}

// Hits is a histogram of the events a query selects.
type Hits struct {
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Step    time.Duration `json:"-"`
	StepSec float64       `json:"step_seconds"`
	Total   uint64        `json:"total"`
	Buckets []Bucket      `json:"buckets"`
}

// niceSteps are the histogram steps Hits picks from.
var niceSteps = []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour,
	6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// MaxBuckets caps the buckets of one histogram.
const MaxBuckets = 2000

// Hits counts the events q selects (its cursor and limit are ignored) per
// step of received time, over [q.From, q.To) (zero: from the oldest stored
// day, to now). step 0 picks one giving at most about 100 buckets; buckets
// are aligned to multiples of step since the Unix epoch (UTC) and every
// bucket of the range is listed, empty ones with 0.
func (s *Store) Hits(ctx context.Context, q Query, step time.Duration) (Hits, error) {
	filter, err := q.filter()
	if err != nil {
		return Hits{}, err
	}
	if q.To.IsZero() {
		q.To = s.now()
	}
	if q.From.IsZero() {
		if lo, _, ok := s.bounds(Query{}); ok {
			q.From = time.Unix(0, lo)
		} else {
			q.From = q.To.Add(-24 * time.Hour)
		}
	}
	if !q.From.Before(q.To) {
		return Hits{}, &QueryError{"from", fmt.Errorf("from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))}
	}
	span := q.To.Sub(q.From)
	if step == 0 {
		step = niceSteps[len(niceSteps)-1]
		for _, st := range niceSteps {
			if span/st <= 100 {
				step = st
				break
			}
		}
	}
	if step < time.Second || step%time.Second != 0 {
		return Hits{}, &QueryError{"step", fmt.Errorf("%s: want whole seconds, at least 1s", step)}
	}
	if span/step > MaxBuckets {
		return Hits{}, &QueryError{"step", fmt.Errorf("%s over %s is more than %d buckets", step, span, MaxBuckets)}
	}
	h := Hits{From: q.From.UTC(), To: q.To.UTC(), Step: step, StepSec: step.Seconds()}
	counts := map[int64]uint64{}
	var ferr error
	qs := filter + " | stats by (_time:" + strconv.FormatInt(int64(step/time.Second), 10) + "s) count() hits"
	err = s.run(ctx, qs, q.From.UnixNano(), q.To.UnixNano()-1, func(row []logstorage.Field) {
		var t time.Time
		var n uint64
		for _, f := range row {
			switch f.Name {
			case colTime:
				t, ferr = time.Parse(time.RFC3339Nano, f.Value)
			case "hits":
				n, _ = strconv.ParseUint(f.Value, 10, 64)
			}
		}
		counts[t.UnixNano()] += n
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return Hits{}, err
	}
	first := q.From.UnixNano() / int64(step) * int64(step)
	for t := first; t < q.To.UnixNano(); t += int64(step) {
		h.Buckets = append(h.Buckets, Bucket{Time: time.Unix(0, t).UTC(), Count: counts[t]})
		h.Total += counts[t]
	}
	return h, nil
}

// FacetValue is one value of a field and how many events have it.
type FacetValue struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// FacetFields are the fields Facets counts.
var FacetFields = []string{colHost, colApp, colSeverity, colTags}

// Facets returns, for each of FacetFields, the limit (1-100; 0: 10) values
// most events that q selects have (its cursor and limit are ignored), most
// frequent first, over [q.From, q.To) (zero: all stored, to now). Severity
// values are names (err, warning, …); tags counts each tag of an event.
// Values with equal counts at the cut are the engine's pick (severities: the
// more severe).
func (s *Store) Facets(ctx context.Context, q Query, limit int) (map[string][]FacetValue, error) {
	if limit == 0 {
		limit = 10
	}
	if limit < 1 || limit > 100 {
		return nil, &QueryError{"limit", fmt.Errorf("%d: want 1-100", limit)}
	}
	filter, err := q.filter()
	if err != nil {
		return nil, err
	}
	out := map[string][]FacetValue{}
	lo, hi, ok := s.bounds(q)
	if !ok {
		for _, f := range FacetFields {
			out[f] = []FacetValue{}
		}
		return out, nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make([]error, len(FacetFields))
	for i, field := range FacetFields {
		wg.Go(func() {
			n := limit
			if field == colSeverity {
				n = 8 // all of them: ties are ordered by severity, not by the engine's pick
			}
			qs := filter + " | top " + strconv.Itoa(n) + " by (" + field + ")"
			if field == colTags {
				qs = filter + " " + colTags + ":* | unroll (" + colTags + ") | top " + strconv.Itoa(n) + " by (" + field + ")"
			}
			vals := []FacetValue{}
			errs[i] = s.run(ctx, qs, lo, hi, func(row []logstorage.Field) {
				var v FacetValue
				for _, f := range row {
					switch f.Name {
					case field:
						v.Value = f.Value
					case "hits":
						v.Count, _ = strconv.ParseUint(f.Value, 10, 64)
					}
				}
				if v.Value != "" {
					vals = append(vals, v)
				}
			})
			slices.SortFunc(vals, func(a, b FacetValue) int {
				if field == colSeverity {
					an, _ := strconv.Atoi(a.Value)
					bn, _ := strconv.Atoi(b.Value)
					return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(an, bn))
				}
				return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
			})
			vals = vals[:min(len(vals), limit)]
			if field == colSeverity {
				for i := range vals {
					if n, err := strconv.Atoi(vals[i].Value); err == nil && n >= 0 && n <= 7 {
						vals[i].Value = protocol.Severity(n).String()
					}
				}
			}
			mu.Lock()
			out[field] = vals
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replayWindow is the replay check of the first batches after Open: which
// WAL indexes (of this node's WAL, from the first one sent on) the engine
// already has. The output's cursor is committed only after a checkpoint, so
// after a crash the WAL replays from the last confirmed batch; the engine
// may hold some of what follows (its own flushes), never in WAL order, so
// the check is by index, exact, and ends past the newest one found.
type replayWindow struct {
	checked bool
	have    []uint64 // sorted
}

// skipReplayed drops the events the engine already has from the first
// batches after Open.
func (s *Store) skipReplayed(evs []protocol.Event, idx []uint64) ([]protocol.Event, []uint64, error) {
	s.mu.Lock()
	rw := s.replay
	s.mu.Unlock()
	if rw == nil || len(idx) == 0 {
		return evs, idx, nil
	}
	if !rw.checked {
		lo := idx[0]
		o := strconv.Quote(s.origin)
		qs := fmt.Sprintf("(%s:=%s %s:>=%d) or (%s:=%s %s:>=%d) | fields %s, %s, %s",
			colNode, o, colSeq, lo, colLPAt, o, colLPWal, lo, colNode, colSeq, colLPWal)
		var have []uint64
		err := s.run(context.Background(), qs, math.MinInt64, math.MaxInt64, func(row []logstorage.Field) {
			var node, seq, wal string
			for _, f := range row {
				switch f.Name {
				case colNode:
					node = f.Value
				case colSeq:
					seq = f.Value
				case colLPWal:
					wal = f.Value
				}
			}
			v := wal
			if v == "" && node == s.origin {
				v = seq
			}
			if n, err := strconv.ParseUint(v, 10, 64); err == nil && n >= lo {
				have = append(have, n)
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("store: replay check: %w", err)
		}
		slices.Sort(have)
		rw.have, rw.checked = slices.Compact(have), true
		if len(rw.have) > 0 {
			s.log.Info("store: replay after a restart: skipping the events already stored",
				"events", len(rw.have), "from_index", lo)
		}
	}
	if len(rw.have) == 0 || idx[0] > rw.have[len(rw.have)-1] {
		s.mu.Lock()
		s.replay = nil
		s.mu.Unlock()
		return evs, idx, nil
	}
	// Skipped events are dropped from copies: evs and idx are the caller's.
	var kevs []protocol.Event
	var kidx []uint64
	for i, wi := range idx {
		if _, found := slices.BinarySearch(rw.have, wi); found {
			continue
		}
		kevs = append(kevs, evs[i])
		kidx = append(kidx, wi)
	}
	if idx[len(idx)-1] >= rw.have[len(rw.have)-1] { // past the newest stored: done
		s.mu.Lock()
		s.replay = nil
		s.mu.Unlock()
	}
	return kevs, kidx, nil
}
