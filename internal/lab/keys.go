package lab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// keyPair is a generated ed25519 key: the private key in OpenSSH PEM form and
// the public key as an authorized_keys line without a trailing newline.
type keyPair struct {
	PrivatePEM string
	Public     string
}

// newKeyPair generates an ed25519 key with the given comment.
func newKeyPair(comment string) (keyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyPair{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return keyPair{}, fmt.Errorf("marshal private key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return keyPair{}, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	if comment != "" {
		line += " " + comment
	}
	return keyPair{PrivatePEM: string(pem.EncodeToMemory(block)), Public: line}, nil
}

// knownHostsLine formats one known_hosts entry for addr:port with the
// authorized_keys-style key (its comment, if any, is dropped).
func knownHostsLine(addr string, port int, key string) string {
	f := strings.Fields(key)
	if len(f) >= 2 {
		key = f[0] + " " + f[1]
	}
	return knownHostsPattern(addr, port) + " " + key
}

// knownHostsPattern is the host pattern OpenSSH and x/crypto/ssh/knownhosts
// use: the bare address for port 22, "[addr]:port" otherwise.
func knownHostsPattern(addr string, port int) string {
	if port == 22 {
		return addr
	}
	return fmt.Sprintf("[%s]:%d", addr, port)
}

// newHostKey gives the host a new ed25519 host key: the private key goes to
// its host key file (replaced atomically), the public one to HostKey.
func (h *Host) newHostKey(comment string) error {
	kp, err := newKeyPair(comment)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(h.hostKeyFile, []byte(kp.PrivatePEM), 0o600); err != nil {
		return err
	}
	h.HostKey = kp.Public
	return nil
}
