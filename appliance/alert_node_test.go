package appliance_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/appliance/alert/alerttest"
)

// TestNodeNotifyReload: a node without notify.ini has no alert cursor; a
// notify.ini that appears adds one and its rules alert; one that does not
// load keeps the running rules and says why in /api/v1/status; one without
// rules drops the cursor.
func TestNodeNotifyReload(t *testing.T) {
	h := alerttest.NewHTTP(t)
	dir := t.TempDir()
	n := testNodeIn(t, dir, loopbackListeners+"[output.file]\npath =\n")
	hasCursor := func() bool { return slices.Contains(n.WAL().Cursors(), "output.alert") }
	if hasCursor() {
		t.Fatal("an alert cursor without notify.ini")
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "notify.ini"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		n.ReloadNotify()
	}
	rule := fmt.Sprintf("[notify]\nretry_min = 10ms\n[webhook]\nurls = %s/webhook/x\n[rule.r]\nproviders = webhook\nlevels = err\ninterval = 1s\n", h.URL)
	write(rule)
	if !hasCursor() {
		t.Fatal("no alert cursor with a rule")
	}
	addr := n.Addr("syslog_tcp").String()
	total := func() (sum int) {
		for _, r := range h.Requests("/webhook/x") {
			sum += int(r.JSON["total"].(float64))
		}
		return sum
	}
	waitTotal := func(want int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for total() != want {
			if time.Now().After(deadline) {
				t.Fatalf("webhook got %d events, want %d", total(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	sendSeverity(t, addr, "app", 8+3, 0, 20) // err: matched
	sendSeverity(t, addr, "app", 8+6, 0, 20) // info: not
	waitTotal(20)

	write(rule + "levels = warning\n") // a key repeated: does not load
	resp, err := http.Get("http://" + n.Addr("http").String() + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st appliance.Status
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if len(st.ReloadErrors) != 1 || !strings.Contains(st.ReloadErrors[0], "notify.ini:9: [rule.r] levels: key repeated (first at line 7)") {
		t.Fatalf("reload_errors %q", st.ReloadErrors)
	}
	sendSeverity(t, addr, "app", 8+3, 20, 5) // the running rule still alerts
	waitTotal(25)

	write(fmt.Sprintf("[webhook]\nurls = %s/webhook/x\n", h.URL))
	if hasCursor() {
		t.Fatal("the alert cursor stays without rules")
	}
}

func TestOutputNameAlertIsTaken(t *testing.T) {
	_, err := appliance.ParseConfig("server.ini", []byte("[output.alert]\ntype = file\npath = a.jsonl\n"))
	if err == nil || !strings.Contains(err.Error(), `output name "alert" is taken by the alerter`) {
		t.Fatalf("err = %v", err)
	}
}
