package sshx

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runAsync runs p.Run in a goroutine and fails the test if it has not
// returned after limit (a guard against hangs, not a performance check).
func runAsync(t *testing.T, ctx context.Context, p *Pool, tg Target, limit time.Duration) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, tg, Script{Name: "probe", Body: "echo ok"}, nil)
		ch <- err
	}()
	select {
	case err := <-ch:
		return err
	case <-time.After(limit):
		t.Fatalf("Run did not return within %s", limit)
		return nil
	}
}

func TestConnectStalledHandshakeTimesOut(t *testing.T) {
	env := newEnv(t, func(s *testServer) { s.stall = true })
	cfg := env.config(t)
	cfg.Timeout = 500 * time.Millisecond
	p := newPool(t, cfg)
	err := runAsync(t, testCtx(t), p, env.srv.target(), 5*cfg.Timeout)
	e := wantKind(t, err, KindTimeout)
	if !strings.Contains(e.Error(), "connect timeout (500ms)") {
		t.Errorf("error = %v", err)
	}
	if n := env.srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1 (a stalled handshake uses the whole budget)", n)
	}
	if p.Stats().Connections != 0 {
		t.Errorf("stats = %+v", p.Stats())
	}
}

func TestConnectCallerDeadlineShorterThanBudget(t *testing.T) {
	env := newEnv(t, func(s *testServer) { s.stall = true })
	cfg := env.config(t)
	cfg.Timeout = 30 * time.Second
	p := newPool(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := runAsync(t, ctx, p, env.srv.target(), 10*time.Second)
	assertKind(t, err, KindTimeout)
}

// freePort returns a loopback port with nothing listening on it.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConnectRetriesUntilServerUp(t *testing.T) {
	addr := freePort(t)
	key := newEd25519Key(t)
	host := newEd25519Key(t)
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)

	p := newPool(t, Config{PrivateKey: key.pemText(t, ""), Timeout: 20 * time.Second})
	retried := make(chan struct{}, 100)
	var retries atomic.Int64
	p.onConnectRetry = func(_ string, err error) {
		retries.Add(1)
		retried <- struct{}{}
	}
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	tg := Target{Host: "127.0.0.1", Port: port, HostKey: host.authorized()}
	go func() {
		res, err := p.Run(testCtx(t), tg, Script{Name: "probe", Body: "echo up"}, nil)
		done <- out{res, err}
	}()
	select {
	case <-retried: // the first dial was refused
	case o := <-done:
		t.Fatalf("Run returned before any retry: %v", o.err)
	case <-time.After(20 * time.Second):
		t.Fatal("no retry")
	}
	newTestServerAt(t, addr, withClientKey(key), func(s *testServer) { s.hostKeys = append(s.hostKeys, host.signer) })
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatalf("Run: %v", o.err)
		}
		if string(o.res.Stdout) != "up\n" {
			t.Errorf("stdout = %q", o.res.Stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if retries.Load() < 1 {
		t.Errorf("retries = %d", retries.Load())
	}
	if c := p.Stats().Connections; c != 1 {
		t.Errorf("connections = %d, want 1", c)
	}
}

func TestConnectRefusedGivesUpWithinBudget(t *testing.T) {
	addr := freePort(t)
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	key := newEd25519Key(t)
	p := newPool(t, Config{PrivateKey: key.pemText(t, ""), Timeout: time.Second, InsecureIgnoreHostKey: true})
	var retries atomic.Int64
	p.onConnectRetry = func(string, error) { retries.Add(1) }
	err := runAsync(t, testCtx(t), p, Target{Host: host, Port: port}, 5*time.Second)
	e := wantKind(t, err, KindConnect)
	if !strings.Contains(e.Error(), "refused") || !strings.Contains(e.Error(), "attempt") {
		t.Errorf("error = %v", err)
	}
	// 250 ms then 500 ms fit in one second; the next 1 s wait does not.
	if n := retries.Load(); n != 2 {
		t.Errorf("retries = %d, want 2", n)
	}
}
