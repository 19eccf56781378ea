package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"logpacker/appliance"
)

var units = []string{"logpacker.service", "logpacker.socket", "logpacker-tls.socket", "logpacker-relp.socket"}

// need finds a systemd tool; missing, it fails (skips under -short).
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if testing.Short() {
			t.Skipf("%s is not installed (package systemd); skipped under -short", name)
		}
		t.Fatalf("%s is not installed (Debian package systemd): run `make deps`", name)
	}
	return p
}

// TestUnitsVerify runs `systemd-analyze verify` on the units (with
// ExecStart's binary pointed at an existing file: verify checks that it is
// executable) and requires no complaint at all; then `systemd-analyze
// security --offline` with a threshold: the hardening stays "OK" (≤ 2.0).
func TestUnitsVerify(t *testing.T) {
	sa := need(t, "systemd-analyze")
	dir := t.TempDir()
	exe, _ := os.Executable()
	var args []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/usr/bin/logpacker", exe)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "./"+u)
	}
	cmd := exec.Command(sa, append([]string{"verify"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	cmd = exec.Command(sa, "security", "--offline=true", "--threshold=20", "./logpacker.service")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	t.Log(last)
	if err != nil || !strings.Contains(last, "OK") {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
}

// TestUnitsDeclare checks what the units promise: notify with a watchdog,
// no capabilities, the data directory from StateDirectory=, and the socket
// names the node knows ([listen] keys, or syslog).
func TestUnitsDeclare(t *testing.T) {
	svc, err := os.ReadFile("logpacker.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "PrivateTmp=yes", "StateDirectory=logpacker", "User=logpacker",
		"ExecStart=/usr/bin/logpacker run -c /etc/logpacker/server.ini"} {
		if !strings.Contains(string(svc), want) {
			t.Errorf("logpacker.service lacks %q", want)
		}
	}
	for u, name := range map[string]string{"logpacker.socket": "syslog", "logpacker-tls.socket": "syslog_tls", "logpacker-relp.socket": "relp"} {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "\nFileDescriptorName="+name+"\n") || !strings.Contains(string(b), "\nService=logpacker.service\n") {
			t.Errorf("%s: want FileDescriptorName=%s and Service=logpacker.service", u, name)
		}
	}
	// the configuration installed with them loads
	cfg, err := appliance.LoadConfig("server.ini")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.DataDir != "/var/lib/logpacker" {
		t.Errorf("server.ini: data_dir %q, want StateDirectory's /var/lib/logpacker", cfg.Node.DataDir)
	}
}

// TestSysusersTmpfiles applies the sysusers.d and tmpfiles.d snippets to
// an empty root: the user and group exist, data_dir is theirs, mode 0750.
func TestSysusersTmpfiles(t *testing.T) {
	su, tf := need(t, "systemd-sysusers"), need(t, "systemd-tmpfiles")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	abs := func(f string) string { p, _ := filepath.Abs(f); return p }
	if out, err := exec.Command(su, "--root="+root, abs("logpacker.sysusers")).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.HasPrefix(string(passwd), "logpacker:x:") || !strings.Contains(string(passwd), ":/usr/sbin/nologin") {
		t.Fatalf("etc/passwd: %q", passwd)
	}
	if out, err := exec.Command(tf, "--root="+root, "--create", abs("logpacker.tmpfiles")).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(root, "var/lib/logpacker"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("data_dir mode %v", fi.Mode().Perm())
	}
}
