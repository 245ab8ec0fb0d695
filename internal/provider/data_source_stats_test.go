package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
)

func statsConfig(f *lab.Fleet, h *lab.Host, extra string) string {
	return providerBlock(f) + fmt.Sprintf(`
data "tcp_stats" "h" {
  host = %q
  port = %d
  top  = 5
}
`, h.Addr, h.Port) + extra
}

// nsCount counts sockets inside the host's namespace with ss, the ground
// truth the data source must match.
func nsCount(t *testing.T, h *lab.Host, filter ...string) int64 {
	t.Helper()
	args := append([]string{"ss", "-Htan"}, filter...)
	out, err := h.Exec(context.Background(), nil, args...)
	if err != nil {
		t.Fatalf("ss in %s: %v", h.Name, err)
	}
	n := int64(0)
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

func churn(t *testing.T, h *lab.Host, o lab.ChurnOptions) lab.ChurnResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := h.Churn(ctx, o)
	if err != nil {
		t.Fatalf("churn on %s: %v", h.Name, err)
	}
	if res.Unsettled != 0 {
		t.Fatalf("churn on %s: %d sockets still closing after the run: %+v", h.Name, res.Unsettled, res)
	}
	return res
}

// num reads a number from decoded state JSON.
func num(v any) float64 {
	f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
	if err != nil {
		return -1
	}
	return f
}

func first(attrs map[string]any, list string) (map[string]any, error) {
	l, ok := attrs[list].([]any)
	if !ok || len(l) == 0 {
		return nil, fmt.Errorf("%s is empty", list)
	}
	m, ok := l[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s[0] is not an object", list)
	}
	return m, nil
}

func TestAccStats_clientSideTimeWaitPerDestination(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	res := churn(t, h, lab.ChurnOptions{Port: 6379, N: 2000, ClientCloses: true})
	if res.Succeeded < 2000 {
		t.Fatalf("churn: %+v", res)
	}
	truth := nsCount(t, h, "state", "time-wait")
	counted := time.Now()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config: statsConfig(f, h, ""),
			ConfigStateChecks: []statecheck.StateCheck{resourceCheck{address: "data.tcp_stats.h", fn: func(a map[string]any) error {
				// ss again after the read: the ground truth must have held
				// across it (no socket still closing, none expired yet:
				// TIME_WAIT lasts 60 s, so only a step that took longer than
				// that could see the first ones go, and then the counts are
				// compared as bounds).
				after := nsCount(t, h, "state", "time-wait")
				tw := num(a["time_wait"])
				if tw < 1900 {
					return fmt.Errorf("time_wait = %v, want >= 1900", tw)
				}
				if time.Since(counted) < 50*time.Second {
					if int64(tw) != truth || after != truth {
						return fmt.Errorf("time_wait = %v, want it equal to ss's %d (before the read) and %d (after)", tw, truth, after)
					}
				} else if int64(tw) > truth || int64(tw) < after {
					return fmt.Errorf("time_wait = %v, want it between ss's %d (after the read) and %d (before)", tw, after, truth)
				}
				top, err := first(a, "time_wait_by_destination")
				if err != nil {
					return err
				}
				if top["address"] != "127.0.0.1" || num(top["port"]) != 6379 || num(top["count"]) < 1900 {
					return fmt.Errorf("top destination = %v, want 127.0.0.1:6379 with >= 1900", top)
				}
				if l, _ := a["time_wait_by_local_port"].([]any); len(l) != 0 {
					return fmt.Errorf("client-side churn counted as server side: %v", l)
				}
				if num(a["sockstat_tw"]) < num(a["time_wait"]) {
					return fmt.Errorf("sockstat_tw %v < time_wait %v", a["sockstat_tw"], a["time_wait"])
				}
				states, _ := a["states"].(map[string]any)
				if num(states["TIME_WAIT"]) != num(a["time_wait"]) {
					return fmt.Errorf("states.TIME_WAIT %v != time_wait %v", states["TIME_WAIT"], a["time_wait"])
				}
				return nil
			}}},
		}},
	})
}

func TestAccStats_serverSideTimeWaitPerLocalPort(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	res := churn(t, h, lab.ChurnOptions{Port: 8080, N: 500, ClientCloses: false})
	if res.Succeeded < 500 {
		t.Fatalf("churn: %+v", res)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config: statsConfig(f, h, ""),
			ConfigStateChecks: []statecheck.StateCheck{resourceCheck{address: "data.tcp_stats.h", fn: func(a map[string]any) error {
				top, err := first(a, "time_wait_by_local_port")
				if err != nil {
					return err
				}
				if num(top["port"]) != 8080 || num(top["count"]) < 475 {
					return fmt.Errorf("top local port = %v, want 8080 with >= 475", top)
				}
				if l, _ := a["time_wait_by_destination"].([]any); len(l) != 0 {
					return fmt.Errorf("server-side churn counted per destination: %v", l)
				}
				return nil
			}}},
		}},
	})
}

func TestAccStats_exhaustionThenTuningFixesIt(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	// The lab's exhaustion scenario: 500 usable ports and no TIME_WAIT
	// reuse, set out of band, then 700 connections to one destination.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := h.Exhaust(ctx, lab.ExhaustOptions{Port: 6379, Low: 40000, High: 40499, Extra: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.EADDRNOTAVAIL == 0 || res.Attempted != 700 || res.Unsettled != 0 {
		t.Fatalf("expected EADDRNOTAVAIL with 500 ports and 700 connections: %+v", res)
	}
	t.Logf("before tuning: %d of %d connects failed with EADDRNOTAVAIL", res.EADDRNOTAVAIL, res.Attempted)
	dest := "127.0.0.1:6379"
	exhausted := resourceCheck{address: "data.tcp_stats.h", fn: func(a map[string]any) error {
		pe, _ := a["port_exhaustion"].(map[string]any)
		if pe["address"] != "127.0.0.1" || num(pe["port"]) != 6379 || num(pe["ratio"]) < 0.95 || num(pe["usable"]) != 500 {
			return fmt.Errorf("port_exhaustion = %v, want 127.0.0.1:6379 ratio >= 0.95 of 500", pe)
		}
		recs, _ := a["recommendations"].([]any)
		for _, r := range recs {
			if s, _ := r.(string); strings.Contains(s, dest) && strings.Contains(s, "tcp_tw_reuse") {
				return nil
			}
		}
		return fmt.Errorf("no recommendation names %s and tcp_tw_reuse: %v", dest, recs)
	}}
	// Both levers: reuse TIME_WAIT ports older than tcp_tw_reuse_delay and
	// four times the ports, so the very same unpaced burst fits.
	tuning := `
resource "tcp_tuning" "fix" {
  ` + hostAttrs(h) + `
  tcp_tw_reuse        = 1
  ip_local_port_range = { min = 40000, max = 41999 }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: statsConfig(f, h, ""), ConfigStateChecks: []statecheck.StateCheck{exhausted}},
			{
				Config: statsConfig(f, h, tuning),
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_tw_reuse", "1"),
					expectSysctl(h, "net.ipv4.ip_local_port_range", "40000\t41999"),
					hostCheck{desc: "the same churn runs clean after tuning", fn: func() error {
						res := churn(t, h, lab.ChurnOptions{Port: 6379, N: 700, ClientCloses: true})
						if res.EADDRNOTAVAIL != 0 || res.Failed != 0 {
							return fmt.Errorf("after tcp_tw_reuse = 1: %+v", res)
						}
						return nil
					}},
				},
			},
		},
	})
}

func TestAccStats_fallbackWithoutSS(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	churn(t, h, lab.ChurnOptions{Port: 6380, N: 300, ClientCloses: true})
	churn(t, h, lab.ChurnOptions{Port: 8081, N: 120, ClientCloses: false})

	// A PATH with every command of /usr/bin but ss.
	bin := t.TempDir()
	entries, err := os.ReadDir("/usr/bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "ss" {
			if err := os.Symlink(filepath.Join("/usr/bin", e.Name()), filepath.Join(bin, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	marker := filepath.Join(t.TempDir(), "ss-seen")
	var withSS map[string]any
	record := resourceCheck{address: "data.tcp_stats.h", fn: func(a map[string]any) error { withSS = a; return nil }}
	same := resourceCheck{address: "data.tcp_stats.h", fn: func(a map[string]any) error {
		b, err := os.ReadFile(marker)
		if err != nil || strings.TrimSpace(string(b)) != "none" {
			return fmt.Errorf("the hook did not hide ss (%q, %v)", b, err)
		}
		for _, k := range []string{"time_wait", "time_wait_by_destination", "time_wait_by_local_port", "port_exhaustion", "states"} {
			if fmt.Sprint(a[k]) != fmt.Sprint(withSS[k]) {
				return fmt.Errorf("%s without ss = %v, with ss = %v", k, a[k], withSS[k])
			}
		}
		if num(a["time_wait"]) < 400 {
			return fmt.Errorf("time_wait = %v, want >= 400", a["time_wait"])
		}
		return nil
	}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: statsConfig(f, h, ""), ConfigStateChecks: []statecheck.StateCheck{record}},
			{
				PreConfig: func() {
					hook := fmt.Sprintf("PATH=%s:/usr/sbin:/sbin; export PATH\n(command -v ss || echo none) > %s\n", bin, marker)
					if err := h.SetExecHook(hook); err != nil {
						t.Fatal(err)
					}
				},
				Config:            statsConfig(f, h, ""),
				ConfigStateChecks: []statecheck.StateCheck{same},
			},
		},
	})
}

// activeOpens reads Tcp ActiveOpens inside the host's namespace.
func activeOpens(t *testing.T, h *lab.Host) int64 {
	t.Helper()
	out, err := h.Exec(context.Background(), nil, "cat", "/proc/net/snmp")
	if err != nil {
		t.Fatalf("read /proc/net/snmp in %s: %v", h.Name, err)
	}
	c, err := procnet.ParseNetstat(string(out))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := c.Get("Tcp", "ActiveOpens")
	if !ok {
		t.Fatal("no Tcp ActiveOpens")
	}
	return v
}

// TestAccStats_sampledRatesMatchTheChurn reads tcp_stats with
// sample_seconds while a paced churn runs in the host's namespace: the
// measured new outgoing connections per second must match the churn's own
// count per second (within 30 %), and so must TIME_WAIT created where this
// kernel counts it at creation.
func TestAccStats_sampledRatesMatchTheChurn(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	const rate, n = 100.0, 2500 // 25 s of churn, longer than the read
	type outcome struct {
		res lab.ChurnResult
		err error
	}
	done := make(chan outcome, 1)
	var finished atomic.Bool
	before := activeOpens(t, h)
	go func() {
		res, err := h.Churn(context.Background(), lab.ChurnOptions{Port: 6390, N: n, Rate: rate, ClientCloses: true, Timeout: 2 * time.Minute})
		finished.Store(true)
		done <- outcome{res, err}
	}()
	var measured, created float64
	var countedAt string
	var churnedDuringRead bool
	check := resourceCheck{address: "data.tcp_stats.h", fn: func(a map[string]any) error {
		churnedDuringRead = !finished.Load()
		rt, ok := a["rates"].(map[string]any)
		if !ok {
			return fmt.Errorf("rates = %v, want an object with sample_seconds", a["rates"])
		}
		if s := num(rt["seconds"]); s < 2.9 {
			return fmt.Errorf("rates.seconds = %v, want at least the 3 s asked for", s)
		}
		measured, created = num(rt["new_outgoing_connections"]), num(rt["time_wait_created"])
		countedAt, _ = rt["time_wait_counted_at"].(string)
		if a["tw_reuse"] == "" || a["reuse_delay"] == "" || a["rate_assumptions"] == "" {
			return fmt.Errorf("tw_reuse %q, reuse_delay %q, rate_assumptions %q", a["tw_reuse"], a["reuse_delay"], a["rate_assumptions"])
		}
		return nil
	}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				// The sample must fall inside the churn: wait (bounded)
				// until its connections show in the host's counters.
				for i := 0; activeOpens(t, h) < before+50; i++ {
					if i == 300 {
						t.Fatal("the churn opened no connections in 30 s")
					}
					time.Sleep(100 * time.Millisecond)
				}
			},
			Config: providerBlock(f) + fmt.Sprintf(`
data "tcp_stats" "h" {
  host           = %q
  port           = %d
  sample_seconds = 3
}
`, h.Addr, h.Port),
			ConfigStateChecks: []statecheck.StateCheck{check},
		}},
	})
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if !churnedDuringRead {
		t.Fatalf("the churn (%d connections) ended before the read: the sample may not lie inside it; raise n", n)
	}
	if o.res.Failed != 0 || o.res.Succeeded != n {
		t.Fatalf("churn: %+v", o.res)
	}
	own := float64(o.res.Succeeded) / o.res.Elapsed.Seconds()
	t.Logf("churn: %d connections in %s = %.1f/s; tcp_stats measured %.1f new outgoing/s, %.1f TIME_WAIT created/s (counted at %s)",
		o.res.Succeeded, o.res.Elapsed.Round(time.Millisecond), own, measured, created, countedAt)
	if measured < 0.7*own || measured > 1.3*own {
		t.Errorf("rates.new_outgoing_connections = %.1f, want within 30%% of the churn's own %.1f/s", measured, own)
	}
	rel, err := h.Exec(context.Background(), nil, "cat", "/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	if catalog.FactsFor(string(rel)).TWCountedAtCreation {
		if countedAt != "creation" || created < 0.7*own || created > 1.3*own {
			t.Errorf("rates.time_wait_created = %.1f (counted at %s), want within 30%% of %.1f/s: each churned connection closes first on the client", created, countedAt, own)
		}
	} else if countedAt != "expiry" {
		t.Errorf("time_wait_counted_at = %q on %s", countedAt, rel)
	}
}
