package cluster

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"sync"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// Load is what a member publishes about itself, refreshed every
// Options.LoadInterval. A field that could not be measured is 0; a zero Total
// means "unknown" and that part of the load is left out of Spare. Its JSON
// form (in Member's, and a node's [cluster] load_file) has the snake_case
// keys of the tags; the gossiped metadata has its own compact form (meta.go).
type Load struct {
	CPUUser   float64 `json:"cpu_user"`   // percent of all CPUs busy in user mode (user+nice) over the last interval; 0 on the first sample
	CPUSystem float64 `json:"cpu_system"` // percent of all CPUs busy in the kernel (system+irq+softirq) over the last interval
	MemFree   uint64  `json:"mem_free"`   // bytes available (MemAvailable: free plus reclaimable)
	MemTotal  uint64  `json:"mem_total"`  // bytes of RAM
	DiskFree  uint64  `json:"disk_free"`  // bytes free on the filesystem holding Options.DataDir
	DiskTotal uint64  `json:"disk_total"` // size of that filesystem
	Load1     float64 `json:"load1"`      // 1-minute load average
	CPUs      int     `json:"cpus"`       // logical CPUs (runtime.NumCPU)
}

// Knobs of Spare (see doc.go, "Spare capacity").
const (
	// SpareFloor is the least Spare a member that publishes its load gets:
	// an overloaded member. It is above 0 so that weights never sum to 0 and
	// an all-overloaded cluster still shares the load evenly.
	SpareFloor = 0.01
	// SpareUnknown is the Spare of a member whose load is unknown (zero Load:
	// no metadata yet, or metadata that did not decode): middling, so such a
	// member is neither preferred nor starved.
	SpareUnknown = 0.5
	// LowFree is the fraction of free memory or disk below which a member
	// counts as overloaded (Spare = SpareFloor) whatever its CPU does: a
	// node that cannot write its WAL, or is about to swap, must not attract
	// more links.
	LowFree = 0.05
)

// IsZero reports whether nothing is known about the load.
func (l Load) IsZero() bool { return l == Load{} }

// Spare is the member's spare capacity in [SpareFloor, 1], the weight relay
// clients balance their links by. It is the smallest of the fractions that
// are known:
//
//	cpu   1 - (CPUUser+CPUSystem)/100
//	run   1 - Load1/CPUs              (when CPUs > 0; load above CPUs counts as 0)
//	mem   MemFree/MemTotal            (when MemTotal > 0; below LowFree counts as 0)
//	disk  DiskFree/DiskTotal          (when DiskTotal > 0; below LowFree counts as 0)
//
// clamped to [SpareFloor, 1]. A zero Load gives SpareUnknown.
func (l Load) Spare() float64 {
	if l.IsZero() {
		return SpareUnknown
	}
	s := 1 - (finite(l.CPUUser)+finite(l.CPUSystem))/100
	if l.CPUs > 0 {
		s = math.Min(s, 1-finite(l.Load1)/float64(l.CPUs))
	}
	if l.MemTotal > 0 {
		s = math.Min(s, freeFrac(l.MemFree, l.MemTotal))
	}
	if l.DiskTotal > 0 {
		s = math.Min(s, freeFrac(l.DiskFree, l.DiskTotal))
	}
	return math.Max(SpareFloor, math.Min(1, s))
}

// Overloaded reports whether Spare is at its floor: CPU or run queue
// saturated, or memory or disk below LowFree. Relay clients should use an
// overloaded member only when every candidate is overloaded.
func (l Load) Overloaded() bool { return !l.IsZero() && l.Spare() <= SpareFloor }

func freeFrac(free, total uint64) float64 {
	f := float64(free) / float64(total)
	if f < LowFree {
		return 0
	}
	return f
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// measurer measures the local load with gopsutil. It keeps the previous CPU
// times so that CPU percentages are over the interval between two samples.
type measurer struct {
	dataDir string
	log     *slog.Logger

	mu       sync.Mutex
	prev     cpu.TimesStat
	havePrev bool
}

// measure never fails: a part that cannot be measured stays 0 and the error
// is logged at debug level.
func (m *measurer) measure(ctx context.Context) Load {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := Load{CPUs: runtime.NumCPU()}

	if ts, err := cpu.TimesWithContext(ctx, false); err != nil || len(ts) == 0 {
		m.log.Debug("discovery/cluster: measure cpu times", "err", err)
	} else {
		if m.havePrev {
			l.CPUUser, l.CPUSystem = cpuPercent(m.prev, ts[0])
		}
		m.prev, m.havePrev = ts[0], true
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		m.log.Debug("discovery/cluster: measure memory", "err", err)
	} else {
		l.MemFree, l.MemTotal = vm.Available, vm.Total
	}
	if m.dataDir != "" {
		if du, err := disk.UsageWithContext(ctx, m.dataDir); err != nil {
			m.log.Debug("discovery/cluster: measure disk", "dir", m.dataDir, "err", err)
		} else {
			l.DiskFree, l.DiskTotal = du.Free, du.Total
		}
	}
	if la, err := load.AvgWithContext(ctx); err != nil {
		m.log.Debug("discovery/cluster: measure load average", "err", err)
	} else {
		l.Load1 = la.Load1
	}
	return l
}

// cpuPercent returns the user and system percentages of all CPUs between two
// cumulative samples. On Linux guest time is already inside user and nice,
// so it is not counted twice. A counter that went backwards (CPU hotplug,
// wrap) gives 0, 0.
func cpuPercent(a, b cpu.TimesStat) (user, system float64) {
	total := func(t cpu.TimesStat) float64 {
		s := t.Total()
		if runtime.GOOS == "linux" {
			s -= t.Guest + t.GuestNice
		}
		return s
	}
	dt := total(b) - total(a)
	du := (b.User + b.Nice) - (a.User + a.Nice)
	ds := (b.System + b.Irq + b.Softirq) - (a.System + a.Irq + a.Softirq)
	if !(dt > 0) || du < 0 || ds < 0 {
		return 0, 0
	}
	user = math.Min(100, 100*du/dt)
	system = math.Min(100-user, 100*ds/dt)
	return user, system
}
