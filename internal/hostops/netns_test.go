package hostops

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// TestRealKernelNetns runs the scripts against the real kernel's
// /proc/sys inside a throwaway network namespace (net.* keys only), with
// /etc under a temp dir. Not under -short (no network namespaces); a
// machine without root or iproute2 skips it (fails under TCP_REQUIRE_LAB=1).
func TestRealKernelNetns(t *testing.T) {
	testenv.SkipShort(t)
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Unavailable(t, "needs iproute2 (ip)")
	}
	name := fmt.Sprintf("hops-%d-%d", os.Getpid(), time.Now().UnixNano()%1000000)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	// Guard: the namespace really is a different network namespace.
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "exec", name, "readlink", "/proc/self/ns/net").Output()
	if err != nil || strings.TrimSpace(string(out)) == hostNS {
		t.Fatalf("namespace %s not isolated (%q vs host %q, %v)", name, out, hostNS, err)
	}
	nsValue := func(t *testing.T, key string) string {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", name, "cat", "/proc/sys/"+keyPath(key)).Output()
		if err != nil {
			t.Fatalf("reading %s in %s: %v", key, name, err)
		}
		return strings.TrimSuffix(string(out), "\n")
	}
	hostFin := readFile(t, "/proc/sys/net/ipv4/tcp_fin_timeout")
	hostReuse := readFile(t, "/proc/sys/net/ipv4/tcp_tw_reuse")

	forShells(t, func(t *testing.T, sc shellCase) {
		etc := t.TempDir()
		r := LocalRunner{Shell: sc.shell, Env: sc.env, Proc: "/proc", EtcRoot: etc, Prefix: []string{"ip", "netns", "exec", name}}
		file := filepath.Join(etc, "etc/sysctl.d/90-tcp-tuning.conf")
		orig := nsValue(t, "net.ipv4.tcp_fin_timeout")

		rr, err := Read(testCtx(t), r, noTarget, ReadRequest{Keys: []string{
			"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_mem", "net.core.rmem_default", "net.ipv4.route.flush", "net.ipv4.tcp_tw_recycle",
		}, Facts: true})
		if err != nil {
			t.Fatal(err)
		}
		if ks := rr.Keys["net.ipv4.tcp_fin_timeout"]; !ks.Exists || !ks.Writable || ks.Value != orig {
			t.Errorf("tcp_fin_timeout = %+v, want writable %q", ks, orig)
		}
		if ks := rr.Keys["net.ipv4.tcp_mem"]; ks.Exists {
			t.Errorf("tcp_mem = %+v, want absent in a child namespace", ks)
		}
		if ks := rr.Keys["net.core.rmem_default"]; !ks.Exists || ks.Writable || !ks.Readable {
			t.Errorf("rmem_default = %+v, want read-only in a child namespace", ks)
		}
		if ks := rr.Keys["net.ipv4.route.flush"]; !ks.Exists || ks.Readable || !ks.Writable {
			t.Errorf("route.flush = %+v, want write-only", ks)
		}
		if rr.KernelRelease == "" || rr.UnprivilegedPortStart <= 0 {
			t.Errorf("facts = %q / %d", rr.KernelRelease, rr.UnprivilegedPortStart)
		}

		content := RenderFile(DefaultMarker, "netns", map[string]string{"net.ipv4.tcp_fin_timeout": "33"}, nil)
		ar, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner,
			Writes:      []Write{{Key: "net.ipv4.tcp_fin_timeout", Value: "33"}},
			PersistPath: persistPath, FileContent: &content,
		})
		if err != nil {
			t.Fatal(err)
		}
		if v := nsValue(t, "net.ipv4.tcp_fin_timeout"); v != "33" || ar.Before["net.ipv4.tcp_fin_timeout"] != orig {
			t.Fatalf("after apply: ns value %q (want 33), before %q (want %q)", v, ar.Before["net.ipv4.tcp_fin_timeout"], orig)
		}

		// EINVAL on the second key: the first is rolled back, the file kept.
		other := RenderFile(DefaultMarker, "netns", map[string]string{"net.ipv4.tcp_fin_timeout": "44", "net.ipv4.tcp_tw_reuse": "7"}, nil)
		_, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner,
			Writes:      []Write{{Key: "net.ipv4.tcp_fin_timeout", Value: "44"}, {Key: "net.ipv4.tcp_tw_reuse", Value: "7"}},
			PersistPath: persistPath, FileContent: &other,
		})
		var we *WriteError
		if !errors.As(err, &we) || we.Key != "net.ipv4.tcp_tw_reuse" || we.Value != "7" || we.Errno != "EINVAL" || !we.RolledBack {
			t.Fatalf("err = %v, want rolled back EINVAL on tcp_tw_reuse", err)
		}
		if v := nsValue(t, "net.ipv4.tcp_fin_timeout"); v != "33" {
			t.Errorf("tcp_fin_timeout = %q after rollback, want 33", v)
		}
		if b := readFile(t, file); b != content {
			t.Errorf("file after rollback = %q, want %q", b, content)
		}

		// Global keys are absent (ENOENT) or read-only (EACCES) here.
		_, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{{Key: "net.core.rmem_default", Value: "4096"}}})
		if !errors.As(err, &we) || we.Errno != "EACCES" {
			t.Errorf("rmem_default: err = %v, want EACCES", err)
		}
		_, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{{Key: "net.ipv4.tcp_mem", Value: "1 2 3"}}})
		if !errors.As(err, &we) || we.Errno != "ENOENT" {
			t.Errorf("tcp_mem: err = %v, want ENOENT", err)
		}

		dr, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: testOwner,
			Restore: []Write{{Key: "net.ipv4.tcp_fin_timeout", Value: orig}}, PersistPath: persistPath,
		})
		if err != nil || !dr.FileRemoved || len(dr.Restored) != 1 {
			t.Fatalf("Delete = %+v, %v", dr, err)
		}
		if v := nsValue(t, "net.ipv4.tcp_fin_timeout"); v != orig {
			t.Errorf("tcp_fin_timeout = %q after delete, want %q", v, orig)
		}

		// /proc/sys returns end of file after the first read: a long value
		// must not be cut at an awk's first read (busybox: 463 bytes).
		var ports []string
		for p := 20000; len(strings.Join(ports, ",")) < 1500; p += 2 {
			ports = append(ports, fmt.Sprint(p))
		}
		for _, v := range []string{strings.Join(ports[:100], ","), strings.Join(ports, ",")} {
			const key = "net.ipv4.ip_local_reserved_ports"
			if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{{Key: key, Value: v}}}); err != nil {
				t.Fatalf("apply %d bytes of reserved ports: %v", len(v), err)
			}
			rr, err := Read(testCtx(t), r, noTarget, ReadRequest{Keys: []string{key}})
			if err != nil || rr.Keys[key].Value != v || nsValue(t, key) != v {
				t.Errorf("reserved ports: wrote %d bytes, read %d (%v), kernel has %d", len(v), len(rr.Keys[key].Value), err, len(nsValue(t, key)))
			}
			if dr, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: testOwner, Restore: []Write{{Key: key, Value: ""}}}); err != nil || len(dr.Restored) != 1 || nsValue(t, key) != "" {
				t.Errorf("clearing reserved ports: %+v, %v", dr, err)
			}
		}

		// A key whose read fails (stable_secret: EIO until set) stops mawk:
		// the other keys are still read right.
		if _, err := os.Stat("/proc/sys/net/ipv6/conf/all/stable_secret"); err == nil {
			rr, err := Read(testCtx(t), r, noTarget, ReadRequest{Keys: []string{"net.ipv6.conf.all.stable_secret", "net.ipv4.tcp_fin_timeout"}, Facts: true})
			if err != nil {
				t.Fatal(err)
			}
			if ks := rr.Keys["net.ipv6.conf.all.stable_secret"]; !ks.Exists || ks.Readable || !ks.Writable {
				t.Errorf("stable_secret = %+v, want unreadable and writable", ks)
			}
			if ks := rr.Keys["net.ipv4.tcp_fin_timeout"]; ks.Value != orig {
				t.Errorf("tcp_fin_timeout next to stable_secret = %+v, want %q", ks, orig)
			}
		}

		// Restoring conf.all.forwarding also sets conf.default.forwarding:
		// a key that was already at its value is checked again after the
		// writes, and restored.
		const all, dflt = "net.ipv4.conf.all.forwarding", "net.ipv4.conf.default.forwarding"
		if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{{Key: all, Value: "1"}}}); err != nil {
			t.Fatal(err)
		}
		if nsValue(t, dflt) != "1" {
			t.Skipf("this kernel does not propagate %s to %s", all, dflt)
		}
		dr, err = Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: testOwner, Restore: []Write{{Key: dflt, Value: "1"}, {Key: all, Value: "0"}}})
		if err != nil || len(dr.Restored) != 2 {
			t.Errorf("Delete = %+v, %v; want both restored", dr, err)
		}
		if a, d := nsValue(t, all), nsValue(t, dflt); a != "0" || d != "1" {
			t.Errorf("after delete: all.forwarding = %s (want 0), default.forwarding = %s (want 1)", a, d)
		}
	})

	if readFile(t, "/proc/sys/net/ipv4/tcp_fin_timeout") != hostFin || readFile(t, "/proc/sys/net/ipv4/tcp_tw_reuse") != hostReuse {
		t.Errorf("the host's own values changed")
	}
}
