package sshx

// An in-process SSH server for the tests: x/crypto/ssh on 127.0.0.1, with
// counters for what it saw and hooks to misbehave.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testKey is a key pair with its forms used in configs.
type testKey struct {
	signer ssh.Signer
	priv   any
	pub    ssh.PublicKey
}

func newEd25519Key(t testing.TB) *testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{signer: s, priv: priv, pub: s.PublicKey()}
}

func newECDSAKey(t testing.TB) *testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{signer: s, priv: priv, pub: s.PublicKey()}
}

// pemText is the OpenSSH PEM form of the private key, encrypted when
// passphrase is not empty.
func (k *testKey) pemText(t testing.TB, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k.priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k.priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

var (
	encryptedOnce sync.Once
	encryptedKey  *testKey
	encryptedPEM  string
)

// sharedEncryptedKey is one key encrypted with passphrase "s3cret", built
// once: OpenSSH key encryption (bcrypt) is slow, more so under -race.
func sharedEncryptedKey(t testing.TB) (*testKey, string) {
	encryptedOnce.Do(func() {
		encryptedKey = newEd25519Key(t)
		encryptedPEM = encryptedKey.pemText(t, "s3cret")
	})
	if encryptedKey == nil {
		t.Fatal("no encrypted key")
	}
	return encryptedKey, encryptedPEM
}

// authorized is the authorized_keys line of the public key.
func (k *testKey) authorized() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.pub)))
}

// signCert makes a certificate for pub signed by k.
func (k *testKey) signCert(t testing.TB, pub ssh.PublicKey, certType uint32, principals ...string) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{
		Key:             pub,
		Serial:          1,
		CertType:        certType,
		KeyId:           "test",
		ValidPrincipals: principals,
		ValidAfter:      0,
		ValidBefore:     ssh.CertTimeInfinity,
	}
	if err := c.SignCert(rand.Reader, k.signer); err != nil {
		t.Fatal(err)
	}
	return c
}

// execRequest is one exec the server received.
type execRequest struct {
	Command string
	Ch      ssh.Channel
	// Closed is closed when the client closes the session channel.
	Closed <-chan struct{}
}

// execResult says how the server ends an exec.
type execResult struct {
	status   int
	noStatus bool // close the channel without exit-status
	drop     bool // close the whole connection instead
}

type testServer struct {
	t    *testing.T
	ln   net.Listener
	addr string
	host string
	port int

	// Set before start (options).
	hostKeys        []ssh.Signer
	authorized      []ssh.PublicKey // accepted client keys
	userCA          ssh.PublicKey   // accept user certificates signed by it
	password        string          // accept this password
	kbdPassword     string          // accept this keyboard-interactive answer
	kbdRefuse       bool            // offer keyboard-interactive and refuse it at once, as OpenSSH without PAM does
	stall           bool            // accept TCP, never speak SSH
	dropBeforeReply bool            // close the connection on exec before replying
	onExec          func(e *execRequest) execResult

	// Runtime controls.
	// Hosts that hold a session: the server stops reading the connection
	// (it never answers again, also not the client's channel close, as
	// OpenSSH does for a session whose command runs) when a session open
	// arrives (holdSessionOpen, never answered), when an exec arrives
	// (holdExec, never answered) or right after answering an exec
	// (holdAfterExec). frozenEnded counts frozen connections the client
	// closed.
	holdSessionOpen atomic.Bool
	holdExec        atomic.Bool
	holdAfterExec   atomic.Bool
	frozenEnded     atomic.Int64
	refuseSessions  atomic.Int64 // refuse this many session opens
	ignoreKeepalive atomic.Bool

	// Observations.
	accepted      atomic.Int64 // TCP connections
	handshakes    atomic.Int64 // authenticated connections
	connsClosed   atomic.Int64 // authenticated connections that ended
	sessionOpens  atomic.Int64
	refused       atomic.Int64
	execs         atomic.Int64
	active        atomic.Int64
	maxActive     atomic.Int64
	keepalives    atomic.Int64
	passwordTries atomic.Int64 // password authentication attempts
	directTCPIP   atomic.Int64
	sessionsGone  atomic.Int64 // sessions closed by the client before the server ended them

	mu       sync.Mutex
	commands []string
	offered  []string // authorized-key lines of keys offered for publickey auth
	conns    []net.Conn
	done     chan struct{}
	wg       sync.WaitGroup
}

// newTestServer starts a server on a fresh loopback port. opts run before
// it listens.
func newTestServer(t *testing.T, opts ...func(*testServer)) *testServer {
	return newTestServerAt(t, "127.0.0.1:0", opts...)
}

func newTestServerAt(t *testing.T, addr string, opts ...func(*testServer)) *testServer {
	t.Helper()
	s := &testServer{t: t, done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if len(s.hostKeys) == 0 {
		s.hostKeys = []ssh.Signer{newEd25519Key(t).signer}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	h, p, _ := net.SplitHostPort(s.addr)
	s.host = h
	s.port, _ = strconv.Atoi(p)
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// hostKeyLine is the host_key value pinning the server's first host key.
func (s *testServer) hostKeyLine() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.hostKeys[0].PublicKey())))
}

func (s *testServer) target() Target {
	return Target{Host: s.host, Port: s.port, HostKey: s.hostKeyLine()}
}

func (s *testServer) recordedCommands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

func (s *testServer) offeredKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.offered...)
}

func (s *testServer) config() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}
	if len(s.authorized) > 0 || s.userCA != nil {
		checker := &ssh.CertChecker{
			IsUserAuthority: func(auth ssh.PublicKey) bool { return s.userCA != nil && keysEqual(auth, s.userCA) },
		}
		cfg.PublicKeyCallback = func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			s.offered = append(s.offered, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
			s.mu.Unlock()
			if _, ok := key.(*ssh.Certificate); ok {
				return checker.Authenticate(md, key)
			}
			for _, a := range s.authorized {
				if keysEqual(a, key) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("key not authorized")
		}
	}
	if s.password != "" {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.passwordTries.Add(1)
			if string(pw) == s.password {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	if s.kbdRefuse {
		cfg.KeyboardInteractiveCallback = func(ssh.ConnMetadata, ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			return nil, errors.New("no keyboard-interactive devices")
		}
	}
	if s.kbdPassword != "" {
		cfg.KeyboardInteractiveCallback = func(_ ssh.ConnMetadata, client ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := client("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(ans) == 1 && ans[0] == s.kbdPassword {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("wrong answer")
		}
	}
	return cfg
}

func (s *testServer) serve() {
	defer s.wg.Done()
	cfg := s.config()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(nc, cfg)
		}()
	}
}

// freezeConn is a server connection that can stop answering: once frozen,
// whatever arrives is discarded, and the SSH layer reading it sees nothing
// more until the client closes the connection.
type freezeConn struct {
	net.Conn
	srv    *testServer
	frozen atomic.Bool
}

func (c *freezeConn) freeze() { c.frozen.Store(true) }

func (c *freezeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.frozen.Load() {
		return n, err
	}
	if err == nil {
		_, err = io.Copy(io.Discard, c.Conn) // until the client closes
	}
	c.srv.frozenEnded.Add(1)
	if err == nil {
		err = io.EOF
	}
	return 0, err
}

func (s *testServer) serveConn(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	if s.stall {
		_, _ = io.Copy(io.Discard, nc) // until the client gives up
		return
	}
	fc := &freezeConn{Conn: nc, srv: s}
	sc, chans, reqs, err := ssh.NewServerConn(fc, cfg)
	if err != nil {
		return
	}
	s.handshakes.Add(1)
	defer s.connsClosed.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for r := range reqs {
			if r.Type == "keepalive@openssh.com" {
				s.keepalives.Add(1)
				if s.ignoreKeepalive.Load() {
					continue
				}
			}
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	var chWG sync.WaitGroup
	for nch := range chans {
		chWG.Add(1)
		go func() {
			defer chWG.Done()
			switch nch.ChannelType() {
			case "session":
				if s.holdSessionOpen.Load() {
					fc.freeze() // never answered
					return
				}
				s.handleSession(sc, fc, nch)
			case "direct-tcpip":
				s.handleDirect(nch)
			default:
				_ = nch.Reject(ssh.UnknownChannelType, "unsupported")
			}
		}()
	}
	chWG.Wait()
}

func (s *testServer) takeRefusal() bool {
	for {
		n := s.refuseSessions.Load()
		if n <= 0 {
			return false
		}
		if s.refuseSessions.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (s *testServer) handleSession(sc *ssh.ServerConn, fc *freezeConn, nch ssh.NewChannel) {
	s.sessionOpens.Add(1)
	if s.takeRefusal() {
		s.refused.Add(1)
		_ = nch.Reject(ssh.ResourceShortage, "too many sessions")
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	cur := s.active.Add(1)
	for {
		m := s.maxActive.Load()
		if cur <= m || s.maxActive.CompareAndSwap(m, cur) {
			break
		}
	}
	var once sync.Once
	release := func() { once.Do(func() { s.active.Add(-1) }) }
	defer release()
	closed := make(chan struct{})
	finished := make(chan struct{})
	execStarted := false
	for req := range reqs {
		if req.Type != "exec" || execStarted {
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			continue
		}
		s.execs.Add(1)
		s.mu.Lock()
		s.commands = append(s.commands, payload.Command)
		s.mu.Unlock()
		if s.dropBeforeReply {
			sc.Close()
			continue
		}
		if s.holdExec.Load() {
			fc.freeze() // never answered
			continue
		}
		_ = req.Reply(true, nil)
		if s.holdAfterExec.Load() {
			fc.freeze() // started, and never heard of again
			continue
		}
		execStarted = true
		e := &execRequest{Command: payload.Command, Ch: ch, Closed: closed}
		go func() {
			handler := s.onExec
			if handler == nil {
				handler = realExec
			}
			r := handler(e)
			if r.drop {
				close(finished)
				sc.Close()
				return
			}
			if !r.noStatus {
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(r.status)}))
			}
			// Count the session as over before the client can see it end.
			release()
			close(finished)
			ch.Close()
		}()
	}
	close(closed)
	if execStarted {
		select {
		case <-finished:
		default:
			s.sessionsGone.Add(1)
			<-finished
		}
	}
	ch.Close()
}

// realExec runs the command with the local sh, like sshd would run it with
// the user's shell. Only the tests' own script bodies reach it.
func realExec(e *execRequest) execResult {
	cmd := exec.Command("sh", "-c", e.Command)
	cmd.Stdin = e.Ch
	cmd.Stdout = e.Ch
	cmd.Stderr = e.Ch.Stderr()
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() >= 0 {
			return execResult{status: ee.ExitCode()}
		}
		return execResult{status: 128 + 9}
	}
	if err != nil {
		return execResult{status: 127}
	}
	return execResult{}
}

// handleDirect serves a bastion's direct-tcpip channel to a loopback target.
func (s *testServer) handleDirect(nch ssh.NewChannel) {
	s.directTCPIP.Add(1)
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &p); err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, "bad payload")
		return
	}
	if ip := net.ParseIP(p.Host); ip == nil || !ip.IsLoopback() {
		_ = nch.Reject(ssh.Prohibited, "loopback only")
		return
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))), 5*time.Second)
	if err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(ch, c)
		_ = ch.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, ch)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	select {
	case <-done:
	case <-s.done:
	}
	c.Close()
	ch.Close()
}

// withClientKey authorizes k.
func withClientKey(k *testKey) func(*testServer) {
	return func(s *testServer) { s.authorized = append(s.authorized, k.pub) }
}

// testEnv is a client key plus a server that accepts it.
type testEnv struct {
	key *testKey
	srv *testServer
}

func newEnv(t *testing.T, opts ...func(*testServer)) *testEnv {
	t.Helper()
	k := newEd25519Key(t)
	srv := newTestServer(t, append([]func(*testServer){withClientKey(k)}, opts...)...)
	return &testEnv{key: k, srv: srv}
}

// config is a Config that reaches env.srv with a pinned host key on the
// target (set through Target) and the client key.
func (e *testEnv) config(t testing.TB) Config {
	return Config{
		PrivateKey: e.key.pemText(t, ""),
		Timeout:    5 * time.Second,
	}
}

func newPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// testCtx is a context with a generous deadline, so the remote timeout
// wrapper is in use as in production.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond for up to d (synchronisation, not a performance
// assertion).
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertKind is wantKind where the caller does not need the *Error.
func assertKind(t *testing.T, err error, want Kind) {
	t.Helper()
	_ = wantKind(t, err, want)
}

func wantKind(t *testing.T, err error, want Kind) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %s", want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if e.Kind != want {
		t.Fatalf("kind = %s, want %s; error: %v", e.Kind, want, err)
	}
	return e
}

func mustRun(t *testing.T, p *Pool, tg Target, body string, stdin []byte) *Result {
	t.Helper()
	res, err := p.Run(testCtx(t), tg, Script{Name: "test", Body: body}, stdin)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}
