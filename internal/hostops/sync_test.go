package hostops

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// syncWrapper puts a sync program first on PATH that logs its arguments
// (one line per call) and then behaves as the sync of kind: "new"
// (coreutils >= 8.24: -d FILE... flushes the files), "old" (coreutils <
// 8.24: rejects -d; without options it would ignore its arguments and flush
// everything, logged as "GLOBAL"). It returns the PATH entry and the log.
func syncWrapper(t *testing.T, sc shellCase, kind string) (env []string, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "sync.log")
	body := `#!/bin/sh
printf '%s\n' "$*" >>` + sshxQuote(log) + `
case $1 in
-d) [ ` + sshxQuote(kind) + ` = new ] && exit 0; echo "sync: invalid option -- 'd'" >&2; exit 1 ;;
esac
echo GLOBAL >>` + sshxQuote(log) + `
exit 0
`
	if err := os.WriteFile(filepath.Join(dir, "sync"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("PATH")
	env = append([]string{}, sc.env...)
	for i, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			path = strings.TrimPrefix(e, "PATH=")
			env = append(env[:i], env[i+1:]...)
			break
		}
	}
	return append(env, "PATH="+dir+":"+path), log
}

func sshxQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestNoGlobalSync: the scripts flush only their own files and directory
// (the record, the persisted file's directory), never every filesystem
// with a bare sync, whatever sync the host has: with a sync that takes
// -d FILE every call names paths; with an old one that rejects -d nothing
// falls back to flushing everything.
func TestNoGlobalSync(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	forShells(t, func(t *testing.T, sc shellCase) {
		for _, kind := range []string{"new", "old"} {
			t.Run(kind, func(t *testing.T) {
				root := fakeRoot(t)
				env, log := syncWrapper(t, sc, kind)
				r := LocalRunner{Shell: sc.shell, Root: root, Env: env}
				content := renderThree()
				req := ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, FileContent: &content}
				if _, err := Apply(testCtx(t), r, noTarget, req); err != nil {
					t.Fatal(err)
				}
				restore := []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "2"}, {Key: "net.ipv4.ip_local_port_range", Value: "32768 60999", Expect: "32768\t60999"}, {Key: "net.ipv4.tcp_fin_timeout", Value: "60"}}
				if _, err := Delete(testCtx(t), r, noTarget, DeleteRequest{Owner: testOwner, Restore: restore, PersistPath: persistPath, Marker: DefaultMarker}); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(log)
				if err != nil {
					t.Fatalf("sync never ran (the scripts must flush the record and the file's directory): %v", err)
				}
				calls := strings.Split(strings.TrimSpace(string(b)), "\n")
				for _, c := range calls {
					if c == "GLOBAL" || c == "" {
						t.Errorf("a global sync ran; calls: %q", calls)
						continue
					}
					for _, p := range strings.Fields(strings.TrimPrefix(c, "-d ")) {
						if !strings.HasPrefix(p, filepath.Join(root, "etc/sysctl.d")) {
							t.Errorf("sync of %q, outside the host's /etc/sysctl.d; calls: %q", p, calls)
						}
					}
				}
				if len(calls) < 3 {
					t.Errorf("%d sync calls (%q): want the record, its directory and the file's directory", len(calls), calls)
				}
			})
		}
	})
}
