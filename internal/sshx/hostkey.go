package sshx

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const markerCertAuthority = "@cert-authority"

// pinnedKey is a parsed host_key value.
type pinnedKey struct {
	key ssh.PublicKey
	// caOnly is set by the "@cert-authority" prefix: the key only signs host
	// certificates and is never accepted as a plain host key. Without the
	// prefix the key is accepted both as the host's own key and, like
	// Terraform's connection block, as a CA for host certificates.
	caOnly bool
}

// ValidateHostKey checks a host_key value: one public key in authorized_keys
// format ("ssh-ed25519 AAAA... comment"), optionally prefixed with
// "@cert-authority " to mark a certificate authority. Host names, options,
// certificates and several keys are rejected.
func ValidateHostKey(s string) error {
	_, err := parseHostKey(s)
	return err
}

func parseHostKey(s string) (*pinnedKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty host key")
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("more than one line: give exactly one public key")
	}
	pk := &pinnedKey{}
	if strings.HasPrefix(s, "@") {
		marker := strings.Fields(s)[0]
		if marker != markerCertAuthority {
			return nil, fmt.Errorf("unsupported marker %q: only %q is allowed", marker, markerCertAuthority)
		}
		pk.caOnly = true
		s = strings.TrimSpace(s[len(marker):])
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not a public key in authorized_keys format (\"ssh-ed25519 AAAA...\"): %v", err)
	}
	if len(options) > 0 {
		return nil, fmt.Errorf("unexpected text %q before the key: give the key alone (\"ssh-ed25519 AAAA...\"), optionally prefixed with %q, without a host name", strings.Join(options, ","), markerCertAuthority)
	}
	if _, ok := key.(*ssh.Certificate); ok {
		return nil, errors.New("a certificate is not a host key: give the host's public key or the certificate authority's key")
	}
	pk.key = key
	return pk, nil
}

func keysEqual(a, b ssh.PublicKey) bool {
	return a != nil && b != nil && bytes.Equal(a.Marshal(), b.Marshal())
}

func describeKey(k ssh.PublicKey) string {
	if cert, ok := k.(*ssh.Certificate); ok {
		return fmt.Sprintf("a %s certificate for key %s signed by %s %s", cert.Key.Type(), ssh.FingerprintSHA256(cert.Key),
			cert.SignatureKey.Type(), ssh.FingerprintSHA256(cert.SignatureKey))
	}
	return fmt.Sprintf("%s key %s", k.Type(), ssh.FingerprintSHA256(k))
}

func mismatchf(format string, args ...any) error {
	return &hostKeyError{kind: KindHostKeyMismatch, err: fmt.Errorf(format, args...)}
}

func (pk *pinnedKey) check(address string, remote net.Addr, key ssh.PublicKey, attr string) error {
	if cert, ok := key.(*ssh.Certificate); ok {
		checker := &ssh.CertChecker{
			IsHostAuthority: func(auth ssh.PublicKey, _ string) bool { return keysEqual(auth, pk.key) },
		}
		err := checker.CheckHostKey(address, remote, key)
		if err == nil {
			return nil
		}
		if !pk.caOnly && keysEqual(cert.Key, pk.key) {
			// The certified key is the pinned key itself: the server proved
			// possession of it in the key exchange.
			return nil
		}
		return mismatchf("the host presented %s, which %s (%s %s) does not accept: %v",
			describeKey(key), attr, pk.key.Type(), ssh.FingerprintSHA256(pk.key), err)
	}
	if !pk.caOnly && keysEqual(key, pk.key) {
		return nil
	}
	if pk.caOnly {
		return mismatchf("the host presented a plain %s, not a certificate signed by the %s certificate authority %s",
			describeKey(key), attr, ssh.FingerprintSHA256(pk.key))
	}
	return mismatchf("the host presented %s but %s is %s %s; if the host was reinstalled, update %s, otherwise someone may be intercepting the connection",
		describeKey(key), attr, pk.key.Type(), ssh.FingerprintSHA256(pk.key), attr)
}

// knownHosts is a parsed known_hosts file.
type knownHosts struct {
	path     string
	missing  bool // the file does not exist: every host is unknown
	callback ssh.HostKeyCallback
	caLines  map[int]bool // line numbers of @cert-authority entries
}

// loadKnownHosts parses path. A missing file is not an error (the default
// ~/.ssh/known_hosts often does not exist): it makes every host unknown.
func loadKnownHosts(path string) (*knownHosts, error) {
	if strings.HasPrefix(path, "~/") || path == "~" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("cannot expand ~: %v", err)
		}
		path = filepath.Join(home, strings.TrimPrefix(path, "~"))
	}
	kh := &knownHosts{path: path, caLines: map[int]bool{}}
	data, err := readBoundedFile(path, MaxKnownHostsBytes)
	if errors.Is(err, os.ErrNotExist) {
		kh.missing = true
		return kh, nil
	}
	if err != nil {
		return nil, err
	}
	// knownhosts numbers lines the same way (every scanned line counts).
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if bytes.HasPrefix(line, []byte(markerCertAuthority)) {
			kh.caLines[n] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	cb, err := knownhostsFromBytes(data, path)
	if err != nil {
		return nil, err
	}
	kh.callback = cb
	return kh, nil
}

// knownhostsFromBytes parses known_hosts content already read (and
// checked) by readBoundedFile. knownhosts only reads named files, and
// opening the user's path a second time could meet another file there (a
// FIFO would hang us), so it reads a private copy; its errors name path.
func knownhostsFromBytes(data []byte, path string) (ssh.HostKeyCallback, error) {
	tmp, err := os.CreateTemp("", "terraform-provider-tcp-known_hosts-")
	if err != nil {
		return nil, fmt.Errorf("cannot make a private copy to parse: %v", err)
	}
	name := tmp.Name()
	defer func() { _ = os.Remove(name) }()
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("cannot make a private copy to parse: %v", werr)
	}
	cb, err := knownhosts.New(name)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), name, path))
	}
	return cb, nil
}

func (kh *knownHosts) check(address string, remote net.Addr, key ssh.PublicKey) error {
	if kh.missing {
		return &hostKeyError{kind: KindUnknownHost, err: fmt.Errorf(
			"known_hosts file %s does not exist and no host_key is set; add the host's key there (ssh-keyscan) or set host_key", kh.path)}
	}
	err := kh.callback(address, remote, key)
	if err == nil {
		return nil
	}
	if cert, ok := key.(*ssh.Certificate); ok {
		// No @cert-authority entry vouches for the certificate: accept it if
		// the certified key itself is listed for the host.
		err2 := kh.callback(address, remote, cert.Key)
		if err2 == nil {
			return nil
		}
		return kh.classify(address, key, err2, err)
	}
	return kh.classify(address, key, err, nil)
}

func (kh *knownHosts) classify(address string, key ssh.PublicKey, err, certErr error) error {
	extra := ""
	if certErr != nil {
		extra = fmt.Sprintf(" (certificate check: %v)", certErr)
	}
	var keyErr *knownhosts.KeyError
	var revErr *knownhosts.RevokedError
	switch {
	case errors.As(err, &revErr):
		return mismatchf("the host presented %s, which is marked @revoked in %s line %d%s",
			describeKey(key), kh.path, revErr.Revoked.Line, extra)
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		return &hostKeyError{kind: KindUnknownHost, err: fmt.Errorf(
			"no entry for %s in known_hosts file %s (the host presented %s)%s; add the host's key (for example with ssh-keyscan%s) or set host_key",
			knownhosts.Normalize(address), kh.path, describeKey(key), extra, keyscanPort(address))}
	case errors.As(err, &keyErr):
		lines := make([]string, 0, len(keyErr.Want))
		for _, w := range keyErr.Want {
			lines = append(lines, fmt.Sprintf("line %d: %s %s", w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key)))
		}
		return mismatchf("the host presented %s, which does not match known_hosts file %s (%s)%s; if the host was reinstalled, remove the old entry (ssh-keygen -R %q), otherwise someone may be intercepting the connection",
			describeKey(key), kh.path, strings.Join(lines, "; "), extra, knownhosts.Normalize(address))
	default:
		return mismatchf("the host presented %s, rejected by known_hosts file %s: %v%s", describeKey(key), kh.path, err, extra)
	}
}

func keyscanPort(address string) string {
	if _, port, err := net.SplitHostPort(address); err == nil && port != "22" {
		return " -p " + port
	}
	return ""
}

var (
	probeKeyOnce sync.Once
	probeKey     ssh.PublicKey
)

// knownTypes returns the key types of plain entries known for address and
// whether an @cert-authority entry matches it, using knownhosts's own
// matching (hashed names, patterns, [host]:port): checking a random key
// yields a KeyError listing every matching line.
func (kh *knownHosts) knownTypes(address string) (types []string, hasCA bool) {
	if kh == nil || kh.missing {
		return nil, false
	}
	probeKeyOnce.Do(func() {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err == nil {
			probeKey, _ = ssh.NewPublicKey(pub)
		}
	})
	if probeKey == nil {
		return nil, false
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	var keyErr *knownhosts.KeyError
	if !errors.As(kh.callback(address, remote, probeKey), &keyErr) {
		return nil, false
	}
	for _, w := range keyErr.Want {
		if kh.caLines[w.Line] {
			hasCA = true
			continue
		}
		if !slices.Contains(types, w.Key.Type()) {
			types = append(types, w.Key.Type())
		}
	}
	return types, hasCA
}

// Host key algorithm names per key type.
var (
	plainAlgos = map[string][]string{
		ssh.KeyAlgoRSA:      {ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA},
		ssh.KeyAlgoED25519:  {ssh.KeyAlgoED25519},
		ssh.KeyAlgoECDSA256: {ssh.KeyAlgoECDSA256},
		ssh.KeyAlgoECDSA384: {ssh.KeyAlgoECDSA384},
		ssh.KeyAlgoECDSA521: {ssh.KeyAlgoECDSA521},
	}
	certAlgos = map[string][]string{
		ssh.KeyAlgoRSA:      {ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01},
		ssh.KeyAlgoED25519:  {ssh.CertAlgoED25519v01},
		ssh.KeyAlgoECDSA256: {ssh.CertAlgoECDSA256v01},
		ssh.KeyAlgoECDSA384: {ssh.CertAlgoECDSA384v01},
		ssh.KeyAlgoECDSA521: {ssh.CertAlgoECDSA521v01},
	}
	// keyTypeOrder is the order used when all types of one family are wanted.
	keyTypeOrder = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA}
)

func allCertAlgos() []string {
	var out []string
	for _, t := range keyTypeOrder {
		out = append(out, certAlgos[t]...)
	}
	return out
}

// restAlgos is every host key algorithm Go supports, plus the SHA-1 RSA
// ones that Go's default list also has (for old hosts).
func restAlgos() []string {
	return append(ssh.SupportedAlgorithms().HostKeys, ssh.KeyAlgoRSA, ssh.CertAlgoRSAv01)
}

// orderAlgos puts the preferred algorithms first, then every other
// supported one (so that a host whose key changed type gets a clear
// mismatch rather than "no common algorithm"), without duplicates or
// algorithms Go does not support.
func orderAlgos(preferred ...[]string) []string {
	supported := restAlgos()
	var out []string
	add := func(a string) {
		if slices.Contains(supported, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, list := range preferred {
		for _, a := range list {
			add(a)
		}
	}
	for _, a := range supported {
		add(a)
	}
	return out
}

// hostKeyPolicy decides which host keys one endpoint accepts.
type hostKeyPolicy struct {
	attr     string     // attribute named in messages: "host_key" or "bastion_host_key"
	pinned   *pinnedKey // checked alone when set
	insecure bool
	known    *knownHosts // may be nil (no file configured)
}

// id identifies the policy for caching a verdict per pool host.
func (h hostKeyPolicy) id() string {
	switch {
	case h.pinned != nil:
		ca := ""
		if h.pinned.caOnly {
			ca = "ca:"
		}
		return "pin:" + ca + string(h.pinned.key.Marshal())
	case h.insecure:
		return "insecure"
	default:
		return "known_hosts"
	}
}

func (h hostKeyPolicy) check(address string, remote net.Addr, key ssh.PublicKey) error {
	switch {
	case h.pinned != nil:
		return h.pinned.check(address, remote, key, h.attr)
	case h.insecure:
		return nil
	case h.known != nil:
		return h.known.check(address, remote, key)
	default:
		return &hostKeyError{kind: KindUnknownHost, err: fmt.Errorf(
			"the host presented %s but neither %s nor known_hosts_file is set (insecure_ignore_host_key is false)", describeKey(key), h.attr)}
	}
}

// algorithms is the HostKeyAlgorithms list for address, or nil for Go's
// default order.
func (h hostKeyPolicy) algorithms(address string) []string {
	switch {
	case h.pinned != nil:
		t := h.pinned.key.Type()
		if h.pinned.caOnly {
			return orderAlgos(allCertAlgos())
		}
		// A plain pin may be the host's key or a CA: a certificate for the
		// same key type satisfies both readings, then the plain key.
		return orderAlgos(certAlgos[t], plainAlgos[t], allCertAlgos())
	case h.insecure:
		return nil
	case h.known != nil:
		types, hasCA := h.known.knownTypes(address)
		var pref [][]string
		if hasCA {
			pref = append(pref, allCertAlgos())
		}
		for _, t := range types {
			pref = append(pref, plainAlgos[t])
		}
		if len(pref) == 0 {
			return nil
		}
		return orderAlgos(pref...)
	}
	return nil
}
