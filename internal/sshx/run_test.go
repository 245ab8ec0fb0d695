package sshx

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunStdinRoundTripAndExitStatus(t *testing.T) {
	env := newEnv(t) // real sh on the server side
	p := newPool(t, env.config(t))

	// A body with single quotes, double quotes, backslashes and $ exercises
	// the quoting through the login shell and the timeout wrapper.
	body := `cat; printf '%s\n' "it's \"quoted\" \\ \$HOME" >&2; exit 3`
	stdin := []byte("line one\n'single' \"double\" $(not run) `nor this`\n\x00\x01binary\xff")
	res, err := p.Run(testCtx(t), env.srv.target(), Script{Name: "echo", Body: body}, stdin)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !bytes.Equal(res.Stdout, stdin) {
		t.Errorf("stdout = %q, want %q", res.Stdout, stdin)
	}
	if got, want := string(res.Stderr), "it's \"quoted\" \\ $HOME\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if res.ExitStatus != 3 {
		t.Errorf("exit status = %d, want 3", res.ExitStatus)
	}
	cmds := env.srv.recordedCommands()
	if len(cmds) != 1 || !strings.Contains(cmds[0], "tcp_t='timeout -k 5 ") {
		t.Errorf("command %q lacks the timeout wrapper", cmds)
	}
	if s := p.Stats(); s.Connections != 1 || s.Sessions != 1 {
		t.Errorf("stats = %+v, want 1 connection, 1 session", s)
	}
}

func TestRunWithoutDeadlineHasNoTimeoutWrapper(t *testing.T) {
	env := newEnv(t)
	p := newPool(t, env.config(t))
	res, err := p.Run(context.Background(), env.srv.target(), Script{Name: "x", Body: "echo ok"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "ok\n" || res.ExitStatus != 0 {
		t.Errorf("result = %q / %d", res.Stdout, res.ExitStatus)
	}
	if cmds := env.srv.recordedCommands(); len(cmds) != 1 || cmds[0] != "sh -c 'echo ok'" {
		t.Errorf("commands = %q, want [sh -c 'echo ok']", cmds)
	}
}

func TestRunContextDoneBeforeStart(t *testing.T) {
	env := newEnv(t)
	p := newPool(t, env.config(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Run(ctx, env.srv.target(), Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindTimeout)
	if n := env.srv.execs.Load(); n != 0 {
		t.Errorf("server saw %d execs, want 0", n)
	}
}

func TestRunCommandHangs(t *testing.T) {
	var hang atomic.Bool
	hang.Store(true)
	env := newEnv(t, func(s *testServer) {
		s.onExec = func(e *execRequest) execResult {
			if !hang.Load() {
				return realExec(e)
			}
			<-e.Closed // never finishes on its own
			return execResult{noStatus: true}
		}
	})
	p := newPool(t, env.config(t))
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	_, err := p.Run(ctx, env.srv.target(), Script{Name: "hang", Body: "sleep 1000"}, nil)
	e := wantKind(t, err, KindOutcomeUnknown)
	if e.Script != "hang" || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error = %v", err)
	}
	// The session was closed by us, while the command still ran.
	eventually(t, 5*time.Second, "the server to see the session closed", func() bool { return env.srv.sessionsGone.Load() == 1 })
	if cmds := env.srv.recordedCommands(); len(cmds) != 1 || !strings.Contains(cmds[0], "tcp_t='timeout -k 5 1';") || !strings.Contains(cmds[0], "exec $tcp_t sh -c 'sleep 1000'") {
		t.Errorf("command = %q, want a 1 s remote timeout", cmds)
	}
	// The connection itself is still usable.
	hang.Store(false)
	if res := mustRun(t, p, env.srv.target(), "echo again", nil); string(res.Stdout) != "again\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if c := p.Stats().Connections; c != 1 {
		t.Errorf("connections = %d, want 1", c)
	}
}

func TestRunOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name string
		opt  func(*testServer)
		want string
	}{
		{"connection dropped mid-command", func(s *testServer) {
			s.onExec = func(e *execRequest) execResult {
				_, _ = e.Ch.Write([]byte("partial"))
				return execResult{drop: true}
			}
		}, "may have run"},
		{"connection dropped before exec reply", func(s *testServer) { s.dropBeforeReply = true }, "may have run"},
		{"exit without status", func(s *testServer) {
			s.onExec = func(e *execRequest) execResult { return execResult{noStatus: true} }
		}, "without an exit status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, tt.opt)
			p := newPool(t, env.config(t))
			res, err := p.Run(testCtx(t), env.srv.target(), Script{Name: "apply", Body: "true"}, []byte("in"))
			assertKind(t, err, KindOutcomeUnknown)
			if res != nil {
				t.Errorf("result = %+v, want nil", res)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := env.srv.execs.Load(); n != 1 {
				t.Errorf("execs = %d, want 1", n)
			}
		})
	}
}

func TestRunSessionRefusedThenAccepted(t *testing.T) {
	env := newEnv(t)
	env.srv.refuseSessions.Store(3)
	p := newPool(t, env.config(t))
	var mu sync.Mutex
	retries := 0
	p.onSessionRetry = func(string, error) { mu.Lock(); retries++; mu.Unlock() }

	res := mustRun(t, p, env.srv.target(), "echo ok", nil)
	if string(res.Stdout) != "ok\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if n := env.srv.refused.Load(); n != 3 {
		t.Errorf("server refused %d sessions, want 3", n)
	}
	if n := env.srv.sessionOpens.Load(); n != 4 {
		t.Errorf("session opens = %d, want 4", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if retries != 3 {
		t.Errorf("client retried %d times, want 3", retries)
	}
	if s := p.Stats(); s.Connections != 1 || s.Sessions != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRunSessionRefusedUntilDeadline(t *testing.T) {
	env := newEnv(t)
	env.srv.refuseSessions.Store(1 << 30)
	p := newPool(t, env.config(t))
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	_, err := p.Run(ctx, env.srv.target(), Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindTimeout)
	if !strings.Contains(err.Error(), "MaxSessions") && !strings.Contains(err.Error(), "refused") {
		t.Errorf("error = %v", err)
	}
	if n := env.srv.execs.Load(); n != 0 {
		t.Errorf("execs = %d, want 0", n)
	}
}

func TestRunConcurrentSharesOneConnection(t *testing.T) {
	const runs, maxSessions = 50, 2
	var srv *testServer
	env := newEnv(t, func(s *testServer) {
		srv = s
		s.onExec = func(e *execRequest) execResult {
			// Hold the session until the cap is reached (or briefly), so
			// that overlapping sessions are observed.
			for i := 0; i < 100 && srv.active.Load() < maxSessions; i++ {
				time.Sleep(5 * time.Millisecond)
			}
			_, _ = e.Ch.Write([]byte("ok"))
			return execResult{}
		}
	})
	cfg := env.config(t)
	cfg.MaxSessionsPerHost = maxSessions
	p := newPool(t, cfg)

	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Run(testCtx(t), env.srv.target(), Script{Name: fmt.Sprint("run", i), Body: "true"}, nil)
			if err == nil && string(res.Stdout) != "ok" {
				err = fmt.Errorf("stdout = %q", res.Stdout)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s := p.Stats(); s.Connections != 1 || s.Sessions != runs {
		t.Errorf("stats = %+v, want 1 connection and %d sessions", s, runs)
	}
	if n := env.srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d TCP connections, want 1", n)
	}
	if m := env.srv.maxActive.Load(); m != maxSessions {
		t.Errorf("server saw at most %d concurrent sessions, want exactly %d", m, maxSessions)
	}
}

// sudoExec strips the sudo prefix the client must send and runs the rest
// with the real sh, so the nested quoting is exercised.
func sudoExec(e *execRequest) execResult {
	rest, ok := strings.CutPrefix(e.Command, "sudo -n ")
	if !ok {
		_, _ = e.Ch.Stderr().Write([]byte("no sudo prefix"))
		return execResult{status: 99}
	}
	e.Command = rest
	return realExec(e)
}

func TestRunSudo(t *testing.T) {
	tests := []struct {
		name     string
		sudo     bool
		user     string
		wantSudo bool
	}{
		{"non-root user with sudo", true, "deploy", true},
		{"root with sudo", true, "root", false},
		{"non-root without sudo", false, "deploy", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, func(s *testServer) {
				s.onExec = func(e *execRequest) execResult {
					if strings.HasPrefix(e.Command, "sudo") {
						return sudoExec(e)
					}
					return realExec(e)
				}
			})
			cfg := env.config(t)
			cfg.Sudo = tt.sudo
			cfg.User = tt.user
			p := newPool(t, cfg)
			res := mustRun(t, p, env.srv.target(), `read x; echo "got $x, it's fine"`, []byte("input\n"))
			if got := string(res.Stdout); got != "got input, it's fine\n" || res.ExitStatus != 0 {
				t.Errorf("result = %q / %d (stderr %q)", got, res.ExitStatus, res.Stderr)
			}
			cmd := env.srv.recordedCommands()[0]
			if got := strings.HasPrefix(cmd, "sudo -n sh -c "); got != tt.wantSudo {
				t.Errorf("command %q: sudo prefix = %v, want %v", cmd, got, tt.wantSudo)
			}
		})
	}
}

func TestRunSudoFailures(t *testing.T) {
	tests := []struct {
		stderr string
		want   Kind
	}{
		{"sudo: a password is required\n", KindSudoPassword},
		{"sudo: sorry, you must have a tty to run sudo\n", KindSudoTTY},
		{"some other failure\n", KindOther}, // plain non-zero exit: no error
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			env := newEnv(t, func(s *testServer) {
				s.onExec = func(e *execRequest) execResult {
					_, _ = e.Ch.Stderr().Write([]byte(tt.stderr))
					return execResult{status: 1}
				}
			})
			cfg := env.config(t)
			cfg.Sudo, cfg.User = true, "deploy"
			p := newPool(t, cfg)
			res, err := p.Run(testCtx(t), env.srv.target(), Script{Name: "apply", Body: "true"}, nil)
			if tt.want == KindOther {
				if err != nil || res.ExitStatus != 1 {
					t.Fatalf("got %v / %+v, want exit status 1 without error", err, res)
				}
				return
			}
			e := wantKind(t, err, tt.want)
			if !strings.Contains(e.Error(), "deploy") || res == nil || string(res.Stderr) != tt.stderr {
				t.Errorf("error %v, result %+v", err, res)
			}
		})
	}
}

func TestKeepaliveDropsDeadConnection(t *testing.T) {
	env := newEnv(t)
	cfg := env.config(t)
	cfg.KeepaliveInterval = 50 * time.Millisecond
	p := newPool(t, cfg)

	mustRun(t, p, env.srv.target(), "true", nil)
	eventually(t, 5*time.Second, "keepalives", func() bool { return env.srv.keepalives.Load() >= 2 })
	if n := env.srv.connsClosed.Load(); n != 0 {
		t.Fatalf("connection closed while keepalives were answered")
	}

	env.srv.ignoreKeepalive.Store(true)
	eventually(t, 10*time.Second, "the client to close the silent connection", func() bool { return env.srv.connsClosed.Load() == 1 })
	env.srv.ignoreKeepalive.Store(false)

	res := mustRun(t, p, env.srv.target(), "echo back", nil)
	if string(res.Stdout) != "back\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if s := p.Stats(); s.Connections != 2 {
		t.Errorf("connections = %d, want 2 (reconnected)", s.Connections)
	}
	if n := env.srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

func TestRunOutputCapped(t *testing.T) {
	var b cappedBuffer
	chunk := bytes.Repeat([]byte("x"), 9<<20)
	for range 2 {
		if n, err := b.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if len(b.Bytes()) != MaxOutputBytes || !b.truncated {
		t.Errorf("kept %d bytes, truncated=%v", len(b.Bytes()), b.truncated)
	}
}

func TestRunAfterClose(t *testing.T) {
	env := newEnv(t)
	p := newPool(t, env.config(t))
	mustRun(t, p, env.srv.target(), "true", nil)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := p.Run(testCtx(t), env.srv.target(), Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindOther)
	eventually(t, 5*time.Second, "the server to see the connection closed", func() bool { return env.srv.connsClosed.Load() == 1 })
}

// TestTimeoutProbeOncePerHost: the `timeout -k` probe runs in the first
// session of a host only; later sessions, also on a new connection, use
// what it learned, and no session's stderr shows the probe's verdict.
func TestTimeoutProbeOncePerHost(t *testing.T) {
	env := newEnv(t) // real sh on the server side
	cfg := env.config(t)
	cfg.IdleTimeout = 50 * time.Millisecond
	p := newPool(t, cfg)
	for i := range 3 {
		if i == 2 {
			eventually(t, 5*time.Second, "the idle connection to close", func() bool { return p.Stats().Open == 0 })
		}
		res := mustRun(t, p, env.srv.target(), `echo out; echo err >&2`, nil)
		if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
			t.Errorf("run %d: stdout %q, stderr %q", i, res.Stdout, res.Stderr)
		}
	}
	cmds := env.srv.recordedCommands()
	if len(cmds) != 3 {
		t.Fatalf("%d commands, want 3", len(cmds))
	}
	if !strings.Contains(cmds[0], "if timeout -k 5 1 true") {
		t.Errorf("first command %q does not probe", cmds[0])
	}
	for _, c := range cmds[1:] {
		if !strings.HasPrefix(c, "exec timeout -k 5 ") || strings.Contains(c, "true") {
			t.Errorf("later command %q probes again or lacks the learned wrapper", c)
		}
	}
	if s := p.Stats(); s.Connections != 2 {
		t.Errorf("stats = %+v, want 2 connections (one closed idle)", s)
	}
}
