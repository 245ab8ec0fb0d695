package hostops

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// TestScriptsForkLight counts the programs each script executes (execve,
// traced with strace) and holds them to a budget that does not depend on
// the number of keys or sysctl.d files: a fork per key is what made a
// read cost about 26 execs (a cat and an ls per key, an awk per file).
// Counts, not timings. Needs strace (labtest.Strace).
func TestScriptsForkLight(t *testing.T) {
	st := labtest.Strace(t)
	eight := []Write{
		{Key: "net.ipv4.tcp_tw_reuse", Value: "1"},
		{Key: "net.ipv4.tcp_fin_timeout", Value: "30"},
		{Key: "net.ipv4.tcp_max_tw_buckets", Value: "100000"},
		{Key: "net.ipv4.tcp_timestamps", Value: "2"},
		{Key: "net.ipv4.ip_local_port_range", Value: "10000 65001", Expect: "10000\t65001"},
		{Key: "net.ipv4.ip_local_reserved_ports", Value: "8080"},
		{Key: "net.ipv4.ip_unprivileged_port_start", Value: "80"},
		{Key: "net.core.somaxconn", Value: "8192"},
	}
	var keys []string
	values := map[string]string{}
	for _, w := range eight {
		keys = append(keys, w.Key)
		values[w.Key] = w.Value
	}
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		for i, body := range []string{"net.ipv4.tcp_tw_reuse = 0\n", "net.core.somaxconn = 1024\n", "kernel.pid_max = 1\n"} {
			writeFile(t, filepath.Join(root, "usr/lib/sysctl.d", string(rune('a'+i))+".conf"), body)
		}
		writeFile(t, filepath.Join(root, "etc/sysctl.conf"), "net.ipv4.tcp_fin_timeout = 45\n")
		log := filepath.Join(t.TempDir(), "strace")
		r := sc.runner(root)
		r.Prefix = []string{st, "-f", "-qq", "-z", "-e", "trace=execve", "-o", log}
		// execs is the number of programs the script ran (the shell's
		// own execve is not one of them).
		execs := func(t *testing.T) (int, string) {
			t.Helper()
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			var progs []string
			for _, l := range strings.Split(string(b), "\n") {
				if i := strings.Index(l, `execve("`); i >= 0 {
					progs = append(progs, filepath.Base(strings.SplitN(l[i+len(`execve("`):], `"`, 2)[0]))
				}
			}
			if len(progs) == 0 {
				t.Fatalf("no execve traced in %s", log)
			}
			return len(progs) - 1, strings.Join(progs[1:], " ")
		}
		check := func(t *testing.T, what string, budget int) {
			t.Helper()
			n, progs := execs(t)
			t.Logf("%s: %d execs (%s)", what, n, progs)
			if n > budget {
				t.Errorf("%s ran %d programs (%s), budget %d", what, n, progs, budget)
			}
		}
		content := RenderFile(DefaultMarker, "fork", values, nil)
		apply := ApplyRequest{Owner: testOwner, Writes: eight, PersistPath: persistPath, FileContent: &content}
		read := ReadRequest{Keys: keys, PersistPath: persistPath, Facts: true}

		// ls (root: owner write bits) and awk, for 8 keys and 5 files.
		if _, err := Read(testCtx(t), r, noTarget, read); err != nil {
			t.Fatal(err)
		}
		check(t, "read, no persisted file", 2)
		// mktemp, flock, awk; record: sync, mv, sync; file: mktemp, dd,
		// chmod, mv, sync; awk; rm.
		if _, err := Apply(testCtx(t), r, noTarget, apply); err != nil {
			t.Fatal(err)
		}
		check(t, "apply, 8 keys and a new file", 13)
		if got, err := Read(testCtx(t), r, noTarget, read); err != nil || got.File == nil {
			t.Fatalf("read = %+v, %v", got, err)
		}
		check(t, "read, 8 keys and 6 files", 2)
		// mktemp, flock, awk, cmp, rm (the record is unchanged: not written).
		if res, err := Apply(testCtx(t), r, noTarget, apply); err != nil || len(res.Wrote) != 0 {
			t.Fatalf("no-change apply = %+v, %v", res, err)
		}
		check(t, "apply, nothing to change", 5)
		writeFile(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout"), "60\n")
		// mktemp, flock, awk, cmp, awk, rm.
		if res, err := Apply(testCtx(t), r, noTarget, apply); err != nil || len(res.Wrote) != 1 {
			t.Fatalf("drift repair = %+v, %v", res, err)
		}
		check(t, "apply, one key drifted", 6)
		var restore []Write
		for _, w := range eight {
			restore = append(restore, Write{Key: w.Key, Value: "1"})
		}
		// mktemp, flock, awk, awk, rm (file), sync; record: rm, sync; rm.
		if _, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: testOwner, Restore: restore, PersistPath: persistPath, Marker: DefaultMarker}); err != nil {
			t.Fatal(err)
		}
		check(t, "delete, 8 keys and the file", 9)
	})
}

// TestLongValues: values of 256 bytes or more are read again with cat
// (some awks' first read is short: busybox reads 463 bytes, and /proc/sys
// returns end of file after the first read), values of 1000 bytes or more
// are written by dd; both must round-trip exactly.
func TestLongValues(t *testing.T) {
	ports := func(from, n int) string {
		var b bytes.Buffer
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(from + 2*i))
		}
		return b.String()
	}
	forShells(t, func(t *testing.T, sc shellCase) {
		for _, v := range []string{ports(20000, 100), ports(30000, 400)} { // 599 and 2399 bytes
			root := fakeRoot(t)
			r := sc.runner(root)
			key := "net.ipv4.ip_local_reserved_ports"
			res, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{{Key: key, Value: v}}})
			if err != nil || len(res.Wrote) != 1 {
				t.Fatalf("apply %d bytes = %+v, %v", len(v), res, err)
			}
			if got := procValue(t, root, key); got != v {
				t.Fatalf("written %d bytes, file holds %d", len(v), len(got))
			}
			got, err := Read(testCtx(t), r, noTarget, ReadRequest{Keys: []string{key, "net.ipv4.tcp_tw_reuse"}})
			if err != nil {
				t.Fatal(err)
			}
			if ks := got.Keys[key]; ks.Value != v || !ks.Writable {
				t.Errorf("read %d bytes back as %d bytes (%+v)", len(v), len(ks.Value), ks.Writable)
			}
			if ks := got.Keys["net.ipv4.tcp_tw_reuse"]; ks.Value != "2" {
				t.Errorf("tcp_tw_reuse next to a long value = %+v", ks)
			}
			// Unchanged: the long value compares equal and is not rewritten.
			res, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{{Key: key, Value: v}}})
			if err != nil || len(res.Wrote) != 0 || res.Before[key] != v {
				t.Errorf("second apply = %+v, %v", res, err)
			}
			dr, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: testOwner, Restore: []Write{{Key: key, Value: ""}}})
			if err != nil || len(dr.Restored) != 1 || procValue(t, root, key) != "" {
				t.Errorf("delete = %+v, %v, value %q", dr, err, procValue(t, root, key))
			}
		}
	})
}

// TestScriptBodiesStaySmall: the body travels twice in the command of
// every exec and is held per session, which showed in the provider's peak
// RSS at 200 hosts when the bodies carried their comments (19.5 KB for a
// read). Each body keeps its file's first line, which names it.
func TestScriptBodiesStaySmall(t *testing.T) {
	for _, s := range []struct {
		body, first string
	}{
		{ReadScript.Body, "# read.sh: "},
		{ApplyScript.Body, "# apply.sh: all-or-nothing apply"},
		{DeleteScript.Body, "# delete.sh: "},
	} {
		// Every body starts with the common prelude (hostscript: 1.2 KB,
		// of which 0.5 KB are the host facts from the Go source); apply and
		// delete carry record.sh (the host record and lock, 3.6 KB
		// compacted) and the file move of a rename on top.
		limit := 12600
		if s.body != ReadScript.Body {
			limit = 18000
		}
		if len(s.body) > limit {
			t.Errorf("%q...: %d bytes, want at most %d", s.first, len(s.body), limit)
		}
		if !strings.Contains(s.body, "\n"+s.first) {
			t.Errorf("body lacks its first line %q", s.first)
		}
		if strings.Contains(s.body, "\n\t") || strings.Contains(s.body, "\n\n") {
			t.Errorf("%q...: indentation or blank lines left", s.first)
		}
	}
}
