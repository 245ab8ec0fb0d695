package sshx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

func TestNewPoolConfigErrors(t *testing.T) {
	key := newEd25519Key(t)
	other := newEd25519Key(t)
	ca := newEd25519Key(t)
	keyPEM := key.pemText(t, "")
	_, encPEM := sharedEncryptedKey(t)
	certFor := func(k *testKey, typ uint32) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.signCert(t, k.pub, typ, "root"))))
	}
	badKnownHosts := filepath.Join(t.TempDir(), "kh")
	if err := os.WriteFile(badKnownHosts, []byte("host ssh-ed25519 not-base64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := t.TempDir() // a directory cannot be read as a file

	tests := []struct {
		name string
		cfg  Config
		attr string
		sub  string
	}{
		{"garbage private key", Config{PrivateKey: "not a key"}, "private_key", "cannot parse"},
		{"missing passphrase", Config{PrivateKey: encPEM}, "private_key_passphrase", "private_key is encrypted"},
		{"certificate without key", Config{Certificate: certFor(key, ssh.UserCert)}, "certificate", "set private_key"},
		{"certificate for another key", Config{PrivateKey: keyPEM, Certificate: certFor(other, ssh.UserCert)}, "certificate", "is key"},
		{"certificate is a plain key", Config{PrivateKey: keyPEM, Certificate: key.authorized()}, "certificate", "not a certificate"},
		{"host certificate as user certificate", Config{PrivateKey: keyPEM, Certificate: certFor(key, ssh.HostCert)}, "certificate", "host certificate"},
		{"garbage certificate", Config{PrivateKey: keyPEM, Certificate: "junk"}, "certificate", "authorized_keys"},
		{"bad host_key", Config{HostKey: "ssh-ed25519 !!!"}, "host_key", "authorized_keys"},
		{"host_key with host name", Config{HostKey: "web1 " + key.authorized()}, "host_key", "host name"},
		{"insecure with host_key", Config{HostKey: key.authorized(), InsecureIgnoreHostKey: true}, "insecure_ignore_host_key", "cannot be combined"},
		{"unparsable known_hosts", Config{KnownHostsFile: badKnownHosts}, "known_hosts_file", badKnownHosts},
		{"unreadable known_hosts", Config{KnownHostsFile: unreadable}, "known_hosts_file", "cannot read"},
		{"agent_identity without agent", Config{AgentIdentity: "me"}, "agent_identity", "agent is off"},
		{"agent without socket", Config{Agent: true}, "agent", "SSH_AUTH_SOCK"},
		{"negative timeout", Config{Timeout: -time.Second}, "timeout", "negative"},
		{"port out of range", Config{Port: 70000}, "port", "out of range"},
		{"negative max sessions", Config{MaxSessionsPerHost: -1}, "max_sessions_per_host", "at least 1"},
		{"bastion without host", Config{Bastion: &BastionConfig{}}, "bastion_host", "empty"},
		{"bad bastion port", Config{Bastion: &BastionConfig{Host: "b", Port: -2}}, "bastion_port", "out of range"},
		{"bad bastion key", Config{Bastion: &BastionConfig{Host: "b", PrivateKey: "junk"}}, "bastion_private_key", "cannot parse"},
		{"encrypted bastion key", Config{Bastion: &BastionConfig{Host: "b", PrivateKey: encPEM}}, "private_key_passphrase", "bastion_private_key is encrypted"},
		{"bad bastion certificate", Config{Bastion: &BastionConfig{Host: "b", PrivateKey: keyPEM, Certificate: certFor(other, ssh.UserCert)}}, "bastion_certificate", "bastion_private_key"},
		{"bad bastion host key", Config{Bastion: &BastionConfig{Host: "b", HostKey: "nope"}}, "bastion_host_key", "authorized_keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("NewPool succeeded")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if ce.Attribute != tt.attr || !strings.Contains(ce.Error(), tt.sub) {
				t.Errorf("error = %q on %q, want attribute %q containing %q", ce.Error(), ce.Attribute, tt.attr, tt.sub)
			}
		})
	}
}

func TestNewPoolDefaultsAndValidConfigs(t *testing.T) {
	key := newEd25519Key(t)
	p, err := NewPool(Config{PrivateKey: key.pemText(t, ""), KnownHostsFile: filepath.Join(t.TempDir(), "missing")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := p.cfg
	if c.User != DefaultUser || c.Port != DefaultPort || c.Timeout != DefaultTimeout ||
		c.MaxSessionsPerHost != DefaultMaxSessionsPerHost || c.KeepaliveInterval != DefaultKeepaliveInterval {
		t.Errorf("defaults not applied: %+v", c)
	}
	if !p.policy.known.missing {
		t.Error("a missing known_hosts file should load as empty")
	}
	if s := p.Stats(); s != (Stats{}) {
		t.Errorf("stats = %+v, want zero (no connection in NewPool)", s)
	}
}

func TestRunInvalidTarget(t *testing.T) {
	p := newPool(t, Config{Password: "x"})
	for _, tg := range []Target{{}, {Host: "a b"}, {Host: "h", Port: 99999}, {Host: "h", HostKey: "bad"}} {
		_, err := p.Run(context.Background(), tg, Script{Name: "x", Body: "true"}, nil)
		assertKind(t, err, KindConfig)
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("the host presented ssh-ed25519 key SHA256:x")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindHostKeyMismatch, Host: "root@10.0.0.5:22", Err: cause},
			"host key mismatch for root@10.0.0.5:22: the host presented ssh-ed25519 key SHA256:x"},
		{&Error{Kind: KindConnect, Host: "root@h:22", Script: "read", Err: errors.New("refused")},
			`cannot connect to root@h:22 (script "read"): refused`},
		{&Error{Kind: KindOutcomeUnknown, Host: "u@h:2222", Err: errors.New("lost")}, "outcome unknown on u@h:2222: lost"},
		{&Error{Kind: KindTimeout}, "timed out"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	wrapped := fmt.Errorf("reading: %w", &Error{Kind: KindSudoTTY, Err: cause})
	if KindOf(wrapped) != KindSudoTTY || !errors.Is(wrapped, cause) {
		t.Errorf("KindOf/Unwrap through wrapping failed: %v", wrapped)
	}
	if KindOf(&ConfigError{Attribute: "a"}) != KindConfig || KindOf(context.DeadlineExceeded) != KindTimeout || KindOf(errors.New("x")) != KindOther {
		t.Error("KindOf classification")
	}
	for k := KindOther; k <= KindConfig; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "Kind(") {
			t.Errorf("Kind %d has no name", k)
		}
	}
	if Kind(99).String() != "Kind(99)" {
		t.Error("unknown kind name")
	}
}

func TestBuildCommand(t *testing.T) {
	tests := []struct {
		body    string
		sudo    bool
		timeout int
		hasK    int32
		want    string
	}{
		{"echo hi", false, 0, 0, `sh -c 'echo hi'`},
		{"echo 'hi'", false, 0, 1, `sh -c 'echo '\''hi'\'''`},
		{"echo hi", true, 0, 0, `sudo -n sh -c 'sh -c '\''echo hi'\'''`},
		{"echo hi", false, 30, 0, `tcp_t=; if timeout -k 5 1 true >/dev/null 2>&1; then tcp_t='timeout -k 5 30'; echo 'tcp-sshx: timeout -k' >&2; else echo 'tcp-sshx: no timeout -k' >&2; fi; exec $tcp_t sh -c 'echo hi'`},
		// Learned once per host: no probe.
		{"echo hi", false, 30, 1, `exec timeout -k 5 30 sh -c 'echo hi'`},
		{"echo hi", false, 30, -1, `exec sh -c 'echo hi'`},
		{"echo hi", true, 30, 1, `sudo -n sh -c 'exec timeout -k 5 30 sh -c '\''echo hi'\'''`},
	}
	for _, tt := range tests {
		if got := buildCommand(tt.body, tt.sudo, tt.timeout, tt.hasK); got != tt.want {
			t.Errorf("buildCommand(%q, %v, %d, %d) =\n%s\nwant\n%s", tt.body, tt.sudo, tt.timeout, tt.hasK, got, tt.want)
		}
	}
	if got := remoteTimeoutSeconds(30 * time.Second); got != 29 {
		t.Errorf("remoteTimeoutSeconds(30s) = %d", got)
	}
	if got := remoteTimeoutSeconds(300 * time.Millisecond); got != 1 {
		t.Errorf("remoteTimeoutSeconds(300ms) = %d", got)
	}
}

// shells lists the POSIX shells to check quoting with: this machine's sh,
// then testenv.Shells.
func shells(t *testing.T) [][]string {
	var out [][]string
	if _, err := exec.LookPath("sh"); err == nil {
		out = append(out, []string{"sh"})
	}
	for _, sh := range testenv.Shells(t) {
		out = append(out, sh.Argv)
	}
	return out
}

// The full command (with sudo replaced by env, which runs its argument
// vector the same way) must run the body verbatim in every shell.
func TestBuildCommandInShells(t *testing.T) {
	bodies := []string{
		`printf '%s' "it's"`,
		`printf '%s' '\'`,
		"printf '%s\\n' \"$0\" | tr -d '\\n'; printf ' done'",
		`x='a b'; printf '%s|' $x "$x"`,
		"printf 'multi\nline'",
		`printf '%s' "'\"'\"'"`,
	}
	want := []string{`it's`, `\`, "sh done", "a|b|a b|", "multi\nline", `'"'"'`}
	type mode struct {
		sudo    bool
		timeout int
		hasK    int32
	}
	for si, sh := range shells(t) {
		// Every form with sh; the most nested ones with the other shells.
		modes := []mode{{true, 10, 0}, {true, 10, 1}}
		if si == 0 {
			modes = append(modes, mode{false, 0, 0}, mode{false, 10, 0}, mode{true, 0, 0}, mode{false, 10, 1}, mode{false, 10, -1})
		}
		for i, body := range bodies {
			for _, mode := range modes {
				cmd := buildCommand(body, mode.sudo, mode.timeout, mode.hasK)
				cmd = strings.Replace(cmd, "sudo -n ", "env ", 1)
				var stdout, stderr strings.Builder
				c := exec.Command(sh[0], append(sh[1:], "-c", cmd)...)
				c.Stdout, c.Stderr = &stdout, &stderr
				err := c.Run()
				wantErr := ""
				if mode.timeout > 0 && mode.hasK == 0 {
					wantErr = probeYes // this machine's timeout takes -k
				}
				if err != nil || stdout.String() != want[i] || stderr.String() != wantErr {
					t.Errorf("%v, body %q, %+v: got %q, stderr %q (%v), want %q, stderr %q", sh, body, mode, stdout.String(), stderr.String(), err, want[i], wantErr)
				}
			}
		}
	}
}

func FuzzShQuote(f *testing.F) {
	for _, s := range []string{"", "'", "''", `a'b"c`, "$(x)`y`\\", "\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := ShellQuote(s)
		if !strings.HasPrefix(q, "'") || !strings.HasSuffix(q, "'") {
			t.Fatalf("%q is not single-quoted", q)
		}
		// Between the outer quotes, every quote belongs to an '\'' escape.
		inner := strings.ReplaceAll(q[1:len(q)-1], `'\''`, "")
		if strings.Contains(inner, "'") {
			t.Fatalf("ShellQuote(%q) = %q has a bare quote", s, q)
		}
		if strings.ReplaceAll(q[1:len(q)-1], `'\''`, "'") != s {
			t.Fatalf("ShellQuote(%q) = %q does not decode back", s, q)
		}
	})
}
