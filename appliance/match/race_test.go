//go:build race

package match

// raceEnabled: under the race detector sync.Pool drops items at random, so
// regexp matching allocates now and then; the allocation test reports
// instead of failing, and `make test` runs it again without -race.
const raceEnabled = true
