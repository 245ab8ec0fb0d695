package tuning

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// The fake host: a few net.ipv4 keys at their kernel defaults.
var defaults = map[string]string{
	"net.ipv4.tcp_fin_timeout":         "60",
	"net.ipv4.tcp_keepalive_time":      "7200",
	"net.ipv4.tcp_tw_reuse":            "2",
	"net.ipv4.ip_local_port_range":     "32768\t60999",
	"net.ipv4.ip_local_reserved_ports": "",
	"net.ipv4.tcp_timestamps":          "1",
}

func procPath(root, key string) string {
	return filepath.Join(root, "proc/sys", strings.ReplaceAll(key, ".", "/"))
}

// fakeHost is a fake root with the default keys and an empty /etc/sysctl.d,
// and a runner for it (dash when installed, else sh).
func fakeHost(t *testing.T) (string, hostops.LocalRunner) {
	t.Helper()
	root := t.TempDir()
	for k, v := range defaults {
		p := procPath(root, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"proc/sys/kernel", "etc/sysctl.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "proc/sys/kernel/osrelease"), []byte("6.1.0-test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shell := "sh"
	if _, err := exec.LookPath("dash"); err == nil {
		shell = "dash"
	}
	return root, hostops.LocalRunner{Shell: shell, Root: root}
}

func live(t *testing.T, root, key string) string {
	t.Helper()
	b, err := os.ReadFile(procPath(root, key))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var noTarget sshx.Target

// read is what the provider reads before an apply (facts included).
func read(t *testing.T, r hostops.Runner, spec Spec, prior *Prior) *hostops.ReadResult {
	t.Helper()
	keys := []string{}
	for k := range spec.Desired {
		keys = append(keys, k)
	}
	if prior != nil {
		for k := range prior.Desired {
			keys = append(keys, k)
		}
	}
	res, err := hostops.Read(ctx(t), r, noTarget, hostops.ReadRequest{Keys: keys, PersistPath: spec.PersistPath, Facts: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func spec(name string, persist bool, desired map[string]string) Spec {
	return Spec{Name: name, PersistPath: "/etc/sysctl.d/90-" + name + ".conf", Persist: persist, Desired: desired}
}

// apply runs one apply as the provider does: read, then apply.
func apply(t *testing.T, r hostops.Runner, s Spec, prior *Prior) (*Applied, error) {
	t.Helper()
	return Apply(ctx(t), r, noTarget, s, prior, read(t, r, s, prior))
}

func mustApply(t *testing.T, r hostops.Runner, s Spec, prior *Prior) *Applied {
	t.Helper()
	a, err := apply(t, r, s, prior)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// expectDefaults fails unless every key is back at its kernel default.
func expectDefaults(t *testing.T, root string) {
	t.Helper()
	for k, v := range defaults {
		if got := live(t, root, k); got != v {
			t.Errorf("%s = %q, want its original %q", k, got, v)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record")); err == nil {
		b, _ := os.ReadFile(filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record"))
		t.Errorf("host record left behind: %q", b)
	}
}

// An update that adds a key, interrupted after the host took the new
// value: state never learns the original. The next apply takes it from the
// host's record, not from the tuned live value, and destroy restores it.
func TestUpdateInterruptedAfterHostWrite(t *testing.T) {
	for _, persist := range []bool{true, false} {
		t.Run(map[bool]string{true: "persist", false: "no persist"}[persist], func(t *testing.T) {
			root, r := fakeHost(t)
			s1 := spec("web", persist, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
			a1 := mustApply(t, r, s1, nil)
			state := &Prior{Spec: s1, Originals: a1.Originals}

			s2 := spec("web", persist, map[string]string{"net.ipv4.tcp_fin_timeout": "30", "net.ipv4.tcp_keepalive_time": "600"})
			mustApply(t, r, s2, state) // the provider dies here: state keeps s1
			if got := live(t, root, "net.ipv4.tcp_keepalive_time"); got != "600" {
				t.Fatalf("keepalive_time = %q after the interrupted update, want 600", got)
			}

			facts := read(t, r, s2, state)
			if got := Recovered(s2, state, facts); len(got) != 1 || got[0] != "net.ipv4.tcp_keepalive_time" {
				t.Errorf("Recovered = %v, want the key state lacks", got)
			}
			a2, err := Apply(ctx(t), r, noTarget, s2, state, facts)
			if err != nil {
				t.Fatal(err)
			}
			if got := a2.Originals["net.ipv4.tcp_keepalive_time"]; got != "7200" {
				t.Errorf("original of keepalive_time = %q, want 7200 (the host's record), not the tuned 600", got)
			}
			if persist {
				b, _ := os.ReadFile(filepath.Join(root, "etc/sysctl.d/90-web.conf"))
				if !strings.Contains(string(b), "# original: net.ipv4.tcp_keepalive_time = 7200") {
					t.Errorf("persisted file lost the true original:\n%s", b)
				}
			}
			// Destroy with the state that lacks the key: the record knows.
			if _, err := Delete(ctx(t), r, noTarget, s1, state.Originals, true); err != nil {
				t.Fatal(err)
			}
			expectDefaults(t, root)
		})
	}
}

// A create interrupted after the first live write (persist = false leaves
// no file): the next create adopts the host's record.
func TestCreateInterruptedAfterHostWrite(t *testing.T) {
	root, r := fakeHost(t)
	s := spec("redis", false, map[string]string{"net.ipv4.tcp_tw_reuse": "1", "net.ipv4.ip_local_port_range": "10000 65001"})
	mustApply(t, r, s, nil) // state is never written
	facts := read(t, r, s, nil)
	if got := OwnedBy(facts, "redis"); len(got) != 2 {
		t.Errorf("record entries for redis = %v, want both keys", got)
	}
	a := mustApply(t, r, s, nil)
	want := map[string]string{"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768 60999"}
	if !maps.Equal(a.Originals, want) {
		t.Errorf("originals = %v, want %v (from the host's record)", a.Originals, want)
	}
	if _, err := Delete(ctx(t), r, noTarget, s, a.Originals, true); err != nil {
		t.Fatal(err)
	}
	expectDefaults(t, root)
}

// Destroy interrupted after the values went back but before the record
// shrank, then run again: harmless, and the record goes.
func TestDeleteTwice(t *testing.T) {
	root, r := fakeHost(t)
	s := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
	a := mustApply(t, r, s, nil)
	for i := 0; i < 2; i++ {
		if _, err := Delete(ctx(t), r, noTarget, s, a.Originals, true); err != nil {
			t.Fatalf("delete %d: %v", i+1, err)
		}
	}
	expectDefaults(t, root)
}

// A removed setting goes back to the record's original, even when state's
// original is wrong.
func TestRemovedKeyRestoredFromRecord(t *testing.T) {
	root, r := fakeHost(t)
	s1 := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30", "net.ipv4.tcp_keepalive_time": "600"})
	mustApply(t, r, s1, nil)
	wrong := &Prior{Spec: s1, Originals: map[string]string{"net.ipv4.tcp_fin_timeout": "30", "net.ipv4.tcp_keepalive_time": "600"}}
	s2 := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
	a := mustApply(t, r, s2, wrong)
	if got := live(t, root, "net.ipv4.tcp_keepalive_time"); got != "7200" {
		t.Errorf("keepalive_time = %q after its removal, want the recorded 7200", got)
	}
	if a.Originals["net.ipv4.tcp_fin_timeout"] != "60" {
		t.Errorf("originals = %v, want fin_timeout 60 from the record", a.Originals)
	}
}

// Two resources (two states) asking for one key: the second is refused,
// at plan (Conflicts) and at apply, and never both win.
func TestSecondOwnerRefused(t *testing.T) {
	root, r := fakeHost(t)
	a := spec("a", false, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
	mustApply(t, r, a, nil)
	b := spec("b", true, map[string]string{"net.ipv4.tcp_fin_timeout": "20", "net.ipv4.tcp_tw_reuse": "1"})
	facts := read(t, r, b, nil)
	if got := Conflicts(b, facts); len(got) != 1 || got[0] != (Conflict{Key: "net.ipv4.tcp_fin_timeout", Owner: "a"}) {
		t.Errorf("Conflicts = %v, want fin_timeout owned by a", got)
	}
	_, err := Apply(ctx(t), r, noTarget, b, nil, facts)
	var oe *hostops.OwnedError
	if !errors.As(err, &oe) || oe.Owner != "a" || oe.Key != "net.ipv4.tcp_fin_timeout" {
		t.Fatalf("err = %v, want an OwnedError naming a", err)
	}
	if OutcomeUnknown(err) {
		t.Errorf("an ownership refusal is a known outcome (nothing changed)")
	}
	if live(t, root, "net.ipv4.tcp_fin_timeout") != "30" || live(t, root, "net.ipv4.tcp_tw_reuse") != "2" {
		t.Errorf("the refused apply changed the host")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/90-b.conf")); err == nil {
		t.Errorf("the refused apply wrote its file")
	}
}

// A rename (and a new priority) is applied in place: the file moves, the
// record's entries follow with their originals, keys no longer set go back,
// and the values are never restored in between.
func TestRenameInPlace(t *testing.T) {
	root, r := fakeHost(t)
	old := spec("old", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30", "net.ipv4.tcp_tw_reuse": "1"})
	old.PersistPath = "/etc/sysctl.d/70-old.conf"
	ao := mustApply(t, r, old, nil)
	nw := spec("new", true, map[string]string{"net.ipv4.tcp_fin_timeout": "25"})
	prior := &Prior{Spec: old, Originals: ao.Originals}
	facts := read(t, r, nw, prior)
	nw.Replaces = "old"
	if c := Conflicts(nw, facts); len(c) != 0 {
		t.Errorf("Conflicts = %v for the keys of the previous name, want none", c)
	}
	nw.Replaces = ""
	an, err := Apply(ctx(t), r, noTarget, nw, prior, facts)
	if err != nil {
		t.Fatal(err)
	}
	if an.Originals["net.ipv4.tcp_fin_timeout"] != "60" {
		t.Errorf("originals after the rename = %v, want fin_timeout's 60", an.Originals)
	}
	if live(t, root, "net.ipv4.tcp_fin_timeout") != "25" || live(t, root, "net.ipv4.tcp_tw_reuse") != "2" {
		t.Errorf("fin_timeout = %s, tw_reuse = %s; want 25 and the original 2", live(t, root, "net.ipv4.tcp_fin_timeout"), live(t, root, "net.ipv4.tcp_tw_reuse"))
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/70-old.conf")); err == nil {
		t.Errorf("the old file was not moved away")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/90-new.conf")); err != nil {
		t.Errorf("the new file is missing: %v", err)
	}
	if got := OwnedBy(read(t, r, nw, nil), "old"); len(got) != 0 {
		t.Errorf("the old name still owns %v", got)
	}
	if _, err := Delete(ctx(t), r, noTarget, nw, an.Originals, true); err != nil {
		t.Fatal(err)
	}
	expectDefaults(t, root)
}

// create_before_destroy (or -replace) with the same name: the new object
// adopts the keys; the old object's delete, superseded, removes only a
// file at another path and leaves the keys to the new one.
func TestSupersededDelete(t *testing.T) {
	root, r := fakeHost(t)
	old := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
	old.PersistPath = "/etc/sysctl.d/70-web.conf"
	ao := mustApply(t, r, old, nil)
	nw := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "25"})
	an := mustApply(t, r, nw, nil) // the create of the new object
	if an.Originals["net.ipv4.tcp_fin_timeout"] != "60" {
		t.Errorf("the new object's originals = %v, want the recorded 60", an.Originals)
	}
	if _, err := DeleteSuperseded(ctx(t), r, noTarget, old, nw.PersistPath); err != nil {
		t.Fatal(err)
	}
	if live(t, root, "net.ipv4.tcp_fin_timeout") != "25" {
		t.Errorf("the superseded delete restored a key the new object holds")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/70-web.conf")); err == nil {
		t.Errorf("the old object's file was left")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/90-web.conf")); err != nil {
		t.Errorf("the new object's file was removed: %v", err)
	}
	_ = ao
	if _, err := Delete(ctx(t), r, noTarget, nw, an.Originals, true); err != nil {
		t.Fatal(err)
	}
	expectDefaults(t, root)
}

// restore_on_destroy = false: values stay, the record entries go.
func TestDeleteWithoutRestore(t *testing.T) {
	root, r := fakeHost(t)
	s := spec("web", false, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
	a := mustApply(t, r, s, nil)
	res, err := Delete(ctx(t), r, noTarget, s, a.Originals, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kept) != 1 || live(t, root, "net.ipv4.tcp_fin_timeout") != "30" {
		t.Errorf("delete = %+v, fin_timeout = %s; want it kept at 30", res, live(t, root, "net.ipv4.tcp_fin_timeout"))
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record")); err == nil {
		t.Errorf("record entries left after the resource is gone")
	}
}

// cutRunner runs the script for real and loses its answer, as a dropped
// connection does.
type cutRunner struct{ hostops.Runner }

func (c cutRunner) Run(ctx context.Context, t sshx.Target, s sshx.Script, stdin []byte) (*sshx.Result, error) {
	res, err := c.Runner.Run(ctx, t, s, stdin)
	if err != nil {
		return nil, err
	}
	res.Stdout = res.Stdout[:len(res.Stdout)/2]
	return res, nil
}

// Outcome unknown: the state to keep holds the planned settings, the keys
// being given back and every original, so nothing is lost.
func TestOutcomeUnknownKeepsEverything(t *testing.T) {
	root, r := fakeHost(t)
	s1 := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30", "net.ipv4.tcp_keepalive_time": "600"})
	a1 := mustApply(t, r, s1, nil)
	prior := &Prior{Spec: s1, Originals: a1.Originals}
	s2 := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "31", "net.ipv4.tcp_tw_reuse": "1"})
	_, err := Apply(ctx(t), cutRunner{r}, noTarget, s2, prior, read(t, r, s2, prior))
	var f *Failure
	if !errors.As(err, &f) || !f.Unknown || f.Keep == nil {
		t.Fatalf("err = %v, want an outcome-unknown Failure with a state to keep", err)
	}
	wantKeys := map[string]string{"net.ipv4.tcp_fin_timeout": "31", "net.ipv4.tcp_tw_reuse": "1", "net.ipv4.tcp_keepalive_time": "600"}
	if !maps.Equal(f.Keep.Desired, wantKeys) {
		t.Errorf("kept settings = %v, want %v", f.Keep.Desired, wantKeys)
	}
	wantOrig := map[string]string{"net.ipv4.tcp_fin_timeout": "60", "net.ipv4.tcp_tw_reuse": "2", "net.ipv4.tcp_keepalive_time": "7200"}
	if !maps.Equal(f.Keep.Originals, wantOrig) {
		t.Errorf("kept originals = %v, want %v", f.Keep.Originals, wantOrig)
	}
	// Recovery: the next apply from the kept state converges, and destroy
	// restores everything.
	a, err := apply(t, r, s2, f.Keep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Delete(ctx(t), r, noTarget, s2, a.Originals, true); err != nil {
		t.Fatal(err)
	}
	expectDefaults(t, root)
}

// The host lock: a holder for the whole wait means "busy", naming it, and
// nothing changes.
func TestLockHeldByAnother(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) is not installed")
	}
	root, r := fakeHost(t)
	// Another operation holds the lock (flock on the directory) and has
	// named itself in the note.
	dir := filepath.Join(root, "etc/sysctl.d")
	holder := exec.Command("flock", dir, "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	pid := strconv.Itoa(holder.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, ".tcp-tuning.lock"), []byte("holder other-tuning "+pid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	s := spec("web", true, map[string]string{"net.ipv4.tcp_fin_timeout": "30"})
	c, cancel := context.WithTimeout(context.Background(), 6*time.Second) // a 1 s lock wait
	defer cancel()
	_, err := Apply(c, r, noTarget, s, nil, read(t, r, s, nil))
	var le *hostops.LockError
	if !errors.As(err, &le) || le.Holder != "other-tuning" || le.PID != pid || le.Since == "unknown" {
		t.Fatalf("err = %v, want a LockError naming other-tuning, its pid and since when", err)
	}
	if OutcomeUnknown(err) || live(t, root, "net.ipv4.tcp_fin_timeout") != "60" {
		t.Errorf("a busy host must be a known, unchanged outcome")
	}
}

func TestLockWait(t *testing.T) {
	if got := LockWait(context.Background()); got != MaxLockWait {
		t.Errorf("no deadline: %v, want %v", got, MaxLockWait)
	}
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if got := LockWait(c); got > 15*time.Second || got < 14*time.Second {
		t.Errorf("20 s deadline: %v, want about 15 s", got)
	}
	c2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if got := LockWait(c2); got != 0 {
		t.Errorf("2 s deadline: %v, want 0", got)
	}
}
