package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// ssCount counts sockets that `ss -Htan state <state> <filter...>` lists
// inside h.
func ssCount(t *testing.T, h *Host, args ...string) int {
	t.Helper()
	out, err := h.Exec(context.Background(), nil, append([]string{"ss", "-Htan", "state"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

func TestChurnTimeWait(t *testing.T) {
	f := startT(t, Options{Hosts: 1})
	h := f.Hosts[0]
	ctx := context.Background()

	t.Run("client closes", func(t *testing.T) {
		res, err := h.Churn(ctx, ChurnOptions{Port: 6379, N: 2000, ClientCloses: true, Timeout: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Attempted != 2000 || res.Succeeded != 2000 || res.Failed != 0 || res.Port != 6379 {
			t.Fatalf("churn result %+v", res)
		}
		// Client side: one TIME_WAIT per connection, all to 127.0.0.1:6379.
		if n := ssCount(t, h, "time-wait", "dst", "127.0.0.1:6379"); n < 1900 {
			t.Errorf("%d TIME_WAIT sockets to 127.0.0.1:6379, want >= 1900", n)
		}
		if n := ssCount(t, h, "time-wait", "sport", "= :6379"); n != 0 {
			t.Errorf("%d TIME_WAIT sockets on the server port, want 0 when the client closes first", n)
		}
	})

	t.Run("server closes", func(t *testing.T) {
		res, err := h.Churn(ctx, ChurnOptions{Port: 7000, N: 300, Timeout: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Succeeded != 300 || res.Failed != 0 {
			t.Fatalf("churn result %+v", res)
		}
		if n := ssCount(t, h, "time-wait", "sport", "= :7000"); n < 290 {
			t.Errorf("%d TIME_WAIT sockets on local port 7000, want >= 290", n)
		}
		if n := ssCount(t, h, "time-wait", "dst", "127.0.0.1:7000"); n != 0 {
			t.Errorf("%d client-side TIME_WAIT sockets to :7000, want 0 when the server closes first", n)
		}
	})

	t.Run("listen", func(t *testing.T) {
		// A port outside the ephemeral range: a port inside it may be held by
		// an outgoing connection (even in TIME_WAIT), and bind() then fails
		// with EADDRINUSE despite SO_REUSEADDR.
		stop, err := h.Listen(ctx, 61500)
		if err != nil {
			t.Fatal(err)
		}
		if n := ssCount(t, h, "listening", "sport", "= :61500"); n != 1 {
			t.Errorf("%d listeners on :61500, want 1", n)
		}
		stop()
		stop() // idempotent
		if n := ssCount(t, h, "listening", "sport", "= :61500"); n != 0 {
			t.Errorf("%d listeners on :61500 after stop, want 0", n)
		}
		if _, err := h.Listen(ctx, 0); err == nil {
			t.Errorf("Listen(0) accepted")
		}
	})
}

// TestExhaustion documents the kernel behaviour the acceptance tests rely
// on (Linux 6.x, one destination 127.0.0.1:6379, 500 usable ports):
//
//   - tcp_tw_reuse = 0: once every port of the range holds a TIME_WAIT
//     socket to the destination, connect() fails with EADDRNOTAVAIL.
//   - tcp_tw_reuse = 1: ports in TIME_WAIT are reused once older than
//     tcp_tw_reuse_delay (1 s), which lifts the ceiling to about
//     ports / 1 s: paced churn (200/s over 500 ports) never runs out, an
//     unpaced burst of 700 still does (each port is reused once).
//   - tcp_tw_reuse = 2 (the default) means loopback only; churn traffic is
//     loopback, so 2 behaves like 1 here.
func TestExhaustion(t *testing.T) {
	f := startT(t, Options{Hosts: 2})
	ctx := context.Background()
	for _, h := range f.Hosts {
		if got, err := h.Sysctl("net.ipv4.tcp_tw_reuse"); err != nil || got != "2" {
			t.Fatalf("%s: tcp_tw_reuse = %q, %v; want the kernel default 2", h.Name, got, err)
		}
		if err := h.SetSysctl("net.ipv4.ip_local_port_range", "40000 40499"); err != nil {
			t.Fatal(err)
		}
		if got, _ := h.Sysctl("net.ipv4.ip_local_port_range"); got != "40000\t40499" {
			t.Fatalf("ip_local_port_range reads back %q, want tab-separated", got)
		}
	}
	burst := ChurnOptions{Port: 6379, N: 700, ClientCloses: true, Timeout: 60 * time.Second}
	paced := burst
	paced.Rate = 200

	// Host 2, concurrently: the default 2 (loopback only) already reuses on loopback.
	type out struct {
		res ChurnResult
		err error
	}
	h2done := make(chan out, 1)
	go func() {
		r, err := f.Hosts[1].Churn(ctx, paced)
		h2done <- out{r, err}
	}()

	// Host 1: reuse 0 exhausts, then reuse 1 with pacing does not.
	h := f.Hosts[0]
	if err := h.SetSysctl("net.ipv4.tcp_tw_reuse", "0"); err != nil {
		t.Fatal(err)
	}
	res, err := h.Churn(ctx, burst)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tcp_tw_reuse=0, 500 ports, 700 connections: %+v", res)
	// One success per port (a CI run once saw 502: see TestExhaustScenario).
	if res.EADDRNOTAVAIL < 150 || res.Succeeded > 510 || res.Failed != res.EADDRNOTAVAIL || res.Attempted != 700 {
		t.Errorf("with tcp_tw_reuse=0: %+v; want about 200 EADDRNOTAVAIL and about 500 successes", res)
	}
	if !strings.Contains(res.FirstError, "cannot assign requested address") {
		t.Errorf("first error %q", res.FirstError)
	}
	// Still exhausted with reuse 0, even paced: the TIME_WAITs last 60 s.
	if r, err := h.Churn(ctx, ChurnOptions{Port: 6379, N: 20, ClientCloses: true, Rate: 200}); err != nil || r.EADDRNOTAVAIL != 20 {
		t.Errorf("paced churn with reuse 0 right after exhaustion: %+v, %v; want 20 EADDRNOTAVAIL", r, err)
	}
	if err := h.SetSysctl("net.ipv4.tcp_tw_reuse", "1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the TIME_WAITs must be older than tcp_tw_reuse_delay (1 s)
	// Reuse lifts the ceiling to about ports / tcp_tw_reuse_delay
	// connections per second, no more: an unpaced burst of 700 over 500
	// ports reuses each port once and still runs out.
	res, err = h.Churn(ctx, burst)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tcp_tw_reuse=1, unpaced burst: %+v", res)
	if res.Succeeded < 400 || res.EADDRNOTAVAIL < 100 {
		t.Errorf("with tcp_tw_reuse=1, an unpaced burst: %+v; want about 500 successes and 200 EADDRNOTAVAIL", res)
	}
	time.Sleep(1100 * time.Millisecond)
	res, err = h.Churn(ctx, paced)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tcp_tw_reuse=1, paced 200/s: %+v", res)
	if res.Succeeded != 700 || res.Failed != 0 {
		t.Errorf("with tcp_tw_reuse=1 and 200/s: %+v; want no failures", res)
	}

	o := <-h2done
	if o.err != nil {
		t.Fatal(o.err)
	}
	t.Logf("tcp_tw_reuse=2 (default), paced 200/s: %+v", o.res)
	if o.res.Succeeded != 700 || o.res.Failed != 0 {
		t.Errorf("with tcp_tw_reuse=2 on loopback and 200/s: %+v; want no failures", o.res)
	}
}

func TestWorkerMain(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"bogus"}, 2},
		{[]string{"churn", "-n", "0"}, 1},
		{[]string{"churn", "-n", "5", "-addr", "not-an-ip"}, 1},
		{[]string{"churn", "-nope"}, 2},
		{[]string{"listen", "-port", "-3"}, 1},
	} {
		var out, errb bytes.Buffer
		if code := WorkerMain(tc.args, strings.NewReader(""), &out, &errb); code != tc.code {
			t.Errorf("WorkerMain(%q) = %d (%s), want %d", tc.args, code, errb.String(), tc.code)
		}
	}
}

func TestChurnOptionsNormalize(t *testing.T) {
	for _, tc := range []struct {
		o  ChurnOptions
		ok bool
	}{
		{ChurnOptions{N: 1}, true},
		{ChurnOptions{N: 0}, false},
		{ChurnOptions{N: 1_000_001}, false},
		{ChurnOptions{N: 5, Port: 70000}, false},
		{ChurnOptions{N: 5, Rate: -1}, false},
		{ChurnOptions{N: 5, Workers: 1000}, false},
		{ChurnOptions{N: 5, Timeout: 2 * time.Hour}, false},
		{ChurnOptions{N: 5, Addr: "::1"}, true},
	} {
		o := tc.o
		err := o.normalize()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: err = %v, want ok=%v", tc.o, err, tc.ok)
		}
		if err == nil && (o.Addr == "" || o.Timeout <= 0 || o.Workers < 1) {
			t.Errorf("%+v: defaults not applied: %+v", tc.o, o)
		}
	}
}

func TestChurnResultJSON(t *testing.T) {
	r := ChurnResult{Addr: "127.0.0.1", Port: 6379, Attempted: 3, Succeeded: 2, Failed: 1, EADDRNOTAVAIL: 1, Elapsed: 1500 * time.Millisecond}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"eaddrnotavail":1`, `"elapsed_ns":1500000000`, `"port":6379`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back ChurnResult
	if err := json.Unmarshal(b, &back); err != nil || back != r {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// TestExhaustScenario runs the packaged exhaustion scenario: exactly one
// connection per port succeeds and every extra one fails with
// EADDRNOTAVAIL, and the host keeps the narrowed range and reuse 0.
func TestExhaustScenario(t *testing.T) {
	f := startT(t, Options{Hosts: 1})
	h := f.Hosts[0]
	res, err := h.Exhaust(context.Background(), ExhaustOptions{Port: 6379, Low: 40000, High: 40299, Extra: 120})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exhaust: %+v", res)
	// One connection per port, and every further one fails with
	// EADDRNOTAVAIL. Two CI runs under load saw two successes more than
	// ports (302 of 300, 502 of 500), never reproduced here even with the
	// CPUs saturated; the likely cause is a connection that ends without
	// TIME_WAIT (a reset) and so frees its port. Hence the small allowance,
	// and never more TIME_WAIT sockets than ports.
	if res.Attempted != 420 || res.Succeeded < 300 || res.Succeeded > 310 || res.EADDRNOTAVAIL != res.Failed || res.Failed != 420-res.Succeeded || res.Unsettled != 0 {
		t.Errorf("exhaust result %+v; want about 300 of 420 to succeed (one per port) and the rest to fail with EADDRNOTAVAIL", res)
	}
	for k, want := range map[string]string{"net.ipv4.ip_local_port_range": "40000\t40299", "net.ipv4.tcp_tw_reuse": "0"} {
		if got, err := h.Sysctl(k); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", k, got, err, want)
		}
	}
	if n := ssCount(t, h, "time-wait", "dst", "127.0.0.1:6379"); n < 290 || n > 300 {
		t.Errorf("%d TIME_WAIT sockets to 127.0.0.1:6379, want about 300 and never more (one per port)", n)
	}
}

func TestExhaustRefusesOutsideAFleetHost(t *testing.T) {
	// The test process runs in the machine's own network namespace: the
	// scenario must see that, and refuse before writing anything.
	for _, name := range []string{"", "tl000000-1", "cni-1234", "../x"} {
		if err := inFleetNetns(name); err == nil {
			t.Errorf("inFleetNetns(%q) in the test process = nil, want a refusal", name)
		}
	}
	for _, e := range []ExhaustOptions{
		{Port: 6379, Low: 500, High: 600},      // privileged ports
		{Port: 6379, Low: 40100, High: 40000},  // reversed
		{Port: 40050, Low: 40000, High: 40100}, // destination inside the range
		{Port: 0, Low: 40000, High: 40100},     // no destination port
		{Port: 6379, Low: 40000, High: 40100},  // valid, but not in a fleet host
	} {
		if _, err := RunExhaust(context.Background(), e); err == nil || !strings.Contains(err.Error(), "exhaust: ") {
			t.Errorf("RunExhaust(%+v) = %v, want a refusal", e, err)
		}
	}
}
