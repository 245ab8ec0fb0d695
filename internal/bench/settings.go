package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// Setting is one of the sysctls every tool applies to every host.
type Setting struct {
	Attr  string // tcp_tuning attribute
	Key   string // sysctl key
	Value string // value as the kernel prints it (fields separated by one space)
}

// Settings are the eight settings of the benchmark: the same on every host
// and for every tool.
var Settings = []Setting{
	{"tcp_tw_reuse", "net.ipv4.tcp_tw_reuse", "1"},
	{"tcp_fin_timeout", "net.ipv4.tcp_fin_timeout", "30"},
	{"tcp_keepalive_time", "net.ipv4.tcp_keepalive_time", "600"},
	{"tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_intvl", "30"},
	{"tcp_keepalive_probes", "net.ipv4.tcp_keepalive_probes", "5"},
	{"somaxconn", "net.core.somaxconn", "8192"},
	{"tcp_max_syn_backlog", "net.ipv4.tcp_max_syn_backlog", "8192"},
	{"ip_local_port_range", "net.ipv4.ip_local_port_range", "10000 65001"},
}

// Drift is the out-of-band change made on every host before a repair run.
const (
	DriftKey   = "net.ipv4.tcp_fin_timeout"
	DriftValue = "45"
)

// Persisted files, one per tool, in the host's /etc/sysctl.d.
const (
	ProviderFile   = "90-tcp-tuning.conf"
	AnsibleFile    = "90-ansible.conf"
	RemoteExecFile = "90-remote-exec.conf"
)

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// baseline is every host's value of every setting before the benchmark.
type baseline map[string]map[string]string

func readBaseline(hosts []*lab.Host) (baseline, error) {
	b := baseline{}
	for _, h := range hosts {
		b[h.Name] = map[string]string{}
		for _, s := range Settings {
			v, err := h.Sysctl(s.Key)
			if err != nil {
				return nil, err
			}
			b[h.Name][s.Key] = v
		}
	}
	return b, nil
}

// reset puts every host back to its baseline values and removes the
// persisted files of every tool.
func reset(hosts []*lab.Host, b baseline) error {
	for _, h := range hosts {
		for _, s := range Settings {
			cur, err := h.Sysctl(s.Key)
			if err != nil {
				return err
			}
			if collapse(cur) == collapse(b[h.Name][s.Key]) {
				continue
			}
			if err := h.SetSysctl(s.Key, b[h.Name][s.Key]); err != nil {
				return err
			}
		}
		for _, f := range []string{ProviderFile, AnsibleFile, RemoteExecFile} {
			if err := os.Remove(filepath.Join(h.SysctlDir(), f)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}

// verifyApplied checks every host has every setting live and in file.
func verifyApplied(hosts []*lab.Host, file string) error {
	for _, h := range hosts {
		for _, s := range Settings {
			got, err := h.Sysctl(s.Key)
			if err != nil {
				return err
			}
			if collapse(got) != s.Value {
				return fmt.Errorf("%s: %s = %q, want %q", h.Name, s.Key, got, s.Value)
			}
		}
		vals, err := readConf(filepath.Join(h.SysctlDir(), file))
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		for _, s := range Settings {
			if collapse(vals[s.Key]) != s.Value {
				return fmt.Errorf("%s: %s has %s = %q, want %q", h.Name, file, s.Key, vals[s.Key], s.Value)
			}
		}
	}
	return nil
}

// verifyRestored checks every host has its baseline values and no file.
func verifyRestored(hosts []*lab.Host, b baseline, file string) error {
	for _, h := range hosts {
		for _, s := range Settings {
			got, err := h.Sysctl(s.Key)
			if err != nil {
				return err
			}
			if collapse(got) != collapse(b[h.Name][s.Key]) {
				return fmt.Errorf("%s: %s = %q after destroy, want the original %q", h.Name, s.Key, got, b[h.Name][s.Key])
			}
		}
		if _, err := os.Stat(filepath.Join(h.SysctlDir(), file)); err == nil {
			return fmt.Errorf("%s: %s still exists after destroy", h.Name, file)
		}
	}
	return nil
}

// drift changes DriftKey out of band on every host.
func drift(hosts []*lab.Host) error {
	for _, h := range hosts {
		if err := h.SetSysctl(DriftKey, DriftValue); err != nil {
			return err
		}
	}
	return nil
}

// readConf parses "key = value" lines of a sysctl.d file.
func readConf(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConf(string(b)), nil
}

func parseConf(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}
