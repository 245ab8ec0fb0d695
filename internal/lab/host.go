package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Host is one test host: a network namespace behind a loopback listener
// that speaks real OpenSSH (or, for Fleet.Bastion, the bastion daemon).
//
// The exported fields are set by Start; RotateHostKey updates HostKey.
type Host struct {
	// Name is the network namespace ("<prefix>-<i>"); "" for the bastion.
	Name string
	// Index is the host's number, 1..N (0 for the bastion).
	Index int
	// Addr and Port are where clients connect (Addr is a 127.0.0.0/8 address).
	Addr string
	Port int
	// HostKey is the host's current public host key, authorized_keys format
	// ("ssh-ed25519 AAAA... comment").
	HostKey string
	// LogFile is sshd's log for this host (LogLevel VERBOSE); see SSHDStats.
	LogFile string

	fleet       *Fleet
	dir         string // <lab>/hosts/<name or "bastion">
	configFile  string
	hostKeyFile string
	hookDir     string // world-writable scratch for exec hooks
	shellPath   string // login shell wrapper

	daemon *daemon // bastion only

	mu       sync.Mutex
	ln       *net.TCPListener
	conns    map[*proxyConn]struct{}
	closing  bool
	closed   chan struct{}
	muted    atomic.Bool
	accepted atomic.Int64
	wg       sync.WaitGroup
}

// Endpoint is "Addr:Port".
func (h *Host) Endpoint() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

// KnownHostsLine is this host's known_hosts entry for its current HostKey.
func (h *Host) KnownHostsLine() string { return knownHostsLine(h.Addr, h.Port, h.HostKey) }

// IsBastion reports whether h is the fleet's bastion (root namespace).
func (h *Host) IsBastion() bool { return h.Name == "" }

func (h *Host) requireNS() error {
	if h.Name == "" {
		return errors.New("lab: the bastion runs in the root network namespace; refusing to act on it")
	}
	return nil
}

// Exec runs args inside the host's namespace (`ip netns exec NAME args...`)
// with the host's /etc overrides, stdin as standard input, and returns
// standard output. A failure is an *ExecError carrying standard error.
func (h *Host) Exec(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	if err := h.requireNS(); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("lab: Exec needs a command")
	}
	return runIP(ctx, stdin, append([]string{"netns", "exec", h.Name}, args...)...)
}

// Sysctl reads a net.* key inside the host's namespace (trimmed; multi-value
// keys keep the kernel's tab separators).
func (h *Host) Sysctl(key string) (string, error) {
	if err := h.requireNS(); err != nil {
		return "", err
	}
	return readSysctl(h.Name, key)
}

// SetSysctl writes a net.* key inside the host's namespace. Any key that
// does not start with "net." is refused, and the write happens only on a
// thread verified to be inside this host's namespace.
func (h *Host) SetSysctl(key, value string) error {
	if err := h.requireNS(); err != nil {
		return err
	}
	return writeSysctl(h.Name, key, value)
}

// SysctlDir is the directory that the host sees as /etc/sysctl.d
// (/etc/netns/NAME/sysctl.d, as a path in the root mount namespace).
func (h *Host) SysctlDir() string {
	if h.Name == "" {
		return ""
	}
	return filepath.Join(netnsEtcDir, h.Name, "sysctl.d")
}

// ConnectionsAccepted counts TCP connections the listener accepted
// (including muted ones) since Start.
func (h *Host) ConnectionsAccepted() int64 { return h.accepted.Load() }

// LiveConnections is the number of proxied or muted connections open now.
func (h *Host) LiveConnections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Down stops accepting: new connections are refused (RST) until Up.
// Connections already open are not touched; call CutConnections as well to
// model a host that crashed.
func (h *Host) Down() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		_ = h.ln.Close()
		h.ln = nil
	}
}

// Up starts accepting again on the same address and port.
func (h *Host) Up() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return errors.New("lab: host is closed")
	}
	if h.ln != nil {
		return nil
	}
	var err error
	for i := 0; i < 20; i++ {
		var ln *net.TCPListener
		ln, err = net.ListenTCP("tcp4", &net.TCPAddr{IP: net.ParseIP(h.Addr), Port: h.Port})
		if err == nil {
			h.startAccepting(ln)
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("lab: host %s: listen again on %s: %w", h.label(), h.Endpoint(), err)
}

// Mute makes the host accept TCP connections and then never answer
// (no SSH banner) while on; connections accepted while muted stay silent
// until the client closes them, CutConnections or Close.
func (h *Host) Mute(on bool) { h.muted.Store(on) }

// CutConnections abruptly closes (RST to the client, EOF to sshd) every
// connection that is open now, proxied or muted. The host keeps accepting.
func (h *Host) CutConnections() {
	h.mu.Lock()
	conns := make([]*proxyConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
}

// label names the host in errors.
func (h *Host) label() string {
	if h.Name == "" {
		return "bastion"
	}
	return h.Name
}

// startAccepting runs the accept loop on ln; h.mu is held.
func (h *Host) startAccepting(ln *net.TCPListener) {
	h.ln = ln
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				log.Printf("lab: host %s: accept: %v", h.label(), err)
				return
			}
			h.accepted.Add(1)
			p := &proxyConn{client: c}
			if !h.track(p) {
				_ = c.SetLinger(0)
				_ = c.Close()
				continue
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				defer h.untrack(p)
				h.serve(p)
			}()
		}
	}()
}

func (h *Host) track(p *proxyConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[p] = struct{}{}
	return true
}

func (h *Host) untrack(p *proxyConn) {
	h.mu.Lock()
	delete(h.conns, p)
	h.mu.Unlock()
}

// serve handles one accepted connection until both sides are done.
func (h *Host) serve(p *proxyConn) {
	if h.muted.Load() {
		_, _ = io.Copy(io.Discard, p.client)
		_ = p.client.Close()
		return
	}
	be, err := h.openBackend()
	if err != nil {
		log.Printf("lab: host %s: %v", h.label(), err)
		p.abort()
		return
	}
	if !p.setBackend(be) {
		_ = be.Close()
		be.Wait(5 * time.Second)
		return
	}
	p.pump(h.fleet.opts.Latency)
	be.Wait(5 * time.Second)
}

// openBackend starts sshd -i in the namespace, or dials the bastion daemon.
func (h *Host) openBackend() (backend, error) {
	if h.daemon != nil {
		addr := h.daemon.endpoint()
		c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("dial bastion daemon %s: %w", addr, err)
		}
		tc, ok := c.(*net.TCPConn)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("dial bastion daemon %s: %T is not a TCP connection", addr, c)
		}
		return tcpBackend{tc}, nil
	}
	args := []string{"ip", "netns", "exec", h.Name, h.fleet.sshd, "-i", "-f", h.configFile, "-E", h.LogFile}
	return startInetd(args, h.LogFile)
}

// shutdown stops the listener, cuts every connection and waits (bounded)
// for the handlers to finish.
func (h *Host) shutdown() {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return
	}
	h.closing = true
	close(h.closed)
	if h.ln != nil {
		_ = h.ln.Close()
		h.ln = nil
	}
	h.mu.Unlock()
	h.CutConnections()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		log.Printf("lab: host %s: connection handlers still running after 15s", h.label())
	}
}

// SSHDStats counts, from this host's sshd log, the connections sshd
// received, the logins it accepted and the sessions (commands, shells,
// subsystems) it started.
func (h *Host) SSHDStats() (SSHDStats, error) {
	f, err := os.Open(h.LogFile)
	if err != nil {
		if os.IsNotExist(err) {
			return SSHDStats{}, nil
		}
		return SSHDStats{}, err
	}
	defer f.Close()
	return ParseSSHDLog(f)
}
