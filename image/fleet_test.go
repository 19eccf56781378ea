package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// docker runs the docker CLI and returns its trimmed output.
func docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

// needDocker skips, loudly, when no Docker engine answers.
func needDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("NO DOCKER: the docker CLI is not installed; the container image and fleet test did NOT run")
	}
	if out, err := docker("info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Skipf("NO DOCKER ENGINE: the container image and fleet test did NOT run (%v)", err)
	} else {
		t.Logf("docker engine %s", out)
	}
}

// The image both tests use: built once (build.sh, what make image runs),
// removed by TestMain when the tests end.
var (
	imageOnce sync.Once
	imageTag  string
	imageOut  string
	imageErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if imageTag != "" {
		docker("rmi", "-f", imageTag)
	}
	os.Exit(code)
}

// image builds the image on first use and returns its tag.
func image(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() {
		tag := fmt.Sprintf("logpacker-test:%d", os.Getpid())
		out, err := exec.Command("./build.sh", tag).CombinedOutput()
		imageOut = strings.TrimSpace(string(out))
		if err != nil {
			imageErr = fmt.Errorf("build.sh: %v\n%s", err, out)
			return
		}
		imageTag = tag
		if !strings.Contains(imageOut, "built FROM scratch: ") {
			imageErr = fmt.Errorf("build.sh did not print the size:\n%s", out)
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	t.Log(imageOut)
	return imageTag
}

// TestImage checks what the image declares: the non-root user, the
// HEALTHCHECK, the ports, the volume, and that it has one layer of ours
// (FROM scratch: nothing under it).
func TestImageIntegration(t *testing.T) {
	needDocker(t)
	tag := image(t)
	cfg, err := docker("image", "inspect", "-f", "{{.Config.User}}|{{json .Config.Healthcheck.Test}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{len .RootFS.Layers}}", tag)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(cfg, "|")
	if f[0] != "514:514" {
		t.Errorf("user %q, want 514:514", f[0])
	}
	if f[1] != `["CMD","/usr/bin/logpacker","health","-c","/etc/logpacker/server.ini"]` {
		t.Errorf("healthcheck %s", f[1])
	}
	for _, p := range []string{"5514/udp", "5514/tcp", "6514/tcp", "2514/tcp", "5515/udp", "8080/tcp"} {
		if !strings.Contains(f[2], `"`+p+`"`) {
			t.Errorf("port %s not exposed: %s", p, f[2])
		}
	}
	if !strings.Contains(f[3], "/var/lib/logpacker") {
		t.Errorf("volumes %s", f[3])
	}
	// the default configuration in the image loads
	if out, err := docker("run", "--rm", tag, "check", "-c", "/etc/logpacker/server.ini"); err != nil || !strings.Contains(out, "/etc/logpacker/server.ini: ok") {
		t.Errorf("check: %v %s", err, out)
	}
}

// fleet is the containers of TestFleetIntegration.
type fleet struct {
	t       *testing.T
	tag     string
	net     string
	prefix  string
	dir     string
	members []string
	ips     map[string]string // fixed address of each node
}

func (f *fleet) name(n string) string { return f.prefix + n }

// run starts container n (a node with [node] id = n) with its config dir
// mounted at /etc/logpacker.
func (f *fleet) run(n, ini string) {
	f.t.Helper()
	dir := filepath.Join(f.dir, n)
	if err := os.WriteFile(filepath.Join(dir, "server.ini"), []byte(ini), 0o644); err != nil {
		f.t.Fatal(err)
	}
	// the node runs as uid 514: its key must be readable by it
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, 514, 514) })
	if _, err := docker("run", "-d", "--name", f.name(n), "--hostname", n, "--network", f.net, "--network-alias", n, "--ip", f.ips[n],
		"--health-interval", "1s", "-v", dir+":/etc/logpacker:ro", f.tag); err != nil {
		f.t.Fatal(err)
	}
	f.members = append(f.members, n)
}

// waitHealthy waits for the image's HEALTHCHECK (logpacker health) to pass.
func (f *fleet) waitHealthy(n string) {
	f.t.Helper()
	f.waitFor(n+" healthy", 2*time.Minute, func() bool {
		s, _ := docker("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", f.name(n))
		if strings.HasPrefix(s, "exited") {
			f.t.Fatalf("%s exited\n%s", n, f.logs())
		}
		return s == "running healthy"
	})
}

func (f *fleet) waitFor(what string, limit time.Duration, ok func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s\n%s", what, f.logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (f *fleet) logs() string {
	var b strings.Builder
	for _, n := range f.members {
		out, _ := docker("logs", "--tail", "30", f.name(n))
		fmt.Fprintf(&b, "--- %s:\n%s\n", n, out)
	}
	return b.String()
}

// stored reads root n's file output (docker cp: the image has no shell).
type storedEvent struct {
	ID      string `json:"id"`
	App     string `json:"app"`
	Message string `json:"message"`
}

func (f *fleet) stored(n string) []storedEvent {
	f.t.Helper()
	cmd := exec.Command("docker", "cp", f.name(n)+":/var/lib/logpacker/events.jsonl", "-")
	out, err := cmd.Output()
	if err != nil {
		return nil // not written yet
	}
	tr := tar.NewReader(bytes.NewReader(out))
	if _, err := tr.Next(); err != nil {
		f.t.Fatalf("docker cp %s: %v", n, err)
	}
	var evs []storedEvent
	sc := bufio.NewScanner(tr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev storedEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // a line being written
		}
		evs = append(evs, ev)
	}
	return evs
}

// send writes seq=from … seq=to from app over TCP syslog to addr, at about
// 5,000 a second; half is closed once half of them are written.
func send(t *testing.T, addr, app string, from, to int, half chan<- struct{}) {
	defer func() {
		if half != nil {
			close(half)
		}
	}()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Errorf("dial %s: %v", addr, err)
		return
	}
	defer c.Close()
	w := bufio.NewWriter(c)
	for i := from; i <= to; i++ {
		fmt.Fprintf(w, "<134>1 2026-12-02T12:00:00Z %s %s - - - seq=%d\n", app, app, i)
		if i%50 == 0 { // a steady stream, so that the faults land in the middle of it
			if err := w.Flush(); err != nil {
				t.Errorf("send to %s: %v", addr, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		if i == (from+to)/2 && half != nil {
			w.Flush()
			close(half)
			half = nil
		}
	}
	if err := w.Flush(); err != nil {
		t.Errorf("send to %s: %v", addr, err)
	}
}

// TestFleetIntegration: two roots in a cluster, a relay, two leaves, all
// from the image, on a private network. Events go into the leaves over
// TCP syslog in three rounds: with everything up; while the relay
// container is SIGKILLed and started again; while root1 is disconnected
// from the network, then connected again. At the end every event is
// stored: each (leaf, seq) has one event ID, and no root holds an ID twice.
func TestFleetIntegration(t *testing.T) {
	needDocker(t)
	const perRound = 4000
	f := &fleet{t: t, dir: t.TempDir(), prefix: fmt.Sprintf("lpfleet-%d-", os.Getpid())}
	f.tag = image(t)
	f.net = f.prefix + "net"
	os.Chmod(f.dir, 0o755)
	// a /24 of our own, so that every node has a fixed address: [cluster]
	// relay_addr is an IP, and root1 gets its address back when reconnected
	var subnet string
	for i := 0; ; i++ {
		subnet = fmt.Sprintf("10.%d.%d", 200+(os.Getpid()+i)%50, (os.Getpid()/50+i*7)%250)
		_, err := docker("network", "create", "--subnet", subnet+".0/24", f.net)
		if err == nil {
			break
		}
		if i == 10 || !strings.Contains(err.Error(), "overlap") {
			t.Fatal(err)
		}
	}
	f.ips = map[string]string{"root1": subnet + ".11", "root2": subnet + ".12", "relay": subnet + ".13",
		"leaf1": subnet + ".21", "leaf2": subnet + ".22"}
	t.Cleanup(func() {
		for _, n := range f.members {
			docker("rm", "-fv", f.name(n))
		}
		docker("network", "rm", f.net)
	})

	// the cluster CA and a certificate per node (the roots' names in theirs:
	// children verify the parent's address)
	lp := func(args ...string) {
		cmd := exec.Command("docker", append([]string{"run", "--rm", "--user", "0:0", "-v", f.dir + ":/w", f.tag}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logpacker %v: %v\n%s", args, err, out)
		}
	}
	lp("cert", "ca", "-dir", "/w/ca")
	nodes := []string{"root1", "root2", "relay", "leaf1", "leaf2"}
	for _, n := range nodes {
		lp("cert", "node", "-id", n, "-ca", "/w/ca", "-host", n+","+f.ips[n], "-dir", "/w/"+n)
		b, _ := os.ReadFile(filepath.Join(f.dir, "ca", "ca.crt"))
		os.WriteFile(filepath.Join(f.dir, n, "ca.crt"), b, 0o644)
	}
	common := func(id, upstream string) string {
		return fmt.Sprintf("[node]\nid = %s\ndata_dir = /var/lib/logpacker\nnotify =\n[relay]\nupstream = %s\nca = /etc/logpacker/ca.crt\ncert = /etc/logpacker/node.crt\nkey = /etc/logpacker/node.key\n", id, upstream)
	}
	for _, r := range []string{"root1", "root2"} {
		f.run(r, common(r, "")+"[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp = 127.0.0.1:8080\nrelay = 0.0.0.0:5515\n"+
			"[cluster]\nbind = 0.0.0.0:7946\nadvertise = "+f.ips[r]+":7946\nnodes = "+f.ips["root1"]+":7946, "+f.ips["root2"]+":7946\nrelay_addr = "+f.ips[r]+":5515\nprobe_interval = 500ms\n[output.store]\nenabled = false\n")
	}
	f.waitHealthy("root1")
	f.waitHealthy("root2")
	f.run("relay", common("relay", "root1:5515, root2:5515")+"[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp = 127.0.0.1:8080\nrelay = 0.0.0.0:5515\n")
	f.waitHealthy("relay")
	for _, l := range []string{"leaf1", "leaf2"} {
		f.run(l, common(l, "relay:5515")+"[listen]\nsyslog_udp =\nsyslog_tcp = 0.0.0.0:5514\nhttp = 127.0.0.1:8080\n")
	}
	f.waitHealthy("leaf1")
	f.waitHealthy("leaf2")
	leafAddr := map[string]string{"leaf1": net.JoinHostPort(f.ips["leaf1"], "5514"), "leaf2": net.JoinHostPort(f.ips["leaf2"], "5514")}

	union := func() (map[string]bool, map[string]map[string]bool) {
		ids := map[string]map[string]bool{} // "leaf seq" → IDs
		per := map[string]bool{}
		for _, r := range []string{"root1", "root2"} {
			seen := map[string]bool{}
			for _, ev := range f.stored(r) {
				if seen[ev.ID] {
					t.Fatalf("%s stored event %s twice", r, ev.ID)
				}
				seen[ev.ID] = true
				k := ev.App + " " + ev.Message
				if ids[k] == nil {
					ids[k] = map[string]bool{}
				}
				ids[k][ev.ID] = true
				per[k] = true
			}
		}
		return per, ids
	}
	// round r sends perRound events into each leaf; fault runs when both
	// leaves have taken half of them.
	round := func(r int, fault func()) {
		var wg sync.WaitGroup
		var halves []chan struct{}
		for l, addr := range leafAddr {
			wg.Add(1)
			half := make(chan struct{})
			halves = append(halves, half)
			go func() { defer wg.Done(); send(t, addr, l, (r-1)*perRound+1, r*perRound, half) }()
		}
		for _, h := range halves {
			<-h
		}
		fault()
		wg.Wait()
	}
	stored := func(want int) func() bool {
		return func() bool { per, _ := union(); return len(per) >= want }
	}

	// 1: everything up
	round(1, func() {})
	f.waitFor("round 1 stored", 3*time.Minute, stored(2*perRound))
	t.Logf("round 1: %d events stored", 2*perRound)

	// 2: the relay SIGKILLed mid-stream, started again
	round(2, func() {
		if _, err := docker("kill", "-s", "KILL", f.name("relay")); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := docker("start", f.name("relay")); err != nil {
		t.Fatal(err)
	}
	f.waitFor("round 2 stored", 3*time.Minute, stored(4*perRound))
	t.Logf("round 2 (relay killed and restarted): %d events stored", 4*perRound)

	// 3: root1 cut off the network mid-stream, connected again
	before := len(f.stored("root2"))
	round(3, func() {
		if _, err := docker("network", "disconnect", f.net, f.name("root1")); err != nil {
			t.Fatal(err)
		}
	})
	f.waitFor("root2 to take what root1 cannot", 3*time.Minute, func() bool { return len(f.stored("root2")) > before })
	if _, err := docker("network", "connect", "--alias", "root1", "--ip", f.ips["root1"], f.net, f.name("root1")); err != nil {
		t.Fatal(err)
	}
	f.waitFor("round 3 stored", 3*time.Minute, stored(6*perRound))

	per, ids := union()
	both := 0
	for k, set := range ids {
		if len(set) != 1 {
			t.Errorf("%s was given %d IDs (accepted twice): %v", k, len(set), set)
		}
	}
	r1, r2 := f.stored("root1"), f.stored("root2")
	in1 := map[string]bool{}
	for _, ev := range r1 {
		in1[ev.ID] = true
	}
	for _, ev := range r2 {
		if in1[ev.ID] {
			both++
		}
	}
	for l := range leafAddr {
		for s := 1; s <= 3*perRound; s++ {
			if !per[l+" seq="+strconv.Itoa(s)] {
				t.Errorf("%s seq=%d was never stored", l, s)
			}
		}
	}
	t.Logf("%d events sent, %d stored (root1 %d, root2 %d; %d kept by both roots, under one ID each)",
		6*perRound, len(per), len(r1), len(r2), both)
	if t.Failed() {
		t.Log(f.logs())
	}
}
