package cluster

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"
)

// TestJSONKeys: Member, Load and Stats are printed by the node's
// /api/v1/cluster and /api/v1/status with the API's snake_case keys, and
// decode back to the same values (logpacker status reads them).
func TestJSONKeys(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, v := range []any{Member{}, Load{}, Stats{}} {
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if tag := f.Tag.Get("json"); !snake.MatchString(tag) {
				t.Errorf("%s.%s: json tag %q, want a snake_case key", rt.Name(), f.Name, tag)
			}
		}
	}

	m := Member{Node: "root-1", Gossip: "10.0.0.1:7946", RelayAddr: "10.0.0.1:5515", State: StateAlive,
		Leaving: true, Load: idle, Updated: time.Date(2026, 11, 24, 10, 11, 12, 0, time.UTC), Local: true}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"node":"root-1","gossip":"10.0.0.1:7946","relay_addr":"10.0.0.1:5515","state":"alive","leaving":true,` +
		`"load":{"cpu_user":0.2,"cpu_system":0.1,"mem_free":67645734912,"mem_total":68719476736,` +
		`"disk_free":1063004405760,"disk_total":1073741824000,"load1":0.02,"cpus":8},` +
		`"updated":"2026-11-24T10:11:12Z","local":true}`
	if string(b) != want {
		t.Errorf("Member JSON:\n got %s\nwant %s", b, want)
	}
	var back Member
	if err := json.Unmarshal(b, &back); err != nil || back != m {
		t.Errorf("Member round trip: %+v, %v; want %+v", back, err, m)
	}

	s := Stats{Members: 5, Alive: 2, Suspect: 1, Dead: 1, Left: 1, MetaUpdates: 7, LocalUpdates: 3, BadMeta: 1}
	b, err = json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const wantStats = `{"members":5,"alive":2,"suspect":1,"dead":1,"left":1,"meta_updates":7,"local_updates":3,"bad_meta":1}`
	if string(b) != wantStats {
		t.Errorf("Stats JSON:\n got %s\nwant %s", b, wantStats)
	}
	var sb Stats
	if err := json.Unmarshal(b, &sb); err != nil || sb != s {
		t.Errorf("Stats round trip: %+v, %v; want %+v", sb, err, s)
	}
}
