package sshx

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Defaults applied by NewPool to zero Config fields. The provider uses the
// same values in its schema descriptions.
const (
	DefaultUser               = "root"
	DefaultPort               = 22
	DefaultTimeout            = time.Minute
	DefaultMaxSessionsPerHost = 2
	DefaultKeepaliveInterval  = 15 * time.Second
	DefaultIdleTimeout        = 2 * time.Second
	DefaultMaxIdle            = 16

	// MaxOutputBytes caps what Run keeps of a script's stdout and of its
	// stderr; the rest is discarded and Run reports an error.
	MaxOutputBytes = 16 << 20

	// keepaliveMaxMissed replies before the client is closed as dead.
	keepaliveMaxMissed = 3
)

// authSpec is the authentication material for one kind of endpoint
// (targets, or the bastion). The user is per endpoint.
type authSpec struct {
	password string
	signer   ssh.Signer // private key, or certificate signer; nil if none
	useAgent bool
}

// agentSpec selects keys from ssh-agent.
type agentSpec struct {
	socket string
	// identity filters the agent's keys: a comment, or a public key given
	// as an authorized_keys line (identityKey then holds it).
	identity    string
	identityKey ssh.PublicKey
}

// bastionSpec is the jump host, fully resolved.
type bastionSpec struct {
	ep *endpoint
}

func normalize(cfg Config) (Config, error) {
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, configErrorf("port", "port %d is out of range 1-65535", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return cfg, configErrorf("timeout", "timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxSessionsPerHost < 0 {
		return cfg, configErrorf("max_sessions_per_host", "max_sessions_per_host %d must be at least 1", cfg.MaxSessionsPerHost)
	}
	if cfg.MaxSessionsPerHost == 0 {
		cfg.MaxSessionsPerHost = DefaultMaxSessionsPerHost
	}
	if cfg.KeepaliveInterval < 0 {
		return cfg, configErrorf("keepalive_interval", "keepalive interval %s is negative", cfg.KeepaliveInterval)
	}
	if cfg.KeepaliveInterval == 0 {
		cfg.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if cfg.IdleTimeout < 0 || cfg.MaxIdle < 0 {
		return cfg, configErrorf("idle_timeout", "idle timeout %s and idle connection cap %d must not be negative", cfg.IdleTimeout, cfg.MaxIdle)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = DefaultMaxIdle
	}
	return cfg, nil
}

// parseSigner parses a PEM private key, decrypting it with passphrase when
// it is encrypted. keyAttr names the key attribute in errors.
func parseSigner(pemText, passphrase, keyAttr string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey([]byte(pemText))
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, configErrorf("private_key_passphrase",
				"%s is encrypted: set private_key_passphrase", keyAttr)
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(pemText), []byte(passphrase))
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) || strings.Contains(err.Error(), "decrypt") {
				return nil, configErrorf("private_key_passphrase",
					"private_key_passphrase does not decrypt %s (wrong passphrase)", keyAttr)
			}
			return nil, configErrorf(keyAttr, "cannot parse the encrypted private key: %v", err)
		}
		return signer, nil
	}
	if err != nil {
		return nil, configErrorf(keyAttr, "cannot parse the private key (PEM, for example \"-----BEGIN OPENSSH PRIVATE KEY-----\"): %v", err)
	}
	return signer, nil
}

// certSigner combines a user certificate with the private key it certifies.
func certSigner(certText string, key ssh.Signer, certAttr, keyAttr string) (ssh.Signer, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(certText))
	if err != nil {
		return nil, configErrorf(certAttr, "not an OpenSSH certificate in authorized_keys format (\"ssh-ed25519-cert-v01@openssh.com AAAA...\"): %v", err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, configErrorf(certAttr, "this is a plain %s public key, not a certificate", pub.Type())
	}
	if cert.CertType != ssh.UserCert {
		return nil, configErrorf(certAttr, "this is a host certificate, not a user certificate")
	}
	if key == nil {
		return nil, configErrorf(certAttr, "a certificate needs the private key it certifies: set %s", keyAttr)
	}
	if !bytes.Equal(cert.Key.Marshal(), key.PublicKey().Marshal()) {
		return nil, configErrorf(certAttr, "the certificate is for key %s but %s is key %s",
			ssh.FingerprintSHA256(cert.Key), keyAttr, ssh.FingerprintSHA256(key.PublicKey()))
	}
	s, err := ssh.NewCertSigner(cert, key)
	if err != nil {
		return nil, configErrorf(certAttr, "%v", err)
	}
	return s, nil
}

// buildAuth resolves one authSpec.
func buildAuth(password, privateKey, passphrase, certificate, keyAttr, certAttr string, agent bool) (*authSpec, error) {
	a := &authSpec{password: password, useAgent: agent}
	if strings.TrimSpace(privateKey) != "" {
		s, err := parseSigner(privateKey, passphrase, keyAttr)
		if err != nil {
			return nil, err
		}
		a.signer = s
	}
	if strings.TrimSpace(certificate) != "" {
		s, err := certSigner(certificate, a.signer, certAttr, keyAttr)
		if err != nil {
			return nil, err
		}
		a.signer = s
	}
	return a, nil
}

func buildAgent(cfg Config) (*agentSpec, error) {
	if cfg.AgentIdentity != "" && !cfg.Agent {
		return nil, configErrorf("agent_identity", "agent_identity selects an ssh-agent key but agent is off")
	}
	if !cfg.Agent {
		return nil, nil
	}
	if cfg.AgentSocket == "" {
		return nil, configErrorf("agent", "agent is on but no ssh-agent socket is known (SSH_AUTH_SOCK is not set)")
	}
	a := &agentSpec{socket: cfg.AgentSocket, identity: strings.TrimSpace(cfg.AgentIdentity)}
	if a.identity != "" {
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a.identity)); err == nil {
			if c, ok := k.(*ssh.Certificate); ok {
				k = c
			}
			a.identityKey = k
		}
	}
	return a, nil
}

func buildHostKeyPolicy(cfg Config) (hostKeyPolicy, error) {
	pol := hostKeyPolicy{attr: "host_key", insecure: cfg.InsecureIgnoreHostKey}
	if strings.TrimSpace(cfg.HostKey) != "" {
		if cfg.InsecureIgnoreHostKey {
			return pol, configErrorf("insecure_ignore_host_key", "insecure_ignore_host_key cannot be combined with host_key: remove one of them")
		}
		pk, err := parseHostKey(cfg.HostKey)
		if err != nil {
			return pol, &ConfigError{Attribute: "host_key", Err: err}
		}
		pol.pinned = pk
	}
	if cfg.KnownHostsFile != "" {
		kh, err := loadKnownHosts(cfg.KnownHostsFile)
		if err != nil {
			return pol, configErrorf("known_hosts_file", "cannot read known_hosts file %s: %v", cfg.KnownHostsFile, err)
		}
		pol.known = kh
	}
	return pol, nil
}

func buildBastion(cfg Config, target *authSpec, pol hostKeyPolicy) (*bastionSpec, *authSpec, error) {
	b := cfg.Bastion
	if b == nil {
		return nil, nil, nil
	}
	if strings.TrimSpace(b.Host) == "" {
		return nil, nil, configErrorf("bastion_host", "bastion_host is empty")
	}
	port := b.Port
	if port == 0 {
		port = cfg.Port
	}
	if port < 1 || port > 65535 {
		return nil, nil, configErrorf("bastion_port", "bastion_port %d is out of range 1-65535", port)
	}
	user := b.User
	if user == "" {
		user = cfg.User
	}
	password := b.Password
	if password == "" {
		password = cfg.Password
	}
	auth := target
	if b.PrivateKey != "" || b.Certificate != "" || b.Password != "" {
		key, keyAttr := b.PrivateKey, "bastion_private_key"
		cert := b.Certificate
		if key == "" {
			// The bastion uses the main key; its certificate then falls
			// back too, unless a bastion certificate is given for it.
			key, keyAttr = cfg.PrivateKey, "private_key"
			if cert == "" {
				cert = cfg.Certificate
			}
		}
		var err error
		auth, err = buildAuth(password, key, cfg.PrivateKeyPassphrase, cert, keyAttr, "bastion_certificate", cfg.Agent)
		if err != nil {
			return nil, nil, err
		}
	}
	// The bastion is checked against bastion_host_key, else (like any host
	// without a pinned key) insecure_ignore_host_key or known_hosts; the
	// targets' host_key is not a bastion key.
	bpol := hostKeyPolicy{attr: "bastion_host_key", insecure: pol.insecure, known: pol.known}
	if strings.TrimSpace(b.HostKey) != "" {
		pk, err := parseHostKey(b.HostKey)
		if err != nil {
			return nil, nil, &ConfigError{Attribute: "bastion_host_key", Err: err}
		}
		bpol.pinned = pk
		bpol.insecure = false
	}
	ep, err := newEndpoint(user, b.Host, port, bpol)
	if err != nil {
		return nil, nil, &ConfigError{Attribute: "bastion_host", Err: err}
	}
	ep.bastion = true
	ep.auth = auth
	return &bastionSpec{ep: ep}, auth, nil
}

// describe names the auth methods of a spec, for logs (never values).
func (a *authSpec) describe() []string {
	var out []string
	if a.signer != nil {
		if _, ok := a.signer.PublicKey().(*ssh.Certificate); ok {
			out = append(out, "certificate")
		} else {
			out = append(out, "private_key")
		}
	}
	if a.useAgent {
		out = append(out, "agent")
	}
	if a.password != "" {
		out = append(out, "password")
	}
	return out
}

func (a *agentSpec) matches(k ssh.PublicKey, comment string) bool {
	if a.identity == "" {
		return true
	}
	if comment == a.identity {
		return true
	}
	return a.identityKey != nil && keysEqual(k, a.identityKey)
}

func (a *agentSpec) String() string {
	return fmt.Sprintf("ssh-agent at %s", a.socket)
}
