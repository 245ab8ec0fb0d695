package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/tcptune/terraform-provider-tcp/internal/rpcctx"
)

// Connect retry backoff: first wait, cap. Session-open retries use their own.
const (
	connectBackoffStart = 250 * time.Millisecond
	connectBackoffMax   = 5 * time.Second
	sessionBackoffStart = 100 * time.Millisecond
	sessionBackoffMax   = 2 * time.Second
)

var errPoolClosed = errors.New("the SSH connection pool is closed")

// endpoint is one resolved user@host:port with its host key policy.
type endpoint struct {
	user    string
	host    string
	port    int
	addr    string // host:port, as dialled and as checked in known_hosts
	key     string // user@host:port
	policy  hostKeyPolicy
	auth    *authSpec
	bastion bool // this endpoint is the jump host itself
}

func newEndpoint(user, host string, port int, pol hostKeyPolicy) (*endpoint, error) {
	host = strings.TrimSpace(host)
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return nil, errors.New("host is empty")
	}
	if strings.ContainsAny(host, " \t\r\n/@") {
		return nil, fmt.Errorf("host %q is not a host name or IP address", host)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("port %d is out of range 1-65535", port)
	}
	t := Target{Host: host, Port: port, User: user}
	return &endpoint{user: user, host: host, port: port, addr: t.Addr(), key: t.Label(), policy: pol}, nil
}

// Pool keeps one SSH connection per user@host:port (and one to the bastion)
// and runs scripts on them. It is safe for concurrent use. Build it with
// NewPool; Close it when the provider stops.
type Pool struct {
	cfg     Config
	auth    *authSpec
	agent   *agentSpec
	policy  hostKeyPolicy
	bastion *bastionSpec

	closeCtx    context.Context
	closeCancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	hosts  map[string]*hostConn
	bhc    *hostConn // the bastion's connection, when there is a bastion
	wg     sync.WaitGroup

	connections   atomic.Int64
	sessions      atomic.Int64
	bytesSent     atomic.Int64
	bytesReceived atomic.Int64
	peakOpen      atomic.Int64
	idleClosed    atomic.Int64
	// busyHosts counts hosts with a Run in flight, peakBusy the most at
	// once: the idle cap is at least twice that, so at -parallelism N the
	// connection a resource reads on and applies on moments later stays
	// open, while finished hosts' connections go.
	busyHosts atomic.Int64
	peakBusy  atomic.Int64
	openMu    sync.Mutex
	openSet   map[*ssh.Client]struct{} // connections open now

	// idle lists the connected hosts without a session in flight, the
	// longest idle first (guarded by idleMu, taken after a hostConn's mu).
	idleMu sync.Mutex
	idle   []*hostConn

	// Test hooks, set before the first Run.
	onConnectRetry func(ep string, err error)
	onSessionRetry func(ep string, err error)
}

// hostConn is the pool's state for one user@host:port.
type hostConn struct {
	sem chan struct{} // session slots

	mu        sync.Mutex
	client    *ssh.Client
	presented ssh.PublicKey // host key accepted when client was dialled
	remote    net.Addr
	policyID  string // id of the policy that accepted presented
	dialing   *dialCall
	// fatal is a host-key or authentication failure reported by the host
	// for policy fatalPolicy: never retried during the pool's life.
	fatal       error
	fatalPolicy string
	// busy counts Run calls in flight (waiting for a slot included); at
	// zero the connection is idle and idleTimer closes it.
	busy      int
	idleTimer *time.Timer
	// timeoutK is whether the host's `timeout` takes -k: 0 not known yet,
	// 1 yes, -1 no (learned by the first session's probe).
	timeoutK atomic.Int32
}

type dialCall struct {
	done     chan struct{}
	policyID string // host key policy the dial checks against
	client   *ssh.Client
	err      error
}

// NewPool validates cfg, applies defaults and parses all key material. It
// returns a *ConfigError naming the provider attribute at fault. It makes no
// network connection.
func NewPool(cfg Config) (*Pool, error) {
	cfg, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	auth, err := buildAuth(cfg.Password, cfg.PrivateKey, cfg.PrivateKeyPassphrase, cfg.Certificate, "private_key", "certificate", cfg.Agent)
	if err != nil {
		return nil, err
	}
	ag, err := buildAgent(cfg)
	if err != nil {
		return nil, err
	}
	pol, err := buildHostKeyPolicy(cfg)
	if err != nil {
		return nil, err
	}
	bastion, _, err := buildBastion(cfg, auth, pol)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:     cfg,
		auth:    auth,
		agent:   ag,
		policy:  pol,
		bastion: bastion,
		hosts:   map[string]*hostConn{},
	}
	p.closeCtx, p.closeCancel = context.WithCancel(context.Background())
	if bastion != nil {
		p.bhc = &hostConn{}
	}
	return p, nil
}

// Stats returns how many connections and sessions the pool has opened and
// the script payload it exchanged.
func (p *Pool) Stats() Stats {
	return Stats{Connections: p.connections.Load(), Sessions: p.sessions.Load(),
		BytesSent: p.bytesSent.Load(), BytesReceived: p.bytesReceived.Load(),
		Open: p.openCount(), PeakOpen: p.peakOpen.Load(), IdleClosed: p.idleClosed.Load()}
}

// Close closes every connection, stops background work and makes further
// Run calls fail. It is safe to call more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	hosts := make([]*hostConn, 0, len(p.hosts)+1)
	for _, hc := range p.hosts {
		hosts = append(hosts, hc)
	}
	if p.bhc != nil {
		hosts = append(hosts, p.bhc) // last: targets may be tunnelled through it
	}
	p.mu.Unlock()
	p.closeCancel()
	for _, hc := range hosts {
		hc.mu.Lock()
		c := hc.client
		hc.client = nil
		hc.mu.Unlock()
		if c != nil {
			c.Close()
		}
	}
	p.wg.Wait()
	return nil
}

// goBackground runs f tracked by the pool's WaitGroup, unless the pool is
// closed (then it returns false and f does not run).
func (p *Pool) goBackground(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

func (p *Pool) hostConn(key string) (*hostConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	hc := p.hosts[key]
	if hc == nil {
		hc = &hostConn{sem: make(chan struct{}, p.cfg.MaxSessionsPerHost)}
		p.hosts[key] = hc
	}
	return hc, nil
}

// endpoint resolves a Target against the pool's defaults.
func (p *Pool) endpoint(t Target) (*endpoint, error) {
	user := t.User
	if user == "" {
		user = p.cfg.User
	}
	port := t.Port
	if port == 0 {
		port = p.cfg.Port
	}
	pol := p.policy
	if strings.TrimSpace(t.HostKey) != "" {
		pk, err := parseHostKey(t.HostKey)
		if err != nil {
			return nil, fmt.Errorf("host_key: %w", err)
		}
		pol.pinned = pk
		pol.insecure = false
	}
	ep, err := newEndpoint(user, t.Host, port, pol)
	if err != nil {
		return nil, err
	}
	ep.auth = p.auth
	return ep, nil
}

// drop forgets client if it is still hc's current one, and closes it.
func (hc *hostConn) drop(client *ssh.Client) {
	hc.mu.Lock()
	if hc.client == client {
		hc.client = nil
	}
	hc.mu.Unlock()
	client.Close()
}

// getClient returns hc's connected client, dialling it if needed. Concurrent
// callers share one dial. The dial runs under the connect budget, detached
// from ctx; a caller whose ctx ends stops waiting with KindTimeout.
func (p *Pool) getClient(ctx context.Context, hc *hostConn, ep *endpoint) (*ssh.Client, error) {
	pid := ep.policy.id()
	for range 3 {
		hc.mu.Lock()
		if hc.fatal != nil && hc.fatalPolicy == pid {
			err := hc.fatal
			hc.mu.Unlock()
			return nil, err
		}
		if c := hc.client; c != nil {
			presented, remote, accepted := hc.presented, hc.remote, hc.policyID
			hc.mu.Unlock()
			if accepted != pid {
				// Another resource pinned a different host key for this
				// host: check the key the host presented against it too.
				if err := ep.policy.check(ep.addr, remote, presented); err != nil {
					return nil, p.hostKeyFailure(ep, err)
				}
			}
			return c, nil
		}
		call := hc.dialing
		if call == nil {
			call = &dialCall{done: make(chan struct{}), policyID: pid}
			// Keeps the request's logger, not its deadline, for as long as
			// the connection lives (rpcctx: not the scope a release empties).
			dctx := rpcctx.Lasting(ctx)
			if !p.goBackground(func() { p.dial(dctx, hc, ep, call) }) {
				hc.mu.Unlock()
				return nil, newError(KindOther, ep, "", errPoolClosed)
			}
			hc.dialing = call
		}
		hc.mu.Unlock()
		select {
		case <-call.done:
			if call.err != nil {
				if k := KindOf(call.err); (k == KindHostKeyMismatch || k == KindUnknownHost) && call.policyID != pid {
					continue // the dial checked another pinned key: try ours
				}
				return nil, call.err
			}
		case <-ctx.Done():
			return nil, newError(KindTimeout, ep, "", fmt.Errorf("gave up waiting for the connection: %w", ctx.Err()))
		}
	}
	return nil, newError(KindConnect, ep, "", errors.New("the connection was lost right after it was established"))
}

func (p *Pool) hostKeyFailure(ep *endpoint, err error) *Error {
	var hk *hostKeyError
	if errors.As(err, &hk) {
		return newError(hk.kind, ep, "", hk.err)
	}
	return newError(KindHostKeyMismatch, ep, "", err)
}

// dial runs one connect for hc and publishes the result to call's waiters.
//
// logCtx carries the caller's logger but no deadline; it also serves the
// connection's background goroutines.
func (p *Pool) dial(logCtx context.Context, hc *hostConn, ep *endpoint, call *dialCall) {
	ctx, cancel := context.WithTimeout(logCtx, p.cfg.Timeout)
	stop := context.AfterFunc(p.closeCtx, cancel)
	res, err := p.connect(ctx, ep)
	stop()
	cancel()
	ctx = logCtx

	hc.mu.Lock()
	hc.dialing = nil
	if err == nil {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			res.client.Close()
			res.client, err = nil, newError(KindOther, ep, "", errPoolClosed)
		} else {
			hc.client, hc.presented, hc.remote, hc.policyID = res.client, res.presented, res.remote, ep.policy.id()
		}
	} else if k := KindOf(err); (k == KindHostKeyMismatch || k == KindUnknownHost || k == KindAuthFailed) && res.fromHost {
		hc.fatal, hc.fatalPolicy = err, ep.policy.id()
	}
	if err != nil {
		call.err = err
	} else {
		call.client = res.client
	}
	hc.mu.Unlock()
	close(call.done)

	if err == nil {
		n := p.connections.Add(1)
		o := p.opened(res.client)
		tflog.Debug(ctx, "ssh connection opened", map[string]any{
			"host": ep.key, "connections": n, "open": o, "bastion": ep.bastion, "via_bastion": p.bastion != nil && !ep.bastion,
			"auth_methods": strings.Join(res.methods, ","), "attempts": res.attempts,
		})
		p.watch(ctx, hc, ep, res.client)
	} else {
		tflog.Debug(ctx, "ssh connection failed", map[string]any{"host": ep.key, "kind": KindOf(err).String(), "error": err.Error()})
	}
}

// watch starts the keepalive loop and the monitor that drops client from
// hc when its connection ends.
func (p *Pool) watch(ctx context.Context, hc *hostConn, ep *endpoint, client *ssh.Client) {
	dead := make(chan struct{})
	if !p.goBackground(func() {
		err := client.Wait()
		close(dead)
		p.forgetOpen(client)
		hc.mu.Lock()
		if hc.client == client {
			hc.client = nil
		}
		hc.mu.Unlock()
		fields := map[string]any{"host": ep.key}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			fields["error"] = err.Error()
		}
		tflog.Debug(ctx, "ssh connection closed", fields)
	}) {
		p.forgetOpen(client)
		client.Close()
		return
	}
	p.goBackground(func() { p.keepalive(ctx, ep, client, dead) })
}

// acquire marks hc busy: its connection is not closed for being idle until
// the matching release.
func (p *Pool) acquire(hc *hostConn) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.busy++
	if hc.busy == 1 {
		if n := p.busyHosts.Add(1); n > p.peakBusy.Load() {
			p.peakBusy.Store(n)
		}
	}
	if hc.idleTimer != nil {
		hc.idleTimer.Stop()
		hc.idleTimer = nil
	}
	p.idleMu.Lock()
	p.unlistIdle(hc)
	p.idleMu.Unlock()
}

// release ends one Run on hc. The last one leaves the connection idle: it
// is closed after IdleTimeout, or sooner when more than MaxIdle
// connections are idle (the longest idle goes first).
func (p *Pool) release(hc *hostConn) {
	hc.mu.Lock()
	hc.busy--
	if hc.busy == 0 {
		p.busyHosts.Add(-1)
	}
	c := hc.client
	if hc.busy > 0 || c == nil {
		hc.mu.Unlock()
		return
	}
	hc.idleTimer = time.AfterFunc(p.cfg.IdleTimeout, func() { p.closeIdle(hc, c) })
	p.idleMu.Lock()
	p.idle = append(p.idle, hc)
	var evict []*hostConn
	if n := len(p.idle) - max(p.cfg.MaxIdle, int(2*p.peakBusy.Load())); n > 0 {
		evict = append(evict, p.idle[:n]...)
	}
	p.idleMu.Unlock()
	hc.mu.Unlock()
	for _, e := range evict {
		e.mu.Lock()
		ec := e.client
		e.mu.Unlock()
		if !p.closeIdle(e, ec) {
			// Lost its connection meanwhile, or busy again.
			e.mu.Lock()
			if e.busy > 0 || e.client == nil {
				p.idleMu.Lock()
				p.unlistIdle(e)
				p.idleMu.Unlock()
			}
			e.mu.Unlock()
		}
	}
}

// closeIdle closes c when it is still hc's connection and hc is idle, and
// reports whether it did.
func (p *Pool) closeIdle(hc *hostConn, c *ssh.Client) bool {
	hc.mu.Lock()
	if hc.busy > 0 || c == nil || hc.client != c {
		if hc.busy == 0 && hc.client == nil {
			p.idleMu.Lock()
			p.unlistIdle(hc)
			p.idleMu.Unlock()
		}
		hc.mu.Unlock()
		return false
	}
	hc.client = nil
	if hc.idleTimer != nil {
		hc.idleTimer.Stop()
		hc.idleTimer = nil
	}
	p.idleMu.Lock()
	p.unlistIdle(hc)
	p.idleMu.Unlock()
	hc.mu.Unlock()
	p.idleClosed.Add(1)
	p.forgetOpen(c)
	_ = c.Close()
	return true
}

// opened counts c as open and returns how many are open.
func (p *Pool) opened(c *ssh.Client) int64 {
	p.openMu.Lock()
	defer p.openMu.Unlock()
	if p.openSet == nil {
		p.openSet = map[*ssh.Client]struct{}{}
	}
	p.openSet[c] = struct{}{}
	n := int64(len(p.openSet))
	if n > p.peakOpen.Load() {
		p.peakOpen.Store(n)
	}
	return n
}

// forgetOpen counts c as closed (once, whoever notices first).
func (p *Pool) forgetOpen(c *ssh.Client) {
	p.openMu.Lock()
	defer p.openMu.Unlock()
	delete(p.openSet, c)
}

func (p *Pool) openCount() int64 {
	p.openMu.Lock()
	defer p.openMu.Unlock()
	return int64(len(p.openSet))
}

// unlistIdle removes hc from the idle list; p.idleMu is held.
func (p *Pool) unlistIdle(hc *hostConn) {
	for i, x := range p.idle {
		if x == hc {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

// keepalive sends keepalive@openssh.com every interval. Any reply, even a
// refusal, means alive. After keepaliveMaxMissed intervals without a reply
// the client is closed, which makes the monitor drop it.
func (p *Pool) keepalive(ctx context.Context, ep *endpoint, client *ssh.Client, dead <-chan struct{}) {
	t := time.NewTicker(p.cfg.KeepaliveInterval)
	defer t.Stop()
	var inflight chan error
	missed := 0
	for {
		select {
		case <-dead:
			return
		case <-p.closeCtx.Done():
			return
		case err := <-inflight:
			inflight = nil
			if err != nil {
				client.Close()
				return
			}
			missed = 0
		case <-t.C:
			if inflight != nil {
				missed++
				if missed >= keepaliveMaxMissed {
					tflog.Debug(ctx, "ssh keepalive: no reply, closing the connection", map[string]any{"host": ep.key, "missed": missed})
					client.Close()
					return
				}
				continue
			}
			ch := make(chan error, 1)
			inflight = ch
			go func() {
				_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
				ch <- err
			}()
		}
	}
}

// connectResult is what one successful connect yields.
type connectResult struct {
	client    *ssh.Client
	presented ssh.PublicKey
	remote    net.Addr
	methods   []string
	attempts  int
	// fromHost is set on failure when the host itself rejected us (host
	// key or authentication), as opposed to a local problem.
	fromHost bool
}

// connect dials ep with retries of transient failures until ctx (the connect
// budget) ends.
func (p *Pool) connect(ctx context.Context, ep *endpoint) (connectResult, error) {
	backoff := connectBackoffStart
	var lastErr error
	for attempt := 1; ; attempt++ {
		res, err := p.connectOnce(ctx, ep)
		res.attempts = attempt
		if err == nil {
			return res, nil
		}
		var final *Error
		if errors.As(err, &final) {
			return res, final
		}
		lastErr = err
		if ctx.Err() != nil || isTimeout(err) {
			if p.closeCtx.Err() != nil {
				return res, newError(KindOther, ep, "", errPoolClosed)
			}
			return res, newError(KindTimeout, ep, "", fmt.Errorf("the connect timeout (%s) ran out after %d attempt(s): %w", p.cfg.Timeout, attempt, lastErr))
		}
		if !isTransient(err) {
			return res, newError(KindConnect, ep, "", err)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < backoff {
			return res, newError(KindConnect, ep, "", fmt.Errorf("gave up after %d attempt(s) within the connect timeout (%s): %w", attempt, p.cfg.Timeout, lastErr))
		}
		tflog.Debug(ctx, "ssh connect failed, retrying", map[string]any{"host": ep.key, "attempt": attempt, "backoff": backoff.String(), "error": err.Error()})
		if p.onConnectRetry != nil {
			p.onConnectRetry(ep.key, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if p.closeCtx.Err() != nil {
				return res, newError(KindOther, ep, "", errPoolClosed)
			}
			return res, newError(KindTimeout, ep, "", fmt.Errorf("the connect timeout (%s) ran out after %d attempt(s): %w", p.cfg.Timeout, attempt, lastErr))
		}
		backoff = min(backoff*2, connectBackoffMax)
	}
}

// attemptState records what the host key callback saw during one handshake.
type attemptState struct {
	mu         sync.Mutex
	presented  ssh.PublicKey
	remote     net.Addr
	accepted   bool
	hostKeyErr error
}

func (a *attemptState) callback(pol hostKeyPolicy) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := pol.check(hostname, remote, key)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.presented, a.remote = key, remote
		if err != nil {
			a.hostKeyErr = err
		} else {
			a.accepted = true
		}
		return err
	}
}

// connectOnce makes one attempt. It returns an *Error for failures that must
// not be retried, and the raw error otherwise (connect classifies it).
func (p *Pool) connectOnce(ctx context.Context, ep *endpoint) (connectResult, error) {
	var res connectResult
	methods, names, cleanup, err := p.authMethods(ctx, ep)
	if err != nil {
		return res, newError(KindAuthFailed, ep, "", err)
	}
	defer cleanup()
	res.methods = names

	var conn net.Conn
	if p.bastion != nil && !ep.bastion {
		bep := p.bastion.ep
		bc, err := p.getClient(ctx, p.bhc, bep)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return res, newError(e.Kind, ep, "", fmt.Errorf("bastion %s: %w", bep.key, e.Err))
			}
			return res, newError(KindConnect, ep, "", fmt.Errorf("bastion %s: %w", bep.key, err))
		}
		conn, err = bc.DialContext(ctx, "tcp", ep.addr)
		if err != nil {
			var oce *ssh.OpenChannelError
			if !errors.As(err, &oce) && ctx.Err() == nil {
				// The bastion connection is broken: forget it so that
				// the retry dials a new one.
				p.bhc.drop(bc)
			}
			return res, fmt.Errorf("through bastion %s: %w", bep.key, err)
		}
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", ep.addr)
		if err != nil {
			return res, err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // not supported through a bastion: the AfterFunc covers it
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })

	at := &attemptState{}
	ccfg := &ssh.ClientConfig{
		User:              ep.user,
		Auth:              methods,
		HostKeyCallback:   at.callback(ep.policy),
		HostKeyAlgorithms: ep.policy.algorithms(ep.addr),
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, ep.addr, ccfg)
	if !stop() && err == nil {
		cc.Close()
		err = ctx.Err()
	}
	at.mu.Lock()
	hostKeyErr, accepted := at.hostKeyErr, at.accepted
	res.presented, res.remote = at.presented, at.remote
	at.mu.Unlock()
	if err != nil {
		conn.Close()
		switch {
		case hostKeyErr != nil:
			res.fromHost = true
			return res, p.hostKeyFailure(ep, hostKeyErr)
		case ctx.Err() != nil:
			return res, err
		case accepted && isAuthFailure(err):
			res.fromHost = true
			return res, newError(KindAuthFailed, ep, "", fmt.Errorf("the host refused every method tried (%s) for user %q: %w",
				strings.Join(names, ", "), ep.user, err))
		case accepted:
			// The key exchange succeeded and authentication broke off:
			// not a transient network failure, and retrying could count
			// as repeated authentication failures on the host.
			return res, newError(KindConnect, ep, "", fmt.Errorf("during authentication: %w", err))
		}
		return res, err
	}
	_ = conn.SetDeadline(time.Time{})
	res.client = ssh.NewClient(cc, chans, reqs)
	return res, nil
}

// authMethods builds the ssh.AuthMethods for ep. The cleanup closes the
// agent connection once the handshake is over.
func (p *Pool) authMethods(ctx context.Context, ep *endpoint) ([]ssh.AuthMethod, []string, func(), error) {
	a := ep.auth
	cleanup := func() {}
	var signers []ssh.Signer
	var names []string
	if a.signer != nil {
		signers = append(signers, a.signer)
	}
	names = append(names, a.describe()...)
	if a.useAgent && p.agent != nil {
		as, closeAgent, err := p.agentSigners(ctx)
		switch {
		case err == nil:
			cleanup = closeAgent
			signers = append(signers, as...)
		case p.agent.identity != "" || (a.signer == nil && a.password == ""):
			return nil, nil, cleanup, err
		default:
			tflog.Debug(ctx, "ssh-agent unavailable, using the other auth methods", map[string]any{"host": ep.key, "error": err.Error()})
		}
	}
	var methods []ssh.AuthMethod
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if a.password != "" {
		pw := a.password
		methods = append(methods,
			ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		cleanup()
		return nil, nil, func() {}, errors.New("no authentication method is configured: set password, private_key, or agent")
	}
	return methods, names, cleanup, nil
}

// agentSigners connects to ssh-agent and returns its signers, filtered by
// agent_identity so that only the selected key is offered (sshd counts
// every offered key against MaxAuthTries).
func (p *Pool) agentSigners(ctx context.Context) ([]ssh.Signer, func(), error) {
	ag := p.agent
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", ag.socket)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach %s: %v", ag, err)
	}
	client := agent.NewClient(conn)
	keys, err := client.List()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("cannot list the keys of %s: %v", ag, err)
	}
	all, err := client.Signers()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("cannot use the keys of %s: %v", ag, err)
	}
	if ag.identity == "" {
		return all, func() { conn.Close() }, nil
	}
	var selected []ssh.Signer
	var comments []string
	for _, k := range keys {
		comments = append(comments, strconv.Quote(k.Comment))
		if !ag.matches(k, k.Comment) {
			continue
		}
		for _, s := range all {
			if keysEqual(s.PublicKey(), k) {
				selected = append(selected, s)
				break
			}
		}
	}
	if len(selected) == 0 {
		conn.Close()
		return nil, nil, fmt.Errorf("agent_identity %q matches none of the %d key(s) in %s (comments: %s)",
			ag.identity, len(keys), ag, strings.Join(comments, ", "))
	}
	return selected, func() { conn.Close() }, nil
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTransient reports connect failures worth retrying: the host is not
// (yet) reachable or dropped the connection before the key exchange.
func isTransient(err error) bool {
	for _, e := range []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET,
		syscall.ECONNABORTED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		// The bastion could not reach the target.
		return oce.Reason == ssh.ConnectionFailed
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary
	}
	msg := err.Error()
	return strings.HasSuffix(msg, ": EOF") || strings.Contains(msg, "connection reset by peer")
}

// isAuthFailure reports a handshake error that means the host refused our
// credentials. Besides x/crypto's own wording, OpenSSH without PAM lists
// keyboard-interactive but answers it with USERAUTH_FAILURE (message type
// 51) at once, which x/crypto reports as an unexpected message: after a
// refused password, that is the error a wrong password gives.
func isAuthFailure(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unable to authenticate") ||
		strings.Contains(msg, "no supported methods remain") ||
		strings.Contains(msg, "authentication failures") ||
		strings.Contains(msg, "too many authentication attempts") ||
		strings.Contains(msg, "unexpected message type 51 ")
}
