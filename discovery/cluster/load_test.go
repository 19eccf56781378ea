package cluster

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"testing"

	"github.com/shirou/gopsutil/v4/cpu"
)

const gib = 1 << 30

// idle is a machine doing nothing: 8 CPUs, 64 GiB with 63 free, 1000 GiB disk with 99% free.
var idle = Load{CPUUser: 0.2, CPUSystem: 0.1, MemFree: 63 * gib, MemTotal: 64 * gib,
	DiskFree: 990 * gib, DiskTotal: 1000 * gib, Load1: 0.02, CPUs: 8}

func with(f func(*Load)) Load {
	l := idle
	f(&l)
	return l
}

func TestSpare(t *testing.T) {
	cases := []struct {
		name       string
		l          Load
		want       float64
		overloaded bool
	}{
		{"idle machine", idle, 0.984, false}, // mem 63/64 is the smallest
		{"cpu 95% busy", with(func(l *Load) { l.CPUUser, l.CPUSystem = 80, 15 }), 0.05, false},
		{"cpu 100% busy", with(func(l *Load) { l.CPUUser, l.CPUSystem = 70, 30 }), SpareFloor, true},
		{"cpu half busy", with(func(l *Load) { l.CPUUser, l.CPUSystem = 40, 10 }), 0.5, false},
		{"disk 2% free", with(func(l *Load) { l.DiskFree = l.DiskTotal * 2 / 100 }), SpareFloor, true},
		{"disk 5% free is the edge", with(func(l *Load) { l.DiskFree = l.DiskTotal * 5 / 100 }), 0.05, false},
		{"disk 30% free", with(func(l *Load) { l.DiskFree = l.DiskTotal * 30 / 100 }), 0.3, false},
		{"disk full", with(func(l *Load) { l.DiskFree = 0 }), SpareFloor, true},
		{"memory 3% available", with(func(l *Load) { l.MemFree = l.MemTotal * 3 / 100 }), SpareFloor, true},
		{"memory 20% available", with(func(l *Load) { l.MemFree = l.MemTotal / 5 }), 0.2, false},
		{"load 1 per CPU", with(func(l *Load) { l.Load1 = 8 }), SpareFloor, true},
		{"load twice the CPUs", with(func(l *Load) { l.Load1 = 16 }), SpareFloor, true},
		{"load half the CPUs", with(func(l *Load) { l.Load1 = 4 }), 0.5, false},
		{"everything overloaded", Load{CPUUser: 100, MemFree: 1, MemTotal: 100, DiskFree: 1, DiskTotal: 100, Load1: 50, CPUs: 2}, SpareFloor, true},
		{"unknown load (zero)", Load{}, SpareUnknown, false},
		{"only cpu known", Load{CPUUser: 30}, 0.7, false},
		{"only disk known, no CPUs", Load{DiskFree: 40, DiskTotal: 100}, 0.4, false},
		{"load ignored without CPUs", Load{Load1: 100, MemFree: 90, MemTotal: 100}, 0.9, false},
		{"NaN cpu counts as idle", with(func(l *Load) { l.CPUUser = math.NaN() }), 0.984, false},
		{"Inf load counts as 0", with(func(l *Load) { l.Load1 = math.Inf(1) }), 0.984, false},
		{"cpu over 100 clamps to floor", Load{CPUUser: 150, CPUs: 1}, SpareFloor, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.l.Spare()
			if math.Abs(got-tc.want) > 0.001 {
				t.Errorf("Spare() = %.4f, want %.4f", got, tc.want)
			}
			if got < SpareFloor || got > 1 {
				t.Errorf("Spare() = %v, outside [%v, 1]", got, SpareFloor)
			}
			if o := tc.l.Overloaded(); o != tc.overloaded {
				t.Errorf("Overloaded() = %v, want %v", o, tc.overloaded)
			}
		})
	}
}

func TestCPUPercent(t *testing.T) {
	a := cpu.TimesStat{User: 100, Nice: 10, System: 50, Idle: 1000, Irq: 5, Softirq: 5, Iowait: 20}
	cases := []struct {
		name               string
		b                  cpu.TimesStat
		wantUser, wantSyst float64
	}{
		{"idle interval", cpu.TimesStat{User: 100, Nice: 10, System: 50, Idle: 1100, Irq: 5, Softirq: 5, Iowait: 20}, 0, 0},
		{"half user, quarter system", cpu.TimesStat{User: 150, Nice: 10, System: 70, Idle: 1025, Irq: 8, Softirq: 7, Iowait: 20}, 50, 25},
		{"nice counts as user", cpu.TimesStat{User: 100, Nice: 110, System: 50, Idle: 1000, Irq: 5, Softirq: 5, Iowait: 20}, 100, 0},
		{"no time passed", a, 0, 0},
		{"counter went backwards", cpu.TimesStat{User: 50, Nice: 10, System: 50, Idle: 2000}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, s := cpuPercent(a, tc.b)
			if math.Abs(u-tc.wantUser) > 1e-9 || math.Abs(s-tc.wantSyst) > 1e-9 {
				t.Errorf("cpuPercent = %v, %v; want %v, %v", u, s, tc.wantUser, tc.wantSyst)
			}
		})
	}
}

// TestMeasure measures this machine: every part must come out (this runs on
// Linux), and CPU percentages start at 0 and stay in range.
func TestMeasure(t *testing.T) {
	m := &measurer{dataDir: t.TempDir(), log: slog.New(slog.DiscardHandler)}
	first := m.measure(context.Background())
	if first.CPUUser != 0 || first.CPUSystem != 0 {
		t.Errorf("first sample has CPU %v/%v, want 0/0", first.CPUUser, first.CPUSystem)
	}
	for i := 0; i < 200000; i++ { // burn a little CPU between samples
		_ = math.Sqrt(float64(i))
	}
	l := m.measure(context.Background())
	if l.CPUs != runtime.NumCPU() {
		t.Errorf("CPUs = %d, want %d", l.CPUs, runtime.NumCPU())
	}
	if l.MemTotal == 0 || l.MemFree == 0 || l.MemFree > l.MemTotal {
		t.Errorf("memory %d of %d", l.MemFree, l.MemTotal)
	}
	if l.DiskTotal == 0 || l.DiskFree > l.DiskTotal {
		t.Errorf("disk %d of %d", l.DiskFree, l.DiskTotal)
	}
	if l.CPUUser < 0 || l.CPUSystem < 0 || l.CPUUser+l.CPUSystem > 100 || l.Load1 < 0 {
		t.Errorf("cpu %v/%v load %v out of range", l.CPUUser, l.CPUSystem, l.Load1)
	}
	if s := l.Spare(); s < SpareFloor || s > 1 {
		t.Errorf("Spare = %v", s)
	}

	// A directory that does not exist: disk stays 0 (unknown), the rest is measured.
	m2 := &measurer{dataDir: "/nonexistent/logpacker-test", log: slog.New(slog.DiscardHandler)}
	l2 := m2.measure(context.Background())
	if l2.DiskTotal != 0 || l2.DiskFree != 0 || l2.MemTotal == 0 {
		t.Errorf("missing data dir: got %+v, want disk 0 and memory measured", l2)
	}
}
