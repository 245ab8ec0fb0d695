package hostops

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

const persistPath = "/etc/sysctl.d/90-tcp-tuning.conf"

func ptr(s string) *string { return &s }

// threeWrites changes three keys; the range is written with a space and
// read back with the kernel's tab.
func threeWrites() []Write {
	return []Write{
		{Key: "net.ipv4.tcp_tw_reuse", Value: "1"},
		{Key: "net.ipv4.ip_local_port_range", Value: "10000 65001", Expect: "10000\t65001"},
		{Key: "net.ipv4.tcp_fin_timeout", Value: "30"},
	}
}

func renderThree() string {
	return RenderFile(DefaultMarker, "web", map[string]string{
		"net.ipv4.tcp_tw_reuse":        "1",
		"net.ipv4.ip_local_port_range": "10000 65001",
		"net.ipv4.tcp_fin_timeout":     "30",
	}, nil)
}

func TestApplyHappyPathAndIdempotence(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		content := renderThree()
		req := ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, FileContent: &content}
		got, err := Apply(testCtx(t), r, noTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		want := &ApplyResult{
			Before: map[string]string{
				"net.ipv4.tcp_tw_reuse":        "2",
				"net.ipv4.ip_local_port_range": "32768\t60999",
				"net.ipv4.tcp_fin_timeout":     "60",
			},
			Wrote:       []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout"},
			FileWritten: true,
		}
		want.Originals = want.Before
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Apply = %+v, want %+v", got, want)
		}
		wantRecord := recordText("o net.ipv4.tcp_tw_reuse tcp-tuning 2", "o net.ipv4.ip_local_port_range tcp-tuning 32768\t60999", "o net.ipv4.tcp_fin_timeout tcp-tuning 60")
		if b := readFile(t, filepath.Join(root, "etc/sysctl.d/.tcp-tuning.record")); b != wantRecord {
			t.Errorf("record = %q, want %q", b, wantRecord)
		}
		file := filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")
		if b := readFile(t, file); b != content {
			t.Errorf("file content = %q, want %q", b, content)
		}
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o644 {
			t.Errorf("file mode = %v, want 0644", fi.Mode())
		}
		for k, v := range map[string]string{"net.ipv4.tcp_tw_reuse": "1", "net.ipv4.ip_local_port_range": "10000 65001", "net.ipv4.tcp_fin_timeout": "30"} {
			if got := procValue(t, root, k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if es := dirEntries(t, filepath.Dir(file)); !slices.Equal(es, []string{".tcp-tuning.record", "90-tcp-tuning.conf"}) {
			t.Errorf("sysctl.d holds %v, want only the record and the file (no temp or backup left)", es)
		}

		// The fake kernel prints the range with a tab, as the real one does.
		writeFile(t, filepath.Join(root, "proc/sys/net/ipv4/ip_local_port_range"), "10000\t65001\n")
		// Age everything: any write would move an mtime to now.
		old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		watched := []string{file, filepath.Dir(file)}
		for _, w := range req.Writes {
			watched = append(watched, filepath.Join(root, "proc/sys", keyPath(w.Key)))
		}
		before := map[string]string{}
		for _, p := range watched {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
			before[p] = stat(t, p)
		}
		got, err = Apply(testCtx(t), r, noTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Wrote) != 0 || got.FileWritten || got.FileRemoved {
			t.Errorf("second apply = %+v, want no writes", got)
		}
		if got.Before["net.ipv4.ip_local_port_range"] != "10000\t65001" {
			t.Errorf("Before = %v", got.Before)
		}
		for _, p := range watched {
			if s := stat(t, p); s != before[p] {
				t.Errorf("%s changed by a no-op apply: %s, was %s", p, s, before[p])
			}
		}
	})
}

func keyPath(key string) string {
	b := []byte(key)
	for i, c := range b {
		if c == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}

// failureCase is one apply that must fail and leave the host as it was.
type failureCase struct {
	name      string
	oldFile   *string                         // persisted file before (nil: none)
	setup     func(t *testing.T, root string) // failure injection
	writes    []Write
	wantKey   string // "" = file failure
	wantErrno string
}

func TestApplyFailureRollsBack(t *testing.T) {
	oldContent := "# hand written\nnet.ipv4.tcp_tw_reuse=0\nno final newline"
	cases := []failureCase{
		{
			name:    "third key write fails EPERM, old file restored",
			oldFile: &oldContent,
			setup: func(t *testing.T, root string) {
				setImmutable(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout"))
			},
			writes:    threeWrites(),
			wantKey:   "net.ipv4.tcp_fin_timeout",
			wantErrno: "EPERM",
		},
		{
			name: "third key write fails EPERM, new file removed",
			setup: func(t *testing.T, root string) {
				setImmutable(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout"))
			},
			writes:    threeWrites(),
			wantKey:   "net.ipv4.tcp_fin_timeout",
			wantErrno: "EPERM",
		},
		{
			name: "read back mismatch on the second key",
			writes: []Write{
				{Key: "net.ipv4.tcp_tw_reuse", Value: "1"},
				{Key: "net.ipv4.ip_local_reserved_ports", Value: "8001,8002,8003", Expect: "8001-8003"},
				{Key: "net.ipv4.tcp_fin_timeout", Value: "30"},
			},
			oldFile:   &oldContent,
			wantKey:   "net.ipv4.ip_local_reserved_ports",
			wantErrno: "MISMATCH",
		},
		{
			name: "third key is a directory",
			setup: func(t *testing.T, root string) {
				p := filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout")
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			oldFile:   &oldContent,
			writes:    threeWrites(),
			wantKey:   "net.ipv4.tcp_fin_timeout",
			wantErrno: "EISDIR",
		},
		{
			name: "third key unknown to the kernel (missing parent)",
			writes: append(threeWrites()[:2],
				Write{Key: "net.ipv4.nosuchdir.tcp_x", Value: "1"}),
			wantKey:   "net.ipv4.nosuchdir.tcp_x",
			wantErrno: "ENOENT",
		},
		{
			name:    "file cannot be replaced (the record written first is put back)",
			oldFile: &oldContent,
			setup: func(t *testing.T, root string) {
				setImmutable(t, filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf"))
			},
			writes:    threeWrites(),
			wantErrno: "EPERM",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forShells(t, func(t *testing.T, sc shellCase) {
				root := fakeRoot(t)
				file := filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")
				if tc.oldFile != nil {
					writeFile(t, file, *tc.oldFile)
				}
				var oldStat string
				if tc.oldFile != nil {
					oldStat = stat(t, file)
				}
				values := map[string]string{}
				for _, w := range tc.writes {
					if exists(filepath.Join(root, "proc/sys", keyPath(w.Key))) {
						values[w.Key] = readFile(t, filepath.Join(root, "proc/sys", keyPath(w.Key)))
					}
				}
				if tc.setup != nil {
					tc.setup(t, root)
				}
				content := renderThree()
				_, err := Apply(testCtx(t), sc.runner(root), noTarget,
					ApplyRequest{Owner: testOwner, Writes: tc.writes, PersistPath: persistPath, FileContent: &content})
				var we *WriteError
				if !errors.As(err, &we) {
					t.Fatalf("err = %v (%T), want *WriteError", err, err)
				}
				if we.Key != tc.wantKey || we.Errno != tc.wantErrno || !we.RolledBack || len(we.RollbackFailures) != 0 {
					t.Errorf("WriteError = %+v, want key %q errno %s rolled back", we, tc.wantKey, tc.wantErrno)
				}
				if tc.wantKey == "" && we.Path != persistPath {
					t.Errorf("WriteError.Path = %q, want %q", we.Path, persistPath)
				}
				if tc.wantKey != "" {
					for _, w := range tc.writes {
						if w.Key == tc.wantKey && we.Value != w.Value {
							t.Errorf("WriteError.Value = %q, want %q", we.Value, w.Value)
						}
					}
				}
				for k, v := range values {
					p := filepath.Join(root, "proc/sys", keyPath(k))
					if fi, err := os.Stat(p); err != nil || fi.IsDir() {
						continue // the injected failure itself
					}
					if got := readFile(t, p); got != v {
						t.Errorf("%s = %q after rollback, want %q", k, got, v)
					}
				}
				if tc.oldFile != nil {
					if got := readFile(t, file); got != *tc.oldFile {
						t.Errorf("file = %q after rollback, want %q", got, *tc.oldFile)
					}
					if s := stat(t, file); s != oldStat {
						t.Errorf("file replaced (%s), want the original inode back (%s)", s, oldStat)
					}
				} else if exists(file) {
					t.Errorf("new file %s left behind after rollback", file)
				}
				want := []string{}
				if tc.oldFile != nil {
					want = []string{"90-tcp-tuning.conf"}
				}
				if es := dirEntries(t, filepath.Dir(file)); !slices.Equal(es, want) && (len(es) != 0 || len(want) != 0) {
					t.Errorf("sysctl.d holds %v, want %v", es, want)
				}
			})
		})
	}
}

func TestApplySymlinkPersistPath(t *testing.T) {
	for _, target := range []string{"../../srv/conf/tcp.conf", "/srv/conf/tcp.conf"} {
		t.Run(target, func(t *testing.T) {
			forShells(t, func(t *testing.T, sc shellCase) {
				root := fakeRoot(t)
				linked := filepath.Join(root, "srv/conf/tcp.conf")
				writeFile(t, linked, "old\n")
				link := filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				r := sc.runner(root)
				content := renderThree()
				got, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: threeWrites()[:1], PersistPath: persistPath, FileContent: &content})
				if err != nil {
					t.Fatal(err)
				}
				if !got.FileWritten {
					t.Errorf("FileWritten = false")
				}
				if dest, err := os.Readlink(link); err != nil || dest != target {
					t.Errorf("link = %q, %v; want it kept pointing to %q", dest, err, target)
				}
				if b := readFile(t, linked); b != content {
					t.Errorf("target = %q, want %q", b, content)
				}
				if es := dirEntries(t, filepath.Dir(linked)); !slices.Equal(es, []string{"tcp.conf"}) {
					t.Errorf("target dir holds %v", es)
				}

				// A failing apply restores the target's content and keeps the link.
				setImmutable(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout"))
				other := "other\n"
				_, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, FileContent: &other})
				var we *WriteError
				if !errors.As(err, &we) || !we.RolledBack {
					t.Fatalf("err = %v, want a rolled back *WriteError", err)
				}
				if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("persist path is no longer a symlink")
				}
				if b := readFile(t, linked); b != content {
					t.Errorf("target after rollback = %q, want %q", b, content)
				}
			})
		})
	}
}

func TestApplyRemoveFile(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		file := filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")
		writeFile(t, file, "ours\n")

		// Rolled back: the file comes back.
		setImmutable(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_fin_timeout"))
		_, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, RemoveFile: true})
		var we *WriteError
		if !errors.As(err, &we) || !we.RolledBack || we.Errno != "EPERM" {
			t.Fatalf("err = %v, want a rolled back EPERM *WriteError", err)
		}
		if b := readFile(t, file); b != "ours\n" {
			t.Errorf("file after rollback = %q", b)
		}

		got, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: threeWrites()[:1], PersistPath: persistPath, RemoveFile: true})
		if err != nil {
			t.Fatal(err)
		}
		if !got.FileRemoved || exists(file) {
			t.Errorf("FileRemoved = %v, file exists = %v", got.FileRemoved, exists(file))
		}
		// The record holds the one key written (the failed apply left none).
		if es := dirEntries(t, filepath.Dir(file)); !slices.Equal(es, []string{".tcp-tuning.record"}) {
			t.Errorf("sysctl.d holds %v, want only the record", es)
		}
		got, err = Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, PersistPath: persistPath, RemoveFile: true})
		if err != nil || got.FileRemoved {
			t.Errorf("removing again = %+v, %v; want harmless no-op", got, err)
		}
	})
}

func TestApplyPersistPathIsDirectory(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		if err := os.Mkdir(filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Apply(testCtx(t), sc.runner(root), noTarget, ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, FileContent: ptr("x\n")})
		var we *WriteError
		if !errors.As(err, &we) || we.Errno != "EISDIR" || we.Key != "" || !we.RolledBack {
			t.Fatalf("err = %v, want a rolled back EISDIR file *WriteError", err)
		}
		if v := procValue(t, root, "net.ipv4.tcp_tw_reuse"); v != "2" {
			t.Errorf("tcp_tw_reuse = %q, want untouched 2", v)
		}
	})
}
