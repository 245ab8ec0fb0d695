package sshx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostPort is the known_hosts name of the server ("[127.0.0.1]:port").
func (s *testServer) hostPort() string { return knownhosts.Normalize(s.addr) }

func TestHostKeyMismatchPinned(t *testing.T) {
	env := newEnv(t)
	p := newPool(t, env.config(t))
	tg := env.srv.target()
	tg.HostKey = newEd25519Key(t).authorized()

	for i := range 2 {
		_, err := p.Run(testCtx(t), tg, Script{Name: "read", Body: "true"}, nil)
		e := wantKind(t, err, KindHostKeyMismatch)
		if i == 0 {
			want := "host key mismatch for root@" + env.srv.addr + " (script \"read\"): the host presented ssh-ed25519 key "
			if !strings.HasPrefix(e.Error(), want) {
				t.Errorf("error = %q, want prefix %q", e.Error(), want)
			}
		}
	}
	// No retry within the first Run, and no new attempt by the second.
	if n := env.srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want exactly 1", n)
	}
	if n := env.srv.handshakes.Load() + env.srv.execs.Load(); n != 0 {
		t.Errorf("server saw %d authenticated connections/execs, want 0", n)
	}
	if s := p.Stats(); s.Connections != 0 || s.Sessions != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestUnknownHost(t *testing.T) {
	env := newEnv(t)
	other := newEd25519Key(t)
	cfg := env.config(t)
	cfg.KnownHostsFile = writeKnownHosts(t, "[127.0.0.1]:1 "+other.authorized(), "example.org "+other.authorized())
	p := newPool(t, cfg)
	tg := env.srv.target()
	tg.HostKey = ""
	_, err := p.Run(testCtx(t), tg, Script{Name: "x", Body: "true"}, nil)
	e := wantKind(t, err, KindUnknownHost)
	if !strings.Contains(e.Error(), env.srv.hostPort()) || !strings.Contains(e.Error(), "ssh-keyscan -p") {
		t.Errorf("error = %v", err)
	}
	if env.srv.execs.Load() != 0 || env.srv.accepted.Load() != 1 {
		t.Errorf("execs=%d accepted=%d", env.srv.execs.Load(), env.srv.accepted.Load())
	}
}

func TestNoHostKeySource(t *testing.T) {
	env := newEnv(t)
	p := newPool(t, env.config(t)) // no host_key, no known_hosts, not insecure
	tg := env.srv.target()
	tg.HostKey = ""
	_, err := p.Run(testCtx(t), tg, Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindUnknownHost)
}

func TestKnownHosts(t *testing.T) {
	ca := newEd25519Key(t)
	otherCA := newEd25519Key(t)
	hostKey := newEd25519Key(t)
	other := newEd25519Key(t)

	tests := []struct {
		name  string
		cert  *testKey // CA signing a host certificate the server presents
		lines func(s *testServer) []string
		want  Kind // KindOther: success
	}{
		{"plain [host]:port entry", nil, func(s *testServer) []string {
			return []string{s.hostPort() + " " + hostKey.authorized()}
		}, KindOther},
		{"hashed [host]:port entry", nil, func(s *testServer) []string {
			return []string{knownhosts.HashHostname(s.hostPort()) + " " + hostKey.authorized()}
		}, KindOther},
		{"entry among patterns", nil, func(s *testServer) []string {
			return []string{"example.org,[127.0.0.1]:*," + " " + other.authorized(), "web1," + s.hostPort() + " " + hostKey.authorized()}
		}, KindOther},
		{"port-22 entry does not match another port", nil, func(s *testServer) []string {
			return []string{"127.0.0.1 " + hostKey.authorized()}
		}, KindUnknownHost},
		{"other key for the host", nil, func(s *testServer) []string {
			return []string{s.hostPort() + " " + other.authorized()}
		}, KindHostKeyMismatch},
		{"hashed entry with other key", nil, func(s *testServer) []string {
			return []string{knownhosts.HashHostname(s.hostPort()) + " " + other.authorized()}
		}, KindHostKeyMismatch},
		{"revoked key", nil, func(s *testServer) []string {
			return []string{"@revoked * " + hostKey.authorized(), s.hostPort() + " " + hostKey.authorized()}
		}, KindHostKeyMismatch},
		{"cert-authority entry and host certificate", ca, func(s *testServer) []string {
			return []string{"@cert-authority " + s.hostPort() + " " + ca.authorized()}
		}, KindOther},
		{"cert-authority entry of another CA", ca, func(s *testServer) []string {
			return []string{"@cert-authority " + s.hostPort() + " " + otherCA.authorized()}
		}, KindHostKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, func(s *testServer) {
				s.hostKeys = []ssh.Signer{hostKey.signer}
				if tt.cert != nil {
					cert := tt.cert.signCert(t, hostKey.pub, ssh.HostCert, "127.0.0.1")
					cs, err := ssh.NewCertSigner(cert, hostKey.signer)
					if err != nil {
						t.Fatal(err)
					}
					s.hostKeys = []ssh.Signer{cs, hostKey.signer}
				}
			})
			cfg := env.config(t)
			cfg.KnownHostsFile = writeKnownHosts(t, tt.lines(env.srv)...)
			p := newPool(t, cfg)
			res, err := p.Run(testCtx(t), Target{Host: env.srv.host, Port: env.srv.port}, Script{Name: "x", Body: "echo ok"}, nil)
			if tt.want == KindOther {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if string(res.Stdout) != "ok\n" {
					t.Errorf("stdout = %q", res.Stdout)
				}
				return
			}
			assertKind(t, err, tt.want)
			if env.srv.execs.Load() != 0 || env.srv.accepted.Load() != 1 {
				t.Errorf("execs=%d accepted=%d, want 0 and 1", env.srv.execs.Load(), env.srv.accepted.Load())
			}
		})
	}
}

// The server offers ECDSA and Ed25519; Go's default order prefers ECDSA, but
// known_hosts only has the Ed25519 key: the client must ask for Ed25519.
func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	ed := newEd25519Key(t)
	ec := newECDSAKey(t)
	env := newEnv(t, func(s *testServer) { s.hostKeys = []ssh.Signer{ec.signer, ed.signer} })
	for _, tc := range []struct {
		name string
		key  *testKey
	}{{"ed25519 known", ed}, {"ecdsa known", ec}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.config(t)
			cfg.KnownHostsFile = writeKnownHosts(t, env.srv.hostPort()+" "+tc.key.authorized())
			p := newPool(t, cfg)
			mustRun(t, p, Target{Host: env.srv.host, Port: env.srv.port}, "true", nil)
		})
	}
	t.Run("pinned ed25519", func(t *testing.T) {
		p := newPool(t, env.config(t))
		mustRun(t, p, Target{Host: env.srv.host, Port: env.srv.port, HostKey: ed.authorized()}, "true", nil)
	})
}

func TestPinnedHostCertificate(t *testing.T) {
	ca := newEd25519Key(t)
	otherCA := newEd25519Key(t)
	hostKey := newEd25519Key(t)
	env := newEnv(t, func(s *testServer) {
		cert := ca.signCert(t, hostKey.pub, ssh.HostCert, "127.0.0.1")
		cs, err := ssh.NewCertSigner(cert, hostKey.signer)
		if err != nil {
			t.Fatal(err)
		}
		s.hostKeys = []ssh.Signer{cs, hostKey.signer}
	})
	tests := []struct {
		name    string
		hostKey string
		want    Kind // KindOther: success
	}{
		{"@cert-authority of the signing CA", "@cert-authority " + ca.authorized(), KindOther},
		{"@cert-authority of another CA", "@cert-authority " + otherCA.authorized(), KindHostKeyMismatch},
		{"unprefixed CA key", ca.authorized(), KindOther},
		{"the host's own key", hostKey.authorized(), KindOther},
		{"@cert-authority with the host's own key", "@cert-authority " + hostKey.authorized(), KindHostKeyMismatch},
		{"another plain key", otherCA.authorized(), KindHostKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := env.config(t)
			cfg.HostKey = tt.hostKey
			p := newPool(t, cfg)
			_, err := p.Run(testCtx(t), Target{Host: env.srv.host, Port: env.srv.port}, Script{Name: "x", Body: "true"}, nil)
			if tt.want == KindOther {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			assertKind(t, err, tt.want)
		})
	}
}

func TestInsecureIgnoreHostKey(t *testing.T) {
	env := newEnv(t)
	cfg := env.config(t)
	cfg.InsecureIgnoreHostKey = true
	p := newPool(t, cfg)
	mustRun(t, p, Target{Host: env.srv.host, Port: env.srv.port}, "true", nil)
	// A per-host host_key still fails closed.
	tg := Target{Host: env.srv.host, Port: env.srv.port, User: "other", HostKey: newEd25519Key(t).authorized()}
	_, err := p.Run(testCtx(t), tg, Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindHostKeyMismatch)
}

func TestTargetHostKeyOverridesConfig(t *testing.T) {
	env := newEnv(t)
	cfg := env.config(t)
	cfg.HostKey = newEd25519Key(t).authorized() // wrong for this host
	p := newPool(t, cfg)
	mustRun(t, p, env.srv.target(), "true", nil) // target pins the right key
}

// Two resources for the same user@host:port with different pins share one
// connection: the second pin is checked against the key the host presented.
func TestPinnedKeyRecheckedOnSharedConnection(t *testing.T) {
	env := newEnv(t)
	p := newPool(t, env.config(t))
	mustRun(t, p, env.srv.target(), "true", nil)
	tg := env.srv.target()
	tg.HostKey = newEd25519Key(t).authorized()
	_, err := p.Run(testCtx(t), tg, Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindHostKeyMismatch)
	if n := env.srv.accepted.Load(); n != 1 {
		t.Errorf("accepted = %d, want 1", n)
	}
	if n := env.srv.execs.Load(); n != 1 {
		t.Errorf("execs = %d, want 1", n)
	}
}

func TestValidateHostKey(t *testing.T) {
	k := newEd25519Key(t)
	ca := newEd25519Key(t)
	cert := ca.signCert(t, k.pub, ssh.HostCert, "h")
	tests := []struct {
		in     string
		wantCA bool
		errSub string
	}{
		{k.authorized(), false, ""},
		{k.authorized() + " comment here", false, ""},
		{"  " + k.authorized() + "\n", false, ""},
		{"@cert-authority " + ca.authorized(), true, ""},
		{"@cert-authority\t" + ca.authorized(), true, ""},
		{"", false, "empty"},
		{"ssh-ed25519 notbase64!", false, "authorized_keys"},
		{"10.0.0.5 " + k.authorized(), false, "without a host name"},
		{"@cert-authority *.example.com " + ca.authorized(), false, "without a host name"},
		{"@revoked " + k.authorized(), false, "unsupported marker"},
		{k.authorized() + "\n" + ca.authorized(), false, "more than one line"},
		{strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert))), false, "certificate is not a host key"},
		{"ssh-rsa " + strings.Fields(k.authorized())[1], false, "type mismatch"},
	}
	for _, tt := range tests {
		pk, err := parseHostKey(tt.in)
		if verr := ValidateHostKey(tt.in); (verr == nil) != (err == nil) {
			t.Errorf("ValidateHostKey and parseHostKey disagree on %q", tt.in)
		}
		if tt.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Errorf("parseHostKey(%q) error = %v, want %q", tt.in, err, tt.errSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseHostKey(%q): %v", tt.in, err)
			continue
		}
		if pk.caOnly != tt.wantCA {
			t.Errorf("parseHostKey(%q).caOnly = %v", tt.in, pk.caOnly)
		}
	}
}

func FuzzValidateHostKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ6mvx3P6x7FZi6tXwzT0VdgMjz9QoJ5u0Yb8Kdx9Ph comment")
	f.Add("@cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ6mvx3P6x7FZi6tXwzT0VdgMjz9QoJ5u0Yb8Kdx9Ph")
	f.Add("host ssh-rsa AAAA")
	f.Add("@")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := parseHostKey(s)
		if err != nil {
			return
		}
		if pk.key == nil {
			t.Fatal("nil key without error")
		}
		// A valid value stays valid when re-serialised.
		again := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk.key)))
		if pk.caOnly {
			again = markerCertAuthority + " " + again
		}
		pk2, err := parseHostKey(again)
		if err != nil || pk2.caOnly != pk.caOnly || !keysEqual(pk.key, pk2.key) {
			t.Fatalf("re-parse of %q: %v", again, err)
		}
	})
}

func TestHostKeyAlgorithmOrder(t *testing.T) {
	ed := newEd25519Key(t)
	ec := newECDSAKey(t)
	ca := newEd25519Key(t)
	kh, err := loadKnownHosts(writeKnownHosts(t,
		"[h]:2222 "+ec.authorized(),
		"@cert-authority [ca]:2222 "+ca.authorized(),
		knownhosts.HashHostname("hashed")+" "+ed.authorized()))
	if err != nil {
		t.Fatal(err)
	}
	pol := hostKeyPolicy{known: kh}
	if got := pol.algorithms("h:2222"); len(got) == 0 || got[0] != ssh.KeyAlgoECDSA256 {
		t.Errorf("h:2222 algorithms start %v, want ecdsa first", got)
	}
	if got := pol.algorithms("hashed:22"); len(got) == 0 || got[0] != ssh.KeyAlgoED25519 {
		t.Errorf("hashed:22 algorithms start %v", got)
	}
	if got := pol.algorithms("ca:2222"); len(got) == 0 || !strings.Contains(got[0], "-cert-v01@openssh.com") {
		t.Errorf("ca:2222 algorithms start %v, want a certificate algorithm", got)
	}
	if got := pol.algorithms("nobody:22"); got != nil {
		t.Errorf("unknown host algorithms = %v, want nil (Go default)", got)
	}
	pinned := hostKeyPolicy{pinned: &pinnedKey{key: ec.pub}}
	if got := pinned.algorithms("x:22"); got[0] != ssh.CertAlgoECDSA256v01 || got[1] != ssh.KeyAlgoECDSA256 {
		t.Errorf("pinned ecdsa algorithms start %v", got[:2])
	}
	for _, got := range [][]string{pol.algorithms("h:2222"), pinned.algorithms("x:22")} {
		seen := map[string]bool{}
		for _, a := range got {
			if seen[a] {
				t.Errorf("duplicate algorithm %s in %v", a, got)
			}
			seen[a] = true
		}
	}
}
