package sshx

import (
	"context"
	"strings"
	"testing"
	"time"
)

// deadlineBound is how far past its deadline a Run may return: the session
// close grace plus scheduling slack. A correctness bound (the call ends),
// not a performance assertion.
const deadlineBound = 3 * time.Second

// runWithin runs body on tg with a deadline d away and fails the test if the
// call has not returned by d plus deadlineBound (instead of hanging).
func runWithin(t *testing.T, p *Pool, tg Target, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, tg, Script{Name: "held", Body: "echo ran"}, []byte("input"))
		done <- err
	}()
	select {
	case err := <-done:
		if el := time.Since(start); el > d+deadlineBound {
			t.Errorf("Run returned after %s, want at most %s past its %s deadline", el.Round(time.Millisecond), deadlineBound, d)
		}
		return err
	case <-time.After(d + deadlineBound):
		t.Fatalf("Run has not returned %s after its %s deadline", deadlineBound, d)
		return nil
	}
}

// TestRunDeadlineHoldsWhenHostHoldsSession: a host that stops answering at
// each stage of a run (the session open, the exec request, after the exec
// started) cannot hold the caller past its deadline. The connection is
// closed, the error says whether the script may have started, and the next
// run dials a new connection.
func TestRunDeadlineHoldsWhenHostHoldsSession(t *testing.T) {
	tests := []struct {
		name  string
		hold  func(s *testServer, on bool)
		kind  Kind
		execs int64
		want  string
	}{
		{"session open never answered", func(s *testServer, on bool) { s.holdSessionOpen.Store(on) }, KindTimeout, 0, "nothing was started"},
		{"exec never answered", func(s *testServer, on bool) { s.holdExec.Store(on) }, KindOutcomeUnknown, 1, "connection was closed"},
		{"exec started, never ends", func(s *testServer, on bool) { s.holdAfterExec.Store(on) }, KindOutcomeUnknown, 1, "connection was closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			tt.hold(env.srv, true)
			p := newPool(t, env.config(t))
			err := runWithin(t, p, env.srv.target(), 1500*time.Millisecond)
			e := wantKind(t, err, tt.kind)
			if !strings.Contains(e.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", e, tt.want)
			}
			if n := env.srv.execs.Load(); n != tt.execs {
				t.Errorf("server saw %d execs, want %d", n, tt.execs)
			}
			eventually(t, 5*time.Second, "the server to see the held connection closed", func() bool { return env.srv.frozenEnded.Load() == 1 })

			// The pool forgot that connection: the next run redials.
			tt.hold(env.srv, false)
			if res := mustRun(t, p, env.srv.target(), "echo again", nil); string(res.Stdout) != "again\n" {
				t.Errorf("stdout = %q", res.Stdout)
			}
			if n := env.srv.accepted.Load(); n != 2 {
				t.Errorf("server accepted %d connections, want 2 (a redial)", n)
			}
		})
	}
}

// TestRunSessionOpenUnansweredWithoutDeadline: without a deadline in ctx the
// session open is bounded by the connect budget (Config.Timeout).
func TestRunSessionOpenUnansweredWithoutDeadline(t *testing.T) {
	env := newEnv(t)
	env.srv.holdSessionOpen.Store(true)
	cfg := env.config(t)
	cfg.Timeout = time.Second
	p := newPool(t, cfg)
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(context.Background(), env.srv.target(), Script{Name: "x", Body: "true"}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		assertKind(t, err, KindTimeout)
	case <-time.After(cfg.Timeout + deadlineBound):
		t.Fatalf("Run has not returned %s after the %s connect budget", deadlineBound, cfg.Timeout)
	}
}
