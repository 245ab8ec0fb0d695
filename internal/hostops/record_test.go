package hostops

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The host's record under every shell: written before the first live
// write, the owner's originals kept across applies, keys it no longer
// writes given back, other owners refused, takeover by a replacement, and
// the record gone once everything is back.

func recordFile(root string) string { return filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record") }

func TestRecordLifecycle(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		one := []Write{{Key: "net.ipv4.tcp_fin_timeout", Value: "30"}}
		if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: one}); err != nil {
			t.Fatal(err)
		}
		if got, want := readFile(t, recordFile(root)), recordText("o net.ipv4.tcp_fin_timeout a 60"); got != want {
			t.Fatalf("record = %q, want %q", got, want)
		}
		// The kernel value changes (a tuned value): the original stays.
		two := append(one, Write{Key: "net.ipv4.tcp_tw_reuse", Value: "1"})
		res, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: two})
		if err != nil {
			t.Fatal(err)
		}
		if res.Originals["net.ipv4.tcp_fin_timeout"] != "60" || res.Originals["net.ipv4.tcp_tw_reuse"] != "2" {
			t.Errorf("Originals = %v, want the values before the first change", res.Originals)
		}
		// Another owner is refused, before any change.
		_, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "b", Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "0"}, {Key: "net.ipv4.ip_local_port_range", Value: "1024 65000"}}})
		var oe *OwnedError
		if !errors.As(err, &oe) || oe.Owner != "a" || oe.Key != "net.ipv4.tcp_tw_reuse" {
			t.Fatalf("second owner: err = %v, want OwnedError(a)", err)
		}
		if procValue(t, root, "net.ipv4.tcp_tw_reuse") != "1" || procValue(t, root, "net.ipv4.ip_local_port_range") != "32768\t60999" {
			t.Errorf("a refused apply changed the host")
		}
		// A rename (a becomes c): the key c writes is taken over with its
		// original, the key it no longer writes goes back from the record
		// (even with a wrong fallback value), and a's entries are gone.
		res, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "c", From: "a",
			Writes:  []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "0"}},
			Release: []Write{{Key: "net.ipv4.tcp_fin_timeout", Value: "999"}}})
		if err != nil || res.Originals["net.ipv4.tcp_tw_reuse"] != "2" {
			t.Fatalf("rename = %+v, %v; want the original 2 carried over", res, err)
		}
		if !slices.Equal(res.Released, []string{"net.ipv4.tcp_fin_timeout"}) {
			t.Errorf("Released = %v, want fin_timeout", res.Released)
		}
		if procValue(t, root, "net.ipv4.tcp_fin_timeout") != "60" || procValue(t, root, "net.ipv4.tcp_tw_reuse") != "0" {
			t.Errorf("fin_timeout = %s, tw_reuse = %s; want 60 and 0", procValue(t, root, "net.ipv4.tcp_fin_timeout"), procValue(t, root, "net.ipv4.tcp_tw_reuse"))
		}
		if got, want := readFile(t, recordFile(root)), recordText("o net.ipv4.tcp_tw_reuse c 2"); got != want {
			t.Errorf("record after the rename = %q, want %q", got, want)
		}
		// a (were it still around) no longer owns anything: its release
		// of tw_reuse leaves c's key alone.
		res, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Release: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "999"}}})
		if err != nil || res.Other["net.ipv4.tcp_tw_reuse"] != "c" || procValue(t, root, "net.ipv4.tcp_tw_reuse") != "0" {
			t.Errorf("release by the old name = %+v, %v; want tw_reuse left to c", res, err)
		}
		// c's delete restores from the record and removes it.
		if _, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: "c"}); err != nil {
			t.Fatal(err)
		}
		if procValue(t, root, "net.ipv4.tcp_tw_reuse") != "2" || exists(recordFile(root)) {
			t.Errorf("after the last delete: tw_reuse = %s, record exists = %v", procValue(t, root, "net.ipv4.tcp_tw_reuse"), exists(recordFile(root)))
		}
	})
}

// The record is written before any live write: when it cannot be written,
// nothing changes; when a live write fails, the record goes back too.
func TestRecordBeforeLiveWrites(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		// A directory where the record's temp file would go: the write fails.
		if err := os.MkdirAll(filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: threeWrites()})
		var we *WriteError
		if !errors.As(err, &we) || we.Path != RecordPath || !we.RolledBack {
			t.Fatalf("err = %v, want a rolled back WriteError on the record", err)
		}
		if procValue(t, root, "net.ipv4.tcp_fin_timeout") != "60" {
			t.Errorf("a live value was written although the record was not")
		}
		if err := os.Remove(filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record")); err != nil {
			t.Fatal(err)
		}
		setImmutable(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout"))
		_, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: threeWrites()})
		if !errors.As(err, &we) || !we.RolledBack || we.Key != "net.ipv4.tcp_fin_timeout" {
			t.Fatalf("err = %v, want a rolled back EPERM on fin_timeout", err)
		}
		if exists(recordFile(root)) {
			t.Errorf("the record of a rolled back create was left: %q", readFile(t, recordFile(root)))
		}
	})
}

// Keys the record gives the owner that the apply no longer writes (an
// interrupted run) go back without being asked for.
func TestRecordOrphansGoBack(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: threeWrites()}); err != nil {
			t.Fatal(err)
		}
		res, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: threeWrites()[:1]})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Released, []string{"net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout"}) {
			t.Errorf("Released = %v, want the two keys the apply no longer writes", res.Released)
		}
		if procValue(t, root, "net.ipv4.tcp_fin_timeout") != "60" || procValue(t, root, "net.ipv4.ip_local_port_range") != "32768\t60999" {
			t.Errorf("orphaned keys not restored")
		}
		if got, want := readFile(t, recordFile(root)), recordText("o net.ipv4.tcp_tw_reuse a 2"); got != want {
			t.Errorf("record = %q, want %q", got, want)
		}
	})
}

// The read reports the record (and reads its keys), the uid and a
// read-only /proc/sys.
func TestReadReportsRecordAndMounts(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: threeWrites()[:1]}); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "proc/self/mounts"), "proc /proc proc rw,nosuid 0 0\nproc /proc/sys proc ro,nosuid 0 0\n")
		res, err := Read(testCtx(t), r, noTarget, ReadRequest{Keys: []string{"net.ipv4.tcp_fin_timeout"}, Facts: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Record) != 1 || res.Record[0] != (RecordEntry{Key: "net.ipv4.tcp_tw_reuse", Owner: "a", Value: "2"}) {
			t.Errorf("Record = %+v", res.Record)
		}
		if ks := res.Keys["net.ipv4.tcp_tw_reuse"]; ks.Value != "1" {
			t.Errorf("the record's key was not read: %+v", ks)
		}
		if !res.ProcReadOnly || res.UID != os.Getuid() {
			t.Errorf("ProcReadOnly = %v, UID = %d; want true, %d", res.ProcReadOnly, res.UID, os.Getuid())
		}
	})
}

// Without flock(1) the lock is a directory: a live holder makes the
// apply wait and give up naming it; a dead holder's lock is recovered.
func TestLockDirectoryFallback(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		r.Env = append(append([]string{}, r.Env...), "TCP_TUNING_NO_FLOCK=1")
		lockDir := filepath.Join(root, "etc/sysctl.d/.tcp-tuning.lock.d")
		if err := os.MkdirAll(lockDir, 0o755); err != nil {
			t.Fatal(err)
		}
		boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
		holder := func(pid int) {
			writeFile(t, filepath.Join(lockDir, "holder"), "holder other "+strconv.Itoa(pid)+"\nboot "+strings.TrimSpace(string(boot))+"\n")
		}
		holder(os.Getpid()) // alive
		start := time.Now()
		_, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", LockWait: time.Second, Writes: threeWrites()})
		var le *LockError
		if !errors.As(err, &le) || le.Holder != "other" || le.PID != strconv.Itoa(os.Getpid()) {
			t.Fatalf("err = %v, want a LockError naming other", err)
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("the lock wait was not bounded")
		}
		// A holder that died (no such process) is recovered.
		dead := exec.Command("true")
		if err := dead.Run(); err != nil {
			t.Fatal(err)
		}
		holder(dead.Process.Pid)
		if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", LockWait: time.Second, Writes: threeWrites()}); err != nil {
			t.Fatalf("a stale lock was not recovered: %v", err)
		}
		if exists(lockDir) {
			t.Errorf("the lock directory was not released")
		}
	})
}

// A rename moves the file in the same all-or-nothing apply: the old file
// comes back when the apply fails; a superseded delete removes only a file.
func TestFileMovesWithTheName(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		oldPath, newPath := "/etc/sysctl.d/70-a.conf", "/etc/sysctl.d/90-b.conf"
		oldText := RenderFile(DefaultMarker, "a", map[string]string{"net.ipv4.tcp_fin_timeout": "30"}, nil)
		if _, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: "a", Writes: threeWrites()[2:], PersistPath: oldPath, FileContent: &oldText}); err != nil {
			t.Fatal(err)
		}
		newText := RenderFile(DefaultMarker, "b", map[string]string{"net.ipv4.tcp_fin_timeout": "30"}, nil)
		move := ApplyRequest{Owner: "b", From: "a", Writes: threeWrites(), PersistPath: newPath, FileContent: &newText, OldPersistPath: oldPath}
		// A read-back mismatch after the move rolls the move back.
		bad := move
		bad.Writes = append([]Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1", Expect: "7"}}, threeWrites()[1:]...)
		if _, err := Apply(testCtx(t), r, noTarget, bad); err == nil {
			t.Fatal("apply with a read-back mismatch succeeded")
		}
		if readFile(t, filepath.Join(root, oldPath)) != oldText || exists(filepath.Join(root, newPath)) {
			t.Errorf("a failed rename did not put the old file back")
		}
		res, err := Apply(testCtx(t), r, noTarget, move)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OldFileRemoved || exists(filepath.Join(root, oldPath)) || readFile(t, filepath.Join(root, newPath)) != newText {
			t.Errorf("rename = %+v; old file exists %v", res, exists(filepath.Join(root, oldPath)))
		}
		if res.Originals["net.ipv4.tcp_fin_timeout"] != "60" {
			t.Errorf("Originals = %v, want fin_timeout's 60 carried over from a", res.Originals)
		}
		// A superseded object's delete: the file only.
		if _, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: "b", FileOnly: true, PersistPath: newPath, Marker: DefaultMarker}); err != nil {
			t.Fatal(err)
		}
		if exists(filepath.Join(root, newPath)) || procValue(t, root, "net.ipv4.tcp_fin_timeout") != "30" || !exists(recordFile(root)) {
			t.Errorf("a file-only delete touched keys or the record")
		}
	})
}
