package sshx

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestBastionSharedByTargets(t *testing.T) {
	key := newEd25519Key(t)
	bastion := newTestServer(t, withClientKey(key))
	var targets []*testServer
	for range 3 {
		targets = append(targets, newTestServer(t, withClientKey(key)))
	}
	p := newPool(t, Config{
		PrivateKey: key.pemText(t, ""),
		Bastion:    &BastionConfig{Host: bastion.host, Port: bastion.port, User: "jump", HostKey: bastion.hostKeyLine()},
	})

	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for round := range 3 {
		for i, srv := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := p.Run(testCtx(t), srv.target(), Script{Name: "x", Body: fmt.Sprintf("echo %d-%d", round, i)}, nil)
				if err == nil && string(res.Stdout) != fmt.Sprintf("%d-%d\n", round, i) {
					err = fmt.Errorf("stdout = %q", res.Stdout)
				}
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := bastion.accepted.Load(); n != 1 {
		t.Errorf("bastion accepted %d connections, want 1", n)
	}
	if n := bastion.directTCPIP.Load(); n != 3 {
		t.Errorf("bastion forwarded %d connections, want 3 (one per target)", n)
	}
	if n := bastion.execs.Load(); n != 0 {
		t.Errorf("bastion ran %d commands, want 0", n)
	}
	for i, srv := range targets {
		if n := srv.accepted.Load(); n != 1 {
			t.Errorf("target %d accepted %d connections, want 1", i, n)
		}
		if n := srv.execs.Load(); n != 3 {
			t.Errorf("target %d ran %d commands, want 3", i, n)
		}
	}
	if s := p.Stats(); s.Connections != 4 || s.Sessions != 9 {
		t.Errorf("stats = %+v, want 4 connections (bastion + 3) and 9 sessions", s)
	}
}

func TestBastionWrongHostKey(t *testing.T) {
	key := newEd25519Key(t)
	bastion := newTestServer(t, withClientKey(key))
	target := newTestServer(t, withClientKey(key))
	p := newPool(t, Config{
		PrivateKey: key.pemText(t, ""),
		Bastion:    &BastionConfig{Host: bastion.host, Port: bastion.port, HostKey: newEd25519Key(t).authorized()},
	})
	_, err := p.Run(testCtx(t), target.target(), Script{Name: "read", Body: "true"}, nil)
	e := wantKind(t, err, KindHostKeyMismatch)
	if !strings.Contains(e.Error(), "bastion root@"+bastion.addr) || !strings.Contains(e.Error(), "bastion_host_key") {
		t.Errorf("error = %v, want it to name the bastion and bastion_host_key", err)
	}
	if n := bastion.accepted.Load(); n != 1 {
		t.Errorf("bastion accepted %d connections, want 1", n)
	}
	if n := bastion.directTCPIP.Load() + target.accepted.Load(); n != 0 {
		t.Errorf("the target was dialled (%d), want never", n)
	}
}

func TestBastionUnknownWithoutKnownHosts(t *testing.T) {
	key := newEd25519Key(t)
	bastion := newTestServer(t, withClientKey(key))
	target := newTestServer(t, withClientKey(key))
	// host_key is the target's key; it is not used for the bastion.
	p := newPool(t, Config{
		PrivateKey: key.pemText(t, ""),
		HostKey:    target.hostKeyLine(),
		Bastion:    &BastionConfig{Host: bastion.host, Port: bastion.port},
	})
	_, err := p.Run(testCtx(t), Target{Host: target.host, Port: target.port}, Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindUnknownHost)
	if target.accepted.Load() != 0 {
		t.Error("target dialled")
	}
}

func TestBastionOwnCredentials(t *testing.T) {
	key := newEd25519Key(t)
	bastion := newTestServer(t, func(s *testServer) { s.password = "jump-pw" })
	target := newTestServer(t, withClientKey(key))
	p := newPool(t, Config{
		PrivateKey: key.pemText(t, ""),
		Bastion:    &BastionConfig{Host: bastion.host, Port: bastion.port, Password: "jump-pw", HostKey: bastion.hostKeyLine()},
	})
	mustRun(t, p, target.target(), "true", nil)
	if bastion.handshakes.Load() != 1 || target.handshakes.Load() != 1 {
		t.Errorf("handshakes bastion=%d target=%d", bastion.handshakes.Load(), target.handshakes.Load())
	}
}
