package tcpstats

import (
	"os/exec"
	"testing"
)

// TestSSAndFallbackAgreeInNetns churns real loopback connections in a
// throwaway network namespace, then reads them with ss and with the /proc
// fallback (dash and busybox): the same counts, and the counts the scenario
// creates.
func TestSSAndFallbackAgreeInNetns(t *testing.T) {
	requireNetns(t)
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("needs ss")
	}
	const scale = 300
	ns := newNetns(t)
	nsWrite(t, ns, "ip_local_reserved_ports", goldenReserved)
	startChurn(t, ns, scale)

	var results []reference
	var names []string
	for _, sh := range shells(t) {
		for _, nss := range []bool{false, true} {
			if sh.path != "" && !nss {
				continue // busybox PATH has no ss: that is the fallback already
			}
			r := &localRunner{sh: sh, ns: ns}
			s, err := DecodeResult(runScript(t, r, Input{Top: MaxTop, NoSS: nss}))
			if err != nil {
				t.Fatal(err)
			}
			want := "ss"
			if nss || sh.path != "" {
				want = "proc"
			}
			if s.Source != want {
				t.Fatalf("%s nss=%v: source %s, want %s", sh.name, nss, s.Source, want)
			}
			results = append(results, fromSnapshot(s))
			names = append(names, sh.name+"/"+s.Source)
		}
	}
	for i := 1; i < len(results); i++ {
		t.Run(names[0]+"=="+names[i], func(t *testing.T) { compareReference(t, results[i], results[0]) })
	}

	c := churnFor(scale)
	got := results[0]
	tw := int64(c.V4To6379 + c.MappedTo6379 + c.V6To8080 + c.To9090 + c.ServerClose7000 + c.ServerClose40000 + 2)
	if got.tw != got.states["TIME_WAIT"] {
		t.Errorf("TIME_WAIT %d, but state TIME_WAIT %d", got.tw, got.states["TIME_WAIT"])
	}
	churned(t, "TIME_WAIT", got.tw, tw)
	if got.states["ESTABLISHED"] != int64(2*(c.Open6379+c.Open8080)) || got.states["LISTEN"] != 5 {
		t.Errorf("states %v", got.states)
	}
	for k, v := range map[string]int64{
		"127.0.0.1 6379": int64(c.V4To6379 + c.MappedTo6379),
		"::1 8080":       int64(c.V6To8080),
		"127.0.0.1 9090": int64(c.To9090),
	} {
		churned(t, "TIME_WAIT to "+k, got.twDst[k], v)
	}
	for k, v := range map[int64]int64{7000: int64(c.ServerClose7000), 40000: int64(c.ServerClose40000), 50001: 1, 1500: 1} {
		if got.twLocal[k] != v {
			t.Errorf("TIME_WAIT on local port %d = %d, want %d", k, got.twLocal[k], v)
		}
	}
	churned(t, "in use to 127.0.0.1:6379", got.inUse["127.0.0.1 6379"], int64(c.V4To6379+c.MappedTo6379+c.Open6379))
	if lost := int64(c.V4To6379+c.MappedTo6379) - got.twDst["127.0.0.1 6379"]; got.inUse["127.0.0.1 6379"] != int64(c.V4To6379+c.MappedTo6379+c.Open6379)-lost {
		t.Errorf("in use to 127.0.0.1:6379 = %d: the TIME_WAIT shortfall (%d) is not the one of its destination", got.inUse["127.0.0.1 6379"], lost)
	}
}

// churned checks a count the churn scenario creates. On a loaded machine a
// churned loopback connection now and then ends without TIME_WAIT (seen:
// 2 of 330, never more than the scenario made), so a count may fall short
// of the scenario by at most 1% (at least 2), never exceed it. The readers'
// agreement with each other is exact (compareReference).
func churned(t *testing.T, what string, got, want int64) {
	t.Helper()
	slack := max(want/100, 2)
	switch {
	case got > want || got < want-slack:
		t.Errorf("%s = %d, want %d (at most %d fewer)", what, got, want, slack)
	case got != want:
		t.Logf("%s = %d of the %d churned (a connection ended without TIME_WAIT)", what, got, want)
	}
}
