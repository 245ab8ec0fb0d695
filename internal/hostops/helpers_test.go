package hostops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// shellCase is one shell the scripts must run under.
type shellCase struct {
	name  string
	shell string
	env   []string
}

// shells are testenv.Shells (dash, busybox sh with only its applets,
// bash --posix) as this package's tests use them.
func shells(t *testing.T) []shellCase {
	t.Helper()
	var out []shellCase
	for _, sh := range testenv.Shells(t) {
		sc := shellCase{name: sh.Name, shell: strings.Join(sh.Argv, " ")}
		if sh.PATH != "" {
			sc.env = []string{"PATH=" + sh.PATH}
		}
		out = append(out, sc)
	}
	return out
}

// forShells runs f once per shell as a subtest; a shell that is missing is
// a skipped subtest with the reason (fatal under TCP_REQUIRE_LAB=1).
func forShells(t *testing.T, f func(t *testing.T, sc shellCase)) {
	t.Helper()
	got := map[string]bool{}
	for _, sc := range shells(t) {
		got[sc.name] = true
		t.Run(sc.name, func(t *testing.T) { f(t, sc) })
	}
	for _, name := range []string{"dash", "busybox", "bash"} {
		if !got[name] {
			t.Run(name, func(t *testing.T) { t.Skip(name + " is not installed (or its applets are not)") })
		}
	}
}

func (sc shellCase) runner(root string) LocalRunner {
	return LocalRunner{Shell: sc.shell, Root: root, Env: sc.env}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var noTarget = sshx.Target{Host: "fake"}

// Golden lines in the kernel's /proc/net/tcp{,6} format (captured on Linux
// 6.18 in a network namespace): LISTEN on 127.0.0.1:6379 with one
// established pair, LISTEN on [::]:8080 and [::1]:443, plus a TIME_WAIT
// entry and a duplicate LISTEN port across families.
const (
	goldenTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 0100007F:18EB 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 27967 2 00000000f97e8046 100 0 0 10 0                     
   1: 0100007F:D3F2 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 27968 2 000000009db12a7d 20 0 0 10 -1                     
   2: 0100007F:18EB 0100007F:D3F2 01 00000000:00000000 00:00000000 00000000     0        0 0 1 00000000075cbd65 20 0 0 10 -1                         
   3: 0100007F:C350 0100007F:1F90 06 00000000:00000000 03:00000563 00000000     0        0 0 3 0000000021d5f9e5                                      
   4: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 27970 1 0000000040a8f54c 100 0 0 10 0                     
`
	goldenTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 27966 1 0000000040a8f54b 100 0 0 10 0
   1: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 27969 1 0000000000c443de 100 0 0 10 0
`
)

// fakeRoot builds a root with the keys the tests use, a kernel release,
// /proc/net/tcp{,6} and an empty /etc/sysctl.d.
func fakeRoot(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"proc/sys/kernel/osrelease":                    "6.1.0-fake\n",
		"proc/sys/net/ipv4/tcp_tw_reuse":               "2\n",
		"proc/sys/net/ipv4/tcp_fin_timeout":            "60\n",
		"proc/sys/net/ipv4/tcp_max_tw_buckets":         "262144\n",
		"proc/sys/net/ipv4/tcp_timestamps":             "1\n",
		"proc/sys/net/ipv4/ip_local_port_range":        "32768\t60999\n",
		"proc/sys/net/ipv4/ip_local_reserved_ports":    "\n",
		"proc/sys/net/ipv4/ip_unprivileged_port_start": "1024\n",
		"proc/sys/net/core/somaxconn":                  "4096\n",
		"proc/net/tcp":                                 goldenTCP,
		"proc/net/tcp6":                                goldenTCP6,
	}
	for p, c := range files {
		writeFile(t, filepath.Join(root, p), c)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/sysctl.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// procValue is the fake kernel's value of key, trailing newline trimmed.
func procValue(t *testing.T, root, key string) string {
	t.Helper()
	return strings.TrimSuffix(readFile(t, filepath.Join(root, "proc/sys", strings.ReplaceAll(key, ".", "/"))), "\n")
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// dirEntries lists a directory, dotfiles included (to catch stray temp files).
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		// The lock file stays by design: removing it would let a waiter
		// and a newcomer lock two different files.
		if e.Name() != ".tcp-tuning.lock" {
			out = append(out, e.Name())
		}
	}
	return out
}

// recordText is the host record holding these entry lines.
func recordText(lines ...string) string {
	return "# tcp-tuning host record (terraform-provider-tcp): each key's value before the tcp_tuning resource that owns it first changed it. Do not edit.\n" +
		strings.Join(lines, "\n") + "\n"
}

// setImmutable sets or clears FS_IMMUTABLE_FL: even root then gets EPERM
// when writing p (or creating files in it, for a directory). The flag is
// cleared in t.Cleanup so TempDir removal works. Skips the test when the
// filesystem does not support it.
func setImmutable(t *testing.T, p string) {
	t.Helper()
	const (
		fsIocGetflags = 0x80086601
		fsIocSetflags = 0x40086602
		fsImmutableFl = 0x10
	)
	ioctl := func(on bool) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		var flags int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocGetflags, uintptr(unsafe.Pointer(&flags))); e != 0 {
			return e
		}
		if on {
			flags |= fsImmutableFl
		} else {
			flags &^= fsImmutableFl
		}
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocSetflags, uintptr(unsafe.Pointer(&flags))); e != 0 {
			return e
		}
		return nil
	}
	if err := ioctl(true); err != nil {
		t.Skipf("cannot make %s immutable: %v", p, err)
	}
	t.Cleanup(func() {
		if err := ioctl(false); err != nil {
			t.Errorf("clearing immutable flag on %s: %v", p, err)
		}
	})
}

// runRaw runs a script body with raw stdin (bypassing Go's validation).
func runRaw(t *testing.T, r Runner, s sshx.Script, stdin string) *sshx.Result {
	t.Helper()
	res, err := r.Run(testCtx(t), noTarget, s, []byte(stdin))
	if err != nil {
		t.Fatalf("run %s: %v", s.Name, err)
	}
	return res
}

func lastLine(out []byte) string {
	s := strings.TrimSuffix(string(out), "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// stat returns inode and mtime, to prove a file was not rewritten.
func stat(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("%s: no stat_t", p)
	}
	return fmt.Sprintf("ino=%d mtime=%s", st.Ino, fi.ModTime().Format(time.RFC3339Nano))
}

// testOwner is the resource name the script tests apply and delete as.
const testOwner = "tcp-tuning"
