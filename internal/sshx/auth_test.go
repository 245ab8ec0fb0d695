package sshx

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestEncryptedPrivateKey(t *testing.T) {
	key, encrypted := sharedEncryptedKey(t)
	env := &testEnv{key: key, srv: newTestServer(t, withClientKey(key))}
	tests := []struct {
		name       string
		passphrase string
		wantAttr   string // "": success
		wantSub    string
	}{
		{"right passphrase", "s3cret", "", ""},
		{"wrong passphrase", "nope", "private_key_passphrase", "wrong passphrase"},
		{"missing passphrase", "", "private_key_passphrase", "private_key is encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := env.config(t)
			cfg.PrivateKey, cfg.PrivateKeyPassphrase = encrypted, tt.passphrase
			p, err := NewPool(cfg)
			if tt.wantAttr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				res, err := p.Run(testCtx(t), env.srv.target(), Script{Name: "x", Body: "echo in"}, nil)
				if err != nil || string(res.Stdout) != "in\n" {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Attribute != tt.wantAttr || !strings.Contains(ce.Error(), tt.wantSub) {
				t.Fatalf("NewPool error = %v, want ConfigError on %s containing %q", err, tt.wantAttr, tt.wantSub)
			}
			if strings.Contains(err.Error(), tt.passphrase) && tt.passphrase != "" {
				t.Errorf("error %q reveals the passphrase", err)
			}
			if KindOf(err) != KindConfig {
				t.Errorf("KindOf = %s", KindOf(err))
			}
		})
	}
	if n := env.srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1 (config errors make no connection)", n)
	}
}

func TestCertificateAuth(t *testing.T) {
	userCA := newEd25519Key(t)
	key := newEd25519Key(t)
	srv := newTestServer(t, func(s *testServer) { s.userCA = userCA.pub }) // only certificates
	cert := userCA.signCert(t, key.pub, ssh.UserCert, "root")
	certText := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))

	p := newPool(t, Config{PrivateKey: key.pemText(t, ""), Certificate: certText})
	res := mustRun(t, p, srv.target(), "echo cert", nil)
	if string(res.Stdout) != "cert\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	offered := srv.offeredKeys()
	if len(offered) == 0 || !strings.HasPrefix(offered[0], "ssh-ed25519-cert-v01@openssh.com ") {
		t.Errorf("offered = %q, want the certificate", offered)
	}

	// The same key without its certificate is refused, and not retried.
	srv2 := newTestServer(t, func(s *testServer) { s.userCA = userCA.pub })
	p2 := newPool(t, Config{PrivateKey: key.pemText(t, "")})
	_, err := p2.Run(testCtx(t), srv2.target(), Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindAuthFailed)
	if n := srv2.accepted.Load(); n != 1 {
		t.Errorf("accepted = %d, want 1", n)
	}
}

// startAgent serves keyring on a unix socket in a temp dir.
func startAgent(t *testing.T, keys ...agent.AddedKey) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sshx-agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "a.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = agent.ServeAgent(kr, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return sock
}

func TestAgentIdentity(t *testing.T) {
	first, second := newEd25519Key(t), newEd25519Key(t)
	sock := startAgent(t,
		agent.AddedKey{PrivateKey: first.priv, Comment: "first@laptop"},
		agent.AddedKey{PrivateKey: second.priv, Comment: "deploy@ci"})

	tests := []struct {
		name     string
		identity string
		want     Kind // KindOther: success
		offered  []string
	}{
		{"no identity offers every key", "", KindOther, []string{first.authorized(), second.authorized()}},
		{"identity by comment", "deploy@ci", KindOther, []string{second.authorized()}},
		{"identity by public key line", second.authorized() + " any comment", KindOther, []string{second.authorized()}},
		{"identity selecting a refused key", "first@laptop", KindAuthFailed, []string{first.authorized()}},
		{"identity matching nothing", "nobody", KindAuthFailed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, withClientKey(second))
			p := newPool(t, Config{Agent: true, AgentSocket: sock, AgentIdentity: tt.identity})
			_, err := p.Run(testCtx(t), srv.target(), Script{Name: "x", Body: "true"}, nil)
			if tt.want == KindOther {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else {
				e := wantKind(t, err, tt.want)
				if tt.offered == nil && (!strings.Contains(e.Error(), `"deploy@ci"`) || srv.accepted.Load() != 0) {
					t.Errorf("error %v (accepted %d): want the agent's comments and no connection", err, srv.accepted.Load())
				}
			}
			// Go queries each key, then signs with the accepted one: compare
			// the distinct keys in order.
			var distinct []string
			for _, k := range srv.offeredKeys() {
				if len(distinct) == 0 || distinct[len(distinct)-1] != k {
					distinct = append(distinct, k)
				}
			}
			if strings.Join(distinct, "|") != strings.Join(tt.offered, "|") {
				t.Errorf("server saw keys\n%q\nwant\n%q", distinct, tt.offered)
			}
		})
	}
}

func TestPasswordAuth(t *testing.T) {
	tests := []struct {
		name     string
		opt      func(*testServer)
		password string
		want     Kind // KindOther: success
	}{
		{"password", func(s *testServer) { s.password = "pw" }, "pw", KindOther},
		{"keyboard-interactive", func(s *testServer) { s.kbdPassword = "pw" }, "pw", KindOther},
		{"wrong password", func(s *testServer) { s.password = "pw"; s.kbdPassword = "pw" }, "bad", KindAuthFailed},
		// OpenSSH with UsePAM no: keyboard-interactive is listed, and
		// refused without a prompt.
		{"wrong password, keyboard-interactive refused at once", func(s *testServer) { s.password = "pw"; s.kbdRefuse = true }, "bad", KindAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, tt.opt)
			p := newPool(t, Config{Password: tt.password})
			for range 3 {
				_, err := p.Run(testCtx(t), srv.target(), Script{Name: "x", Body: "true"}, nil)
				if tt.want == KindOther {
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					continue
				}
				e := wantKind(t, err, tt.want)
				if strings.Contains(e.Error(), tt.password) {
					t.Errorf("error %q reveals the password", e)
				}
				if !strings.Contains(e.Error(), "password") {
					t.Errorf("error %q does not name the methods tried", e)
				}
			}
			// Success reuses the connection; failure is never retried,
			// neither within a connect nor by later runs.
			if n := srv.accepted.Load(); n != 1 {
				t.Errorf("server accepted %d connections, want 1", n)
			}
			if n := srv.passwordTries.Load(); srv.password != "" && n != 1 {
				t.Errorf("server saw %d password attempts, want 1", n)
			}
		})
	}
}

func TestNoAuthMethod(t *testing.T) {
	srv := newTestServer(t)
	p := newPool(t, Config{})
	_, err := p.Run(testCtx(t), srv.target(), Script{Name: "x", Body: "true"}, nil)
	assertKind(t, err, KindAuthFailed)
	if srv.accepted.Load() != 0 {
		t.Errorf("dialled without any auth method")
	}
}

func TestLogsNameMethodsNotSecrets(t *testing.T) {
	const password = "hunter2-do-not-log"
	key := newEd25519Key(t)
	keyPEM := key.pemText(t, "") // the passphrase is ignored for a plain key, and must not be logged either
	srv := newTestServer(t, func(s *testServer) { s.password = password })
	p := newPool(t, Config{Password: password, PrivateKey: keyPEM, PrivateKeyPassphrase: "pass-do-not-log"})

	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(testCtx(t), &buf)
	if _, err := p.Run(ctx, srv.target(), Script{Name: "x", Body: "true"}, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := tflogtest.MultilineJSONDecode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var opened map[string]any
	for _, e := range entries {
		if e["@message"] == "ssh connection opened" {
			opened = e
		}
	}
	if opened == nil {
		t.Fatalf("no \"ssh connection opened\" entry in %s", buf.String())
	}
	if opened["host"] != "root@"+srv.addr || opened["connections"] != float64(1) || opened["auth_methods"] != "private_key,password" {
		t.Errorf("entry = %v", opened)
	}
	for _, secret := range []string{password, "pass-do-not-log", strings.Split(keyPEM, "\n")[1]} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
}
