// Package hostops holds the host operations of the tcp_tuning resource:
// read, apply and delete. Each is one SSH exec of one embedded POSIX sh
// script (see scripts/) that takes its input as line records on stdin and
// prints line records on stdout, ending with an "end ok" or "end error"
// marker. Values are data, never part of a command line.
//
// The scripts honour TCP_TUNING_ROOT, TCP_TUNING_PROC and
// TCP_TUNING_ETC_ROOT (path prefixes, empty on real hosts), so they are
// tested against fake root directories with LocalRunner.
package hostops

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
)

// Runner runs one script on one host (hostscript.Runner).
type Runner = hostscript.Runner

// LocalRunner runs the scripts on this machine against fake roots (tests).
type LocalRunner = hostscript.LocalRunner

// DefaultMarker is the first line of every file RenderFile writes with it;
// Read reports a file whose first line equals the marker as Managed.
const DefaultMarker = "# Managed by Terraform (terraform-provider-tcp, tcp_tuning). Manual changes are overwritten."

// ReadRequest says what Read reports.
type ReadRequest struct {
	Keys        []string // sysctl keys (net.*) whose live values are read
	PersistPath string   // persisted file to report in full ("" = none)
	Facts       bool     // also read listening ports, ip_unprivileged_port_start and every sysctl.d file
	Marker      string   // first line of a managed file; "" = DefaultMarker
}

// KeyState is one live sysctl.
type KeyState struct {
	Exists   bool   // /proc/sys/<key> exists (false: unknown to the kernel or not in this network namespace)
	Readable bool   // the value could be read
	Writable bool   // the file grants write access (root: owner bits of the proc entry)
	Value    string // raw value as the kernel prints it, trailing newline trimmed (newlines inside become spaces)
}

// SysctlFile is one sysctl.d file.
type SysctlFile struct {
	Path    string            // host path, e.g. /etc/sysctl.d/90-tcp-tuning.conf
	Managed bool              // first line equals the marker
	Name    string            // managed files: the "# name: " header line (the resource name)
	Values  map[string]string // key -> raw value, net.* keys only, later lines win
	Target  string            // symlink target as stored, when Path is a symlink
	Missing bool              // Path is a dangling symlink (or a link loop)
	// Content is the exact text of the persisted file (ReadResult.File only;
	// empty for the facts files).
	Content string
}

// The host's own record and lock (see scripts/record.sh). Both live beside the
// persisted files, so a test host's /etc/netns bind mount isolates them;
// neither name ends in .conf, so no sysctl loader reads them.
const (
	// RecordPath holds one line "o <key> <owner> <original value>" per key
	// a tcp_tuning resource manages on the host: the value before its
	// owner (the resource's name) first changed it. Written before any
	// live write, shrunk only after the value is back.
	RecordPath = "/etc/sysctl.d/.tcp-tuning.record"
	// LockPath is the host-wide lock apply and delete take (flock(1), or a
	// directory LockPath+".d" where flock is missing).
	LockPath = "/etc/sysctl.d/.tcp-tuning.lock"
)

// RecordEntry is one line of the host's record.
type RecordEntry struct {
	Key   string
	Owner string // resource name
	Value string // original value as the kernel printed it
}

// ReadResult is what Read found.
type ReadResult struct {
	KernelRelease string              // /proc/sys/kernel/osrelease, or uname -r
	Keys          map[string]KeyState // one entry for every requested key
	File          *SysctlFile         // the persisted file; nil when absent
	Record        []RecordEntry       // the host's record (empty when unreadable or absent)
	UID           int                 // effective uid of the script (-1: unknown)
	ProcReadOnly  bool                // /proc/sys is mounted read-only

	// Only when ReadRequest.Facts:
	UnprivilegedPortStart int64        // net.ipv4.ip_unprivileged_port_start (1024 when the kernel lacks it)
	ListeningPorts        []int64      // TCP ports in LISTEN, IPv4 and IPv6, sorted, unique
	SysctlFiles           []SysctlFile // every *.conf of the sysctl.d directories, then /etc/sysctl.conf; Values hold only requested keys
}

// Write is one live value to set.
type Write struct {
	Key    string // net.* sysctl key
	Value  string // what is written to /proc/sys (one line; "" writes a bare newline)
	Expect string // what the kernel should print back, compared after collapsing whitespace; "" = Value
}

// ApplyRequest is one all-or-nothing apply, under the host lock.
type ApplyRequest struct {
	Owner       string        // the resource's name: owner of every key in Writes (required)
	From        string        // the name this resource had before (a rename): its keys are taken over, or given back when not written
	LockWait    time.Duration // how long to wait for the host lock (0: fail at once; rounded down to seconds)
	Writes      []Write       // in order; keys already at Expect are skipped
	Release     []Write       // keys to give back: the record's original wins, Value is the fallback
	PersistPath string        // e.g. /etc/sysctl.d/90-tcp-tuning.conf
	FileContent *string       // full new file text; nil = leave the file alone; unchanged bytes are not rewritten
	RemoveFile  bool          // remove PersistPath (the link itself if it is a symlink)
	// OldPersistPath is the previous persisted file when the file moves (a
	// new name or priority): removed in the same all-or-nothing apply.
	OldPersistPath string
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	Before         map[string]string // raw value of every key read before the apply (written or not)
	Originals      map[string]string // the host record's original of every key in Writes (raw)
	Wrote          []string          // keys of Writes actually written, in order
	Released       []string          // keys given back and dropped from the record (requested or left by an interrupted run)
	Gone           []string          // keys given back that the kernel lacks
	Other          map[string]string // keys not given back: key -> the resource that owns it now
	FileWritten    bool
	FileRemoved    bool
	OldFileRemoved bool   // OldPersistPath existed and was removed
	RecordKept     string // errno when the record could not be shrunk at the end (harmless: the next apply does it)
}

// DeleteRequest gives a resource's keys back and removes its file.
type DeleteRequest struct {
	Owner       string        // the resource's name (required): every key the record gives it is restored
	LockWait    time.Duration // how long to wait for the host lock
	Restore     []Write       // keys to give back: the record's original wins, Value is the fallback
	NoRestore   bool          // drop the record entries without writing values (restore_on_destroy = false)
	FileOnly    bool          // remove the file only, keys and record untouched (superseded by a newer resource of this name)
	PersistPath string        // "" = leave files alone
	Marker      string        // when set, the file is removed only if its first line is exactly this
}

// DeleteResult is what Delete did.
type DeleteResult struct {
	Restored    []string          // keys written
	Same        []string          // keys already at their original
	Gone        []string          // keys the kernel does not have (nothing to restore)
	Kept        []string          // NoRestore: keys left at their value
	Other       map[string]string // keys another resource owns now: left alone
	Failed      []string          // keys that could not be restored (see the returned error)
	FileRemoved bool
	FileForeign bool   // the file lacked DeleteRequest.Marker and was left in place
	RecordKept  string // errno when the record could not be shrunk
}

// LockError: another operation held the host lock for the whole wait.
// Nothing was changed.
type LockError struct {
	Script string
	Holder string // resource name of the holder ("unknown" when it did not say)
	Since  string // when it took the lock (UTC, RFC 3339), or "unknown"
	PID    string // its process on the host
}

func (e *LockError) Error() string {
	return fmt.Sprintf("%s: the host lock is held by tcp_tuning %q since %s (pid %s on the host)", e.Script, e.Holder, e.Since, e.PID)
}

// OwnedError: a key is owned by another tcp_tuning resource on this host
// (the host's record says so). Nothing was changed.
type OwnedError struct {
	Key   string
	Owner string
}

func (e *OwnedError) Error() string {
	return fmt.Sprintf("%s is managed by another tcp_tuning resource on this host (name %q)", e.Key, e.Owner)
}

// WriteError is a failed apply or delete step. For Apply, every change
// made so far has been undone when RolledBack is true.
type WriteError struct {
	Key     string // failing sysctl key; "" when the persisted file failed
	Path    string // the persisted file, when it failed
	Value   string // the value that was being written
	Errno   string // ENOENT, EACCES, EPERM, EINVAL, EISDIR, ENOTDIR, EROFS, ENOSPC, ERANGE, EBUSY, EIO, ELOOP, EINTR, MISMATCH (read back differs) or EUNKNOWN
	Message string // the host's message
	// RolledBack: every live value and the file are as before the apply.
	RolledBack bool
	// RollbackFailures names what could not be restored (keys, or "file").
	RollbackFailures []string
}

func (e *WriteError) Error() string {
	var b strings.Builder
	if e.Key != "" {
		fmt.Fprintf(&b, "writing %s = %q failed: %s", e.Key, e.Value, e.Errno)
	} else {
		fmt.Fprintf(&b, "writing %s failed: %s", e.Path, e.Errno)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, " (%s)", e.Message)
	}
	switch {
	case e.RolledBack:
		b.WriteString("; previous values and file restored")
	case len(e.RollbackFailures) > 0:
		fmt.Fprintf(&b, "; could not restore: %s", strings.Join(e.RollbackFailures, ", "))
	}
	return b.String()
}

// ProtocolError means the script's output could not be understood or was
// cut short (no end marker): the outcome on the host is unknown.
type ProtocolError = hostscript.ProtocolError

// ScriptError is a structured "error <code> <message>" from a script that
// stopped before changing anything.
type ScriptError = hostscript.ScriptError
