package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// Counts is what happened on one host during one phase.
type Counts struct {
	Connections int `json:"connections"`
	Sessions    int `json:"sessions"`
}

// Spread summarizes a per-host count over the fleet.
type Spread struct {
	Min   int `json:"min"`
	Max   int `json:"max"`
	Total int `json:"total"`
}

func (s Spread) String() string {
	if s.Min == s.Max {
		return strconv.Itoa(s.Min)
	}
	return fmt.Sprintf("%d–%d", s.Min, s.Max)
}

func spread(vals []int) Spread {
	if len(vals) == 0 {
		return Spread{}
	}
	s := Spread{Min: vals[0], Max: vals[0]}
	for _, v := range vals {
		s.Min = min(s.Min, v)
		s.Max = max(s.Max, v)
		s.Total += v
	}
	return s
}

// sshdSnapshot is every host's sshd counters at one moment.
type sshdSnapshot map[string]lab.SSHDStats

func snapshot(hosts []*lab.Host) (sshdSnapshot, error) {
	s := sshdSnapshot{}
	for _, h := range hosts {
		st, err := h.SSHDStats()
		if err != nil {
			return nil, err
		}
		s[h.Name] = st
	}
	return s, nil
}

// sshdDelta is what sshd logged per host between two snapshots.
func sshdDelta(before, after sshdSnapshot) map[string]Counts {
	out := map[string]Counts{}
	for name, a := range after {
		b := before[name]
		out[name] = Counts{Connections: a.Connections - b.Connections, Sessions: a.Sessions - b.Sessions}
	}
	return out
}

// providerLog is what the provider's debug log says it did, per host
// (user@host:port as the transport names it).
type providerLog struct {
	Connections map[string]int
	Execs       map[string]int
	Scripts     map[string]int // script name -> total over all hosts
	// Pools counts provider processes that opened connections: each
	// process's pool numbers its connections from 1.
	Pools int
}

var (
	logConnRE   = regexp.MustCompile(`ssh connection opened:.*?\bhost=(\S+)`)
	logExecRE   = regexp.MustCompile(`ssh script starting:.*?\bhost=(\S+)`)
	logScriptRE = regexp.MustCompile(`\bscript=(\S+)`)
	logFirstRE  = regexp.MustCompile(`\bconnections=1\b`)
)

// parseProviderLog reads a TF_LOG_PATH file written with
// TF_LOG_PROVIDER=DEBUG.
func parseProviderLog(r io.Reader) (providerLog, error) {
	pl := providerLog{Connections: map[string]int{}, Execs: map[string]int{}, Scripts: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := logConnRE.FindStringSubmatch(line); m != nil {
			pl.Connections[trimHost(m[1])]++
			if logFirstRE.MatchString(line) {
				pl.Pools++
			}
		}
		if m := logExecRE.FindStringSubmatch(line); m != nil {
			pl.Execs[trimHost(m[1])]++
			if s := logScriptRE.FindStringSubmatch(line); s != nil {
				pl.Scripts[strings.Trim(s[1], `"`)]++
			}
		}
	}
	return pl, sc.Err()
}

func trimHost(s string) string { return strings.Trim(s, `"`) }

// rssSampler records the peak resident set (VmHWM) of every process whose
// executable is exe while it runs. Every process is looked at on every
// tick: a process that terraform just forked still shows terraform's
// executable until it execs the provider.
type rssSampler struct {
	exe  string
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak map[int]int64 // pid -> VmHWM bytes
}

func startRSS(exe string, every time.Duration) *rssSampler {
	s := &rssSampler{exe: exe, stop: make(chan struct{}), done: make(chan struct{}), peak: map[int]int64{}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err != nil || exe != s.exe {
			continue
		}
		if hwm, ok := vmHWM(pid); ok && hwm >= s.peak[pid] {
			s.peak[pid] = hwm
		}
	}
}

// Stop ends sampling and returns the number of processes seen and the
// largest peak among them.
func (s *rssSampler) Stop() (procs int, peak int64) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.peak {
		peak = max(peak, p)
	}
	return len(s.peak), peak
}

// vmHWM reads a process's peak resident set size in bytes.
func vmHWM(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, "VmHWM:"))
		if len(fields) < 1 {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}
