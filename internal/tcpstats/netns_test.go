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
	if got.tw != tw || got.states["TIME_WAIT"] != tw {
		t.Errorf("TIME_WAIT %d (state %d), want %d", got.tw, got.states["TIME_WAIT"], tw)
	}
	if got.states["ESTABLISHED"] != int64(2*(c.Open6379+c.Open8080)) || got.states["LISTEN"] != 5 {
		t.Errorf("states %v", got.states)
	}
	for k, v := range map[string]int64{
		"127.0.0.1 6379": int64(c.V4To6379 + c.MappedTo6379),
		"::1 8080":       int64(c.V6To8080),
		"127.0.0.1 9090": int64(c.To9090),
	} {
		if got.twDst[k] != v {
			t.Errorf("TIME_WAIT to %s = %d, want %d", k, got.twDst[k], v)
		}
	}
	for k, v := range map[int64]int64{7000: int64(c.ServerClose7000), 40000: int64(c.ServerClose40000), 50001: 1, 1500: 1} {
		if got.twLocal[k] != v {
			t.Errorf("TIME_WAIT on local port %d = %d, want %d", k, got.twLocal[k], v)
		}
	}
	if got.inUse["127.0.0.1 6379"] != int64(c.V4To6379+c.MappedTo6379+c.Open6379) {
		t.Errorf("in use to 127.0.0.1:6379 = %d", got.inUse["127.0.0.1 6379"])
	}
}
