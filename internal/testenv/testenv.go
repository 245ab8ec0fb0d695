// Package testenv is the tests' one policy for what a machine may lack: a
// test whose prerequisite is missing (root, network namespaces, sshd,
// strace, a shell) is skipped with the reason, or fails under
// TCP_REQUIRE_LAB=1 (as .ci/run sets); -short (make testunit) means no
// fleet, sshd or network namespaces; and the POSIX shells the host scripts
// must run under. Only tests import it; it imports nothing of this module,
// so every package's tests can (labtest adds the test fleet).
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireLabEnv, set to "1", makes a missing prerequisite a failure.
const RequireLabEnv = "TCP_REQUIRE_LAB"

// Required reports whether RequireLabEnv is "1".
func Required() bool { return os.Getenv(RequireLabEnv) == "1" }

// Unavailable skips the test with the reason, or fails it when Required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (required: %s=1)", msg, RequireLabEnv)
	}
	t.Skipf("%s (%s=1 makes this a failure)", msg, RequireLabEnv)
}

// SkipShort skips a test that needs the fleet, sshd or network namespaces
// under -short: -short means none of them, whatever TCP_REQUIRE_LAB says.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no test fleet, sshd or network namespaces")
	}
}

// Shell is one POSIX shell the host scripts must run under.
type Shell struct {
	Name string   // "dash", "busybox" or "bash"
	Argv []string // the shell and its options; a script runs as Argv + "-c" + body
	// PATH, when not empty, is the PATH to run scripts with: for busybox,
	// a directory of busybox's applets only, as on Alpine.
	PATH string
}

// Shells are dash (Debian's /bin/sh), busybox sh with only busybox's
// applets on PATH (Alpine) and bash --posix (RHEL's /bin/sh). A missing
// one is logged, and is Unavailable under TCP_REQUIRE_LAB=1, where a run
// must cover all three; with none the test is skipped.
func Shells(t testing.TB) []Shell {
	t.Helper()
	var out []Shell
	var missing []string
	if p, err := exec.LookPath("dash"); err == nil {
		out = append(out, Shell{Name: "dash", Argv: []string{p}})
	} else {
		missing = append(missing, "dash is not installed")
	}
	if bb, err := exec.LookPath("busybox"); err != nil {
		missing = append(missing, "busybox is not installed")
	} else {
		dir := t.TempDir()
		if b, err := exec.Command(bb, "--install", "-s", dir).CombinedOutput(); err != nil {
			missing = append(missing, fmt.Sprintf("busybox --install -s failed (%v: %s), so there are no busybox applets", err, strings.TrimSpace(string(b))))
		} else {
			out = append(out, Shell{Name: "busybox", Argv: []string{bb, "sh"}, PATH: dir})
		}
	}
	if p, err := exec.LookPath("bash"); err == nil {
		out = append(out, Shell{Name: "bash", Argv: []string{p, "--posix"}})
	} else {
		missing = append(missing, "bash is not installed")
	}
	if len(missing) > 0 {
		if Required() {
			t.Fatalf("%s=1 but not every shell can be tested: %s", RequireLabEnv, strings.Join(missing, "; "))
		}
		t.Logf("not tested under every shell: %s", strings.Join(missing, "; "))
	}
	if len(out) == 0 {
		t.Skip("no shell to test with: " + strings.Join(missing, "; "))
	}
	return out
}
