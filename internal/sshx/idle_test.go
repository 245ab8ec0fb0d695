package sshx

import (
	"sync"
	"testing"
	"time"
)

// TestIdleConnectionsCappedAndClosed: 40 hosts, 4 operations at a time
// (Terraform's -parallelism), two scripts per host back to back (a plan's
// read then an apply): one login per host and no more (the connection is
// reused while the host is busy), at most 3 × parallelism open at once
// (busy, plus the idle cap: twice the hosts seen busy at once, above
// MaxIdle), no more than the cap open when the fleet is done, none after
// IdleTimeout; a host used again after that logs in again (counted).
func TestIdleConnectionsCappedAndClosed(t *testing.T) {
	const hosts, par, maxIdle = 40, 4, 3
	k := newEd25519Key(t)
	var srvs []*testServer
	for range hosts {
		srvs = append(srvs, newTestServer(t, withClientKey(k)))
	}
	cfg := Config{PrivateKey: k.pemText(t, ""), Timeout: 5 * time.Second, IdleTimeout: 500 * time.Millisecond, MaxIdle: maxIdle}
	p := newPool(t, cfg)

	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, s := range srvs {
		sem <- struct{}{}
		wg.Add(1)
		go func(s *testServer) {
			defer wg.Done()
			defer func() { <-sem }()
			mustRun(t, p, s.target(), "true", nil)
			mustRun(t, p, s.target(), "true", nil)
		}(s)
	}
	wg.Wait()
	st := p.Stats()
	if st.Connections != hosts || st.Sessions != 2*hosts {
		t.Errorf("stats = %+v, want %d connections (one login per host) and %d sessions", st, hosts, 2*hosts)
	}
	for i, s := range srvs {
		if n := s.handshakes.Load(); n != 1 {
			t.Errorf("host %d: %d logins, want 1", i, n)
		}
	}
	idleCap := max(int64(maxIdle), int64(2*par))
	if st.PeakOpen > 3*par {
		t.Errorf("peak open connections %d, want at most 3 × parallelism %d", st.PeakOpen, par)
	}
	if st.Open > idleCap {
		t.Errorf("%d connections open after the fleet was done, want at most the idle cap %d", st.Open, idleCap)
	}
	if st.IdleClosed < hosts-idleCap {
		t.Errorf("%d connections closed for being idle, want at least %d", st.IdleClosed, hosts-idleCap)
	}
	eventually(t, 5*time.Second, "idle connections to close", func() bool { return p.Stats().Open == 0 })
	closed := int64(0)
	for _, s := range srvs {
		closed += s.connsClosed.Load()
	}
	eventually(t, 5*time.Second, "the hosts to see every connection end", func() bool {
		closed = 0
		for _, s := range srvs {
			closed += s.connsClosed.Load()
		}
		return closed == hosts
	})

	// Used again after its connection was closed: one more login.
	mustRun(t, p, srvs[0].target(), "true", nil)
	if n := srvs[0].handshakes.Load(); n != 2 {
		t.Errorf("host 0: %d logins after reuse past the idle timeout, want 2", n)
	}
	if st := p.Stats(); st.Connections != hosts+1 || st.Open != 1 {
		t.Errorf("stats = %+v, want %d connections and 1 open", st, hosts+1)
	}
}

// TestBusyConnectionNotClosed: a script that runs longer than IdleTimeout
// keeps its connection, and one that waits for a session slot counts as
// busy too: every script of the host runs on one login.
func TestBusyConnectionNotClosed(t *testing.T) {
	env := newEnv(t, func(s *testServer) {
		s.onExec = func(e *execRequest) execResult {
			time.Sleep(400 * time.Millisecond)
			return execResult{}
		}
	})
	cfg := env.config(t)
	cfg.IdleTimeout, cfg.MaxIdle, cfg.MaxSessionsPerHost = 100*time.Millisecond, 1, 1
	p := newPool(t, cfg)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustRun(t, p, env.srv.target(), "sleep", nil)
		}()
	}
	wg.Wait()
	if n := env.srv.handshakes.Load(); n != 1 {
		t.Errorf("%d logins for 3 scripts on one host, want 1", n)
	}
	if st := p.Stats(); st.IdleClosed != 0 || st.Open != 1 {
		t.Errorf("stats = %+v, want the connection open and none closed yet", st)
	}
	eventually(t, 5*time.Second, "the idle connection to close", func() bool { return p.Stats().Open == 0 })
}
