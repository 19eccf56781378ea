package vm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/sink/mysql/mariadbtest"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// seedDrive makes a NoCloud seed drive (vfat, label CIDATA) with meta-data
// and logpacker/server.ini, with mtools: no mount.
func seedDrive(t *testing.T, dir, hostname, serverINI string) string {
	t.Helper()
	img := filepath.Join(dir, "seed.img")
	os.WriteFile(filepath.Join(dir, "meta-data"), []byte("instance-id: test-1\nlocal-hostname: "+hostname+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "server.ini"), []byte(serverINI), 0o644)
	run(t, "mkfs.vfat", "-n", "CIDATA", "-C", img, "2048")
	run(t, "mmd", "-i", img, "::logpacker")
	run(t, "mcopy", "-i", img, filepath.Join(dir, "meta-data"), "::meta-data")
	run(t, "mcopy", "-i", img, filepath.Join(dir, "server.ini"), "::logpacker/server.ini")
	return img
}

func TestVMIntegration(t *testing.T) {
	if os.Getenv("LOGPACKER_VM_TEST") != "1" {
		t.Skip("boots the VM image: run `make test-vm` (builds it with make vm-image), not part of make test")
	}
	images := os.Getenv("LOGPACKER_VM_DIR")
	if images == "" {
		images = "../../bin/vm"
	}
	for _, f := range []string{"logpacker.qcow2", "vmlinuz", "initrd.img"} {
		if _, err := os.Stat(filepath.Join(images, f)); err != nil {
			t.Fatalf("%v: run make vm-image", err)
		}
	}
	dir := t.TempDir()
	base, _ := filepath.Abs(filepath.Join(images, "logpacker.qcow2"))
	disk := filepath.Join(dir, "disk.qcow2") // the image stays as built
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", disk)
	const token = "vm-test-token"
	seed := seedDrive(t, dir, "lp-vm-test", "[node]\ndata_dir = /var/lib/logpacker\n[listen]\nsyslog_udp = 0.0.0.0:514\nsyslog_tcp = 0.0.0.0:514\nhttp = 0.0.0.0:8080\n[api]\ntoken = "+token+"\n")
	syslogPort, httpPort := mariadbtest.FreePort(t), mariadbtest.FreePort(t)
	console := filepath.Join(dir, "console.log")
	args := []string{"-m", "1024", "-smp", "2", "-display", "none", "-no-reboot",
		"-serial", "file:" + console,
		"-kernel", filepath.Join(images, "vmlinuz"), "-initrd", filepath.Join(images, "initrd.img"),
		"-append", "root=/dev/vda rw console=ttyS0 panic=-1 systemd.journald.forward_to_console=1",
		"-drive", "file=" + disk + ",if=virtio,format=qcow2",
		"-drive", "file=" + seed + ",if=virtio,format=raw,readonly=on",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:514,hostfwd=tcp:127.0.0.1:%d-:8080", syslogPort, httpPort),
		"-device", "virtio-net-pci,netdev=n0"}
	// software emulation: /dev/kvm can be present and still hang (nested
	// virtualisation); LOGPACKER_VM_ACCEL=kvm where it works
	accel := "tcg"
	if a := os.Getenv("LOGPACKER_VM_ACCEL"); a != "" {
		accel = a
	}
	args = append(args, "-accel", accel)
	t.Logf("booting with %s", accel)
	qemu := exec.Command("qemu-system-x86_64", args...)
	qout, _ := os.Create(filepath.Join(dir, "qemu.log"))
	qemu.Stdout, qemu.Stderr = qout, qout
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- qemu.Wait() }()
	t.Cleanup(func() { qemu.Process.Kill(); <-exited })
	consoleTail := func() string {
		b, _ := os.ReadFile(console)
		q, _ := os.ReadFile(filepath.Join(dir, "qemu.log"))
		s := string(b)
		if len(s) > 4000 {
			s = s[len(s)-4000:]
		}
		return s + "\n--- qemu:\n" + string(q)
	}
	start := time.Now()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			select {
			case err := <-exited:
				t.Fatalf("qemu exited (%v) while waiting for %s\n%s", err, what, consoleTail())
			default:
			}
			if time.Since(start) > 15*time.Minute {
				t.Fatalf("timed out waiting for %s\n%s", what, consoleTail())
			}
			time.Sleep(time.Second)
		}
		t.Logf("%s after %s", what, time.Since(start).Round(time.Second))
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", httpPort, path), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor("/healthz", func() bool { c, _ := get("/healthz"); return c == 200 })
	waitFor("/readyz", func() bool { c, _ := get("/readyz"); return c == 200 })

	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", syslogPort), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(c)
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(w, "<134>1 2026-12-02T12:00:00Z vmhost vmtest - - - vm seq=%d\n", i)
	}
	w.Flush()
	c.Close()
	var st struct {
		Node string `json:"node"`
		WAL  struct {
			Last uint64 `json:"last_index"`
		} `json:"wal"`
	}
	waitFor("100 events in the VM's WAL", func() bool {
		code, body := get("/api/v1/status")
		return code == 200 && json.Unmarshal([]byte(body), &st) == nil && st.WAL.Last >= 100
	})
	if !strings.HasPrefix(st.Node, "lp-vm-test-") {
		t.Errorf("node ID %q: the seed drive's local-hostname was not applied", st.Node)
	}
	waitFor("the events in the store", func() bool {
		code, body := get("/api/v1/hits?step=24h&from=2026-01-01T00:00:00Z")
		var h struct{ Total int }
		return code == 200 && json.Unmarshal([]byte(body), &h) == nil && h.Total >= 100
	})
	con, _ := os.ReadFile(console)
	text := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`).ReplaceAllString(string(con), "") // systemd's colours
	for _, want := range []string{"Finished logpacker-firstboot.service", "Listening on logpacker.soc", "Started logpacker.service"} {
		if !strings.Contains(text, want) {
			t.Errorf("the console lacks %q (systemd's report)\n%s", want, consoleTail())
		}
	}
}
