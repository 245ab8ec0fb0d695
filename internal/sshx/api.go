// This file is the package's contract; the implementation lives beside it.
// The package documentation is in doc.go.

package sshx

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is how the provider reaches hosts. It mirrors the provider block.
// Byte/string fields hold key material as given (PEM or authorized_keys
// text), never file paths.
type Config struct {
	User                 string // default "root"
	Port                 int    // default 22
	Password             string
	PrivateKey           string // PEM, may be encrypted
	PrivateKeyPassphrase string
	Certificate          string // OpenSSH user certificate (authorized_keys format)
	Agent                bool   // use ssh-agent at AgentSocket
	AgentSocket          string // usually $SSH_AUTH_SOCK
	AgentIdentity        string // comment or authorized_keys line selecting one agent key

	KnownHostsFile        string // path; "" means no file
	HostKey               string // pinned public key or CA key (authorized_keys format, optional "@cert-authority " prefix)
	InsecureIgnoreHostKey bool

	Bastion *BastionConfig // nil = direct

	Sudo               bool          // wrap scripts in `sudo -n` when User is not root
	Timeout            time.Duration // connect budget: dial, handshake, auth, retries (default 1m)
	MaxSessionsPerHost int           // default 2
	KeepaliveInterval  time.Duration // default 15s; client closed after 3 missed replies
	// IdleTimeout closes a connection that has had no session for this
	// long (default 2s), and the idle connections kept open are capped at
	// MaxIdle (default 16) or twice the most hosts seen busy at once,
	// whichever is more (the longest idle is closed first), so open
	// connections follow the number of operations in flight (Terraform's
	// -parallelism), not the fleet size.
	IdleTimeout time.Duration
	MaxIdle     int
}

// BastionConfig is the jump host. Empty fields fall back to Config's values.
type BastionConfig struct {
	Host        string
	Port        int
	User        string
	Password    string
	PrivateKey  string
	Certificate string
	HostKey     string
}

// Target names one host. Empty/zero fields fall back to Config.
type Target struct {
	Host    string
	Port    int
	User    string
	HostKey string
}

// Addr is host:port as net.JoinHostPort writes it: "[::1]:22" for an IPv6
// host (brackets around Host are accepted and not doubled).
func (t Target) Addr() string {
	h := strings.TrimSuffix(strings.TrimPrefix(t.Host, "["), "]")
	return net.JoinHostPort(h, strconv.Itoa(t.Port))
}

// Label is user@host:port (Addr), how errors, logs and ids name a host.
func (t Target) Label() string { return t.User + "@" + t.Addr() }

// Script is one embedded POSIX sh program. Name is used in logs and errors.
// Body is a constant of this program, never built from user values.
type Script struct {
	Name string
	Body string
}

// Compact drops the comment lines, blank lines and indentation of a script
// file, which sh does not need: a body travels in the command of every exec
// and is held in memory for each session, so at 200 hosts its size shows in
// the provider's peak RSS. The file's first line, which names the script, is
// kept. It is for this program's own scripts, whose only strings that span
// lines are awk programs (where indentation and "#" comment lines do not
// matter) and whose here-documents have no indented or "#" lines.
func Compact(src string) string {
	first, rest, _ := strings.Cut(src, "\n")
	var b strings.Builder
	b.Grow(len(src))
	b.WriteString(first)
	for _, l := range strings.Split(rest, "\n") {
		l = strings.TrimLeft(l, " \t")
		if l == "" || l[0] == '#' {
			continue
		}
		b.WriteByte('\n')
		b.WriteString(l)
	}
	b.WriteByte('\n')
	return b.String()
}

// Result is what a script printed and how it exited.
type Result struct {
	Stdout     []byte
	Stderr     []byte
	ExitStatus int
}

// Stats counts what the pool opened, for tests and benchmarks.
type Stats struct {
	Connections int64 // SSH client connections established (targets and bastion)
	Sessions    int64 // SSH sessions opened (one per Run that reached the host)
	// Script payload: the exec command lines (script bodies included) and
	// stdin sent, and the stdout and stderr received. SSH framing,
	// encryption and the handshakes come on top.
	BytesSent, BytesReceived int64
	// Open is the number of connections open now, PeakOpen the most open
	// at once, IdleClosed how many the pool closed for being idle.
	Open, PeakOpen, IdleClosed int64
}

// Kind classifies a failure so callers can word diagnostics and decide
// whether anything may have changed on the host.
type Kind int

const (
	KindOther           Kind = iota
	KindHostKeyMismatch      // presented key differs from the known/pinned one: fatal, never retried
	KindUnknownHost          // no known_hosts entry and no pinned key
	KindAuthFailed           // every auth method refused
	KindSudoPassword         // sudo -n: a password is required
	KindSudoTTY              // sudo: you must have a tty
	KindTimeout              // connect budget or command deadline exceeded before the script started
	KindOutcomeUnknown       // connection/session lost after the script started: it may have run
	KindConnect              // dial/handshake failure after retries (host down, refused)
	KindConfig               // invalid Config (bad key, passphrase, host_key, known_hosts)
)

// Error is the typed error every Pool method returns.
type Error struct {
	Kind   Kind
	Host   string // user@host:port
	Script string // script name, when running one
	Err    error  // underlying cause
}
