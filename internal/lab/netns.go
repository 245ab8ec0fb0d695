package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

const (
	netnsRunDir = "/run/netns"
	netnsEtcDir = "/etc/netns"
)

var (
	prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{1,15}$`)
	nsNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{1,15}-[0-9]{1,4}$`)
	netKeyRE = regexp.MustCompile(`^net\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$`)
)

// validPrefix reports whether p can prefix namespace names: lowercase
// letters and digits, starting with a letter, 2 to 16 characters.
func validPrefix(p string) error {
	if !prefixRE.MatchString(p) {
		return fmt.Errorf("lab: prefix %q must match %s", p, prefixRE)
	}
	return nil
}

// sysctlPath maps a "net." key to its /proc/sys path. Any other key is
// refused: the lab never touches vm.*, kernel.*, fs.* or anything outside a
// network namespace it created.
func sysctlPath(key string) (string, error) {
	if !netKeyRE.MatchString(key) {
		return "", fmt.Errorf("lab: refusing sysctl key %q: only net.* keys (letters, digits, _ and -) are allowed", key)
	}
	return catalog.KeyToProcPath(key), nil
}

// runIP runs ip(8) and returns its stdout; a failure carries stderr.
func runIP(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), &ExecError{Args: append([]string{"ip"}, args...), Err: err, Stderr: msg}
	}
	return stdout.Bytes(), nil
}

// ExecError is returned by Host.Exec and the lab's own commands when a
// command fails; Stderr is its trimmed standard error.
type ExecError struct {
	Args   []string
	Err    error
	Stderr string
}

func (e *ExecError) Error() string {
	s := fmt.Sprintf("%s: %v", strings.Join(e.Args, " "), e.Err)
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

func (e *ExecError) Unwrap() error { return e.Err }

// addNetns creates the namespace and brings lo up.
func addNetns(ctx context.Context, name string) error {
	if !nsNameRE.MatchString(name) {
		return fmt.Errorf("lab: bad namespace name %q", name)
	}
	if _, err := runIP(ctx, nil, "netns", "add", name); err != nil {
		return err
	}
	if _, err := runIP(ctx, nil, "-n", name, "link", "set", "lo", "up"); err != nil {
		return err
	}
	return nil
}

// delNetns deletes the namespace and its /etc/netns directory; missing ones
// are not an error.
func delNetns(name string) error {
	if !nsNameRE.MatchString(name) {
		return fmt.Errorf("lab: bad namespace name %q", name)
	}
	var errs []error
	if _, err := os.Stat(filepath.Join(netnsRunDir, name)); err == nil {
		if _, err := runIP(context.Background(), nil, "netns", "del", name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(netnsEtcDir, name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Cleanup deletes every namespace named "<prefix>-<n>" and every
// /etc/netns/<prefix>-<n> directory: what a crashed fleet with that prefix
// leaves behind. Processes are not touched. The prefix must be a valid lab
// prefix, so Cleanup can never match unrelated names.
func Cleanup(prefix string) error {
	if err := validPrefix(prefix); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, dir := range []string{netnsRunDir, netnsEtcDir} {
		ents, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, prefix+"-") && nsNameRE.MatchString(n) && strings.TrimLeft(n[len(prefix)+1:], "0123456789") == "" {
				seen[n] = true
			}
		}
	}
	var errs []error
	for n := range seen {
		errs = append(errs, delNetns(n))
	}
	if ents, err := os.ReadDir(netnsEtcDir); err == nil && len(ents) == 0 {
		_ = os.Remove(netnsEtcDir) // only if empty; others may be creating entries
	}
	return errors.Join(errs...)
}

// nsInode returns the inode of a namespace file (identity of a namespace).
func nsInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// inNetns runs fn on a locked OS thread that has joined the network
// namespace name, then moves the thread back. fn runs only after the thread
// is verified to be in the target namespace. If the thread cannot be moved
// back, it stays locked and exits with its goroutine, so no other goroutine
// ever runs in the namespace.
//
// Threads are returned rather than discarded on purpose: a child started
// with Pdeathsig (sshd, the bastion) is signalled when the thread that forked
// it exits, and any Go thread may have forked one.
func inNetns(name string, fn func() error) error {
	if !nsNameRE.MatchString(name) {
		return fmt.Errorf("lab: refusing to enter namespace %q", name)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			if restored {
				runtime.UnlockOSThread()
			} // else: no unlock, the thread dies with this goroutine
		}()
		errc <- setnsAndRun(name, fn, &restored)
	}()
	return <-errc
}

// setnsAndRun runs fn with the calling (locked) thread in namespace name
// and moves the thread back; *restored says it is back where it started.
func setnsAndRun(name string, fn func() error, restored *bool) error {
	target := filepath.Join(netnsRunDir, name)
	f, err := os.Open(target)
	if err != nil {
		return fmt.Errorf("lab: open namespace %s: %w", name, err)
	}
	defer f.Close()
	want, err := nsInode(target)
	if err != nil {
		return err
	}
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer orig.Close()
	before, err := nsInode("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	if before == want {
		*restored = true
		return fmt.Errorf("lab: namespace %s is the caller's own namespace", name)
	}
	if _, _, e := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
		*restored = true // setns failed: still where we started
		return fmt.Errorf("lab: setns %s: %w", name, e)
	}
	defer func() {
		if _, _, e := syscall.RawSyscall(sysSetns, orig.Fd(), syscall.CLONE_NEWNET, 0); e == 0 {
			back, err := nsInode("/proc/thread-self/ns/net")
			*restored = err == nil && back == before
		}
	}()
	after, err := nsInode("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	if after != want {
		return fmt.Errorf("lab: thread is not in namespace %s after setns", name)
	}
	return fn()
}

// readSysctl reads a net.* key in namespace name.
func readSysctl(name, key string) (string, error) {
	p, err := sysctlPath(key)
	if err != nil {
		return "", err
	}
	var out string
	err = inNetns(name, func() error {
		b, err := os.ReadFile(p)
		out = strings.TrimSpace(string(b))
		return err
	})
	return out, err
}

// writeSysctl writes a net.* key in namespace name (a newline is appended
// when missing, so "" clears list keys).
func writeSysctl(name, key, value string) error {
	p, err := sysctlPath(key)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(value, "\n") {
		value += "\n"
	}
	return inNetns(name, func() error {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(value); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
