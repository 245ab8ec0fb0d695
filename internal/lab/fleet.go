package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures Start.
type Options struct {
	// Hosts is the number of hosts (1..1000).
	Hosts int
	// Prefix names the namespaces "<Prefix>-<i>": 2..16 lowercase letters
	// and digits, starting with a letter. "" = "tl" + 6 random hex digits.
	Prefix string
	// MaxSessions is sshd's MaxSessions on the hosts (0 = sshd default, 10).
	MaxSessions int
	// Bastion adds a jump host: a listening sshd -D in the root namespace.
	Bastion bool
	// BastionMaxStartups is the bastion's MaxStartups ("3", "10:30:100");
	// "" = sshd default.
	BastionMaxStartups string
	// Latency is added in each direction on every proxied connection
	// (hosts and bastion), so SSH round trips cost 2×Latency more.
	Latency time.Duration
	// Dir is where the lab's temporary directory is created ("" = os.TempDir()).
	Dir string
	// TcplabBin is the program Host.Churn and Host.Listen run inside a host:
	// "" = $TCPLAB_BIN, else the current executable (a test binary acts as
	// the worker when its TestMain is labtest.Main; see WorkerEnv).
	TcplabBin string
}

// Fleet is a running set of test hosts. Close it when done.
type Fleet struct {
	// Prefix is the namespace prefix of this fleet.
	Prefix string
	// Dir is the lab's temporary directory (keys, configs, logs); removed by Close.
	Dir string
	// KnownHostsFile lists every host's (and the bastion's) host key.
	KnownHostsFile string
	// ClientKeyFile is the client's private key (OpenSSH PEM, mode 0600);
	// ClientKeyFile+".pub" holds its public key.
	ClientKeyFile string
	// ClientKey is the same private key as text.
	ClientKey string
	// ClientPublicKey is the client's public key, authorized_keys format.
	ClientPublicKey string
	// AuthorizedKeysFile is the authorized_keys file of every user on every
	// host and the bastion; see AuthorizeKey.
	AuthorizedKeysFile string
	// Hosts are the test hosts, Hosts[i].Index == i+1.
	Hosts []*Host
	// Bastion is the jump host, nil unless Options.Bastion.
	Bastion *Host

	opts      Options
	sshd      string
	penalties bool
	addrs     []string
	closeOnce sync.Once
	closeErr  error
}

// StracePath returns the path of an strace that can trace here (make deps
// installs it), or why there is none.
func StracePath() (string, error) {
	st, err := exec.LookPath("strace")
	if err != nil {
		return "", errors.New("needs strace (make deps installs it)")
	}
	if out, err := exec.Command(st, "-f", "-qq", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		return "", fmt.Errorf("strace cannot trace here: %v: %s", err, out)
	}
	return st, nil
}

var (
	gcOnce    sync.Once
	availOnce sync.Once
	availErr  error
)

// Available returns nil when a fleet can run on this machine, or why not.
func Available() error {
	availOnce.Do(func() {
		if os.Geteuid() != 0 {
			availErr = errors.New("needs root (network namespaces, bind mounts, sshd)")
			return
		}
		if _, err := exec.LookPath("ip"); err != nil {
			availErr = errors.New("`ip` not found (install iproute2)")
			return
		}
		if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
			availErr = fmt.Errorf("`ip netns list` failed: %v: %s", err, strings.TrimSpace(string(out)))
			return
		}
		if _, err := findSSHD(); err != nil {
			availErr = err
			return
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			availErr = errors.New("`unshare` not found (install util-linux)")
			return
		}
		// `ip netns exec` can only bind-mount over entries that exist.
		for _, d := range []string{"/etc/sysctl.d", "/etc/sudoers.d"} {
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				availErr = fmt.Errorf("%s missing (install procps and sudo)", d)
				return
			}
		}
	})
	return availErr
}

// SSHDLogTails returns the last lines (at most n) of each host's sshd log,
// one labelled text per host that logged anything: what a failed test logs.
func (f *Fleet) SSHDLogTails(n int) []string {
	var out []string
	for _, h := range f.allHosts() {
		if tail := logTail(h.LogFile, 0); tail != "" {
			lines := strings.Split(tail, "\n")
			if len(lines) > n {
				lines = lines[len(lines)-n:]
			}
			out = append(out, fmt.Sprintf("sshd log of %s (%s):\n%s", h.label(), h.Endpoint(), strings.Join(lines, "\n")))
		}
	}
	return out
}

// checkOptions rejects what Start cannot do: no fleet here, a host count
// or a latency out of range.
func checkOptions(o Options) error {
	if err := Available(); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if o.Hosts < 1 || o.Hosts > 1000 {
		return fmt.Errorf("lab: Hosts = %d, want 1..1000", o.Hosts)
	}
	if o.Latency < 0 || o.Latency > 10*time.Second {
		return fmt.Errorf("lab: Latency %v out of range 0..10s", o.Latency)
	}
	return nil
}

// fleetPrefix is o.Prefix, or a free one when it is empty; an error when it
// is invalid or namespaces with it exist already.
func fleetPrefix(o Options) (string, error) {
	prefix := o.Prefix
	if prefix == "" {
		var err error
		if prefix, err = freePrefix(); err != nil {
			return "", err
		}
	}
	if err := validPrefix(prefix); err != nil {
		return "", err
	}
	if leftovers(prefix) {
		return "", fmt.Errorf("lab: namespaces or /etc/netns entries named %s-* exist already (run `tcplab down` or lab.Cleanup(%q))", prefix, prefix)
	}
	return prefix, nil
}

// Start brings up a fleet. On error everything created so far is removed.
// The first Start of a process also removes what crashed fleets left in
// os.TempDir() (see GC).
func Start(ctx context.Context, o Options) (_ *Fleet, err error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	gcOnce.Do(func() { _, _ = GC("") }) // leftovers of crashed runs (owner process gone)
	sshd, err := findSSHD()
	if err != nil {
		return nil, err
	}
	major, minor, err := sshdVersion(sshd)
	if err != nil {
		return nil, err
	}
	prefix, err := fleetPrefix(o)
	if err != nil {
		return nil, err
	}
	if err := ensurePrivsepDir(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "tcplab-"+prefix+"-")
	if err != nil {
		return nil, err
	}
	f := &Fleet{
		Prefix:             prefix,
		Dir:                dir,
		KnownHostsFile:     filepath.Join(dir, "known_hosts"),
		ClientKeyFile:      filepath.Join(dir, "id_ed25519"),
		AuthorizedKeysFile: filepath.Join(dir, "authorized_keys"),
		opts:               o,
		sshd:               sshd,
		penalties:          major > 9 || (major == 9 && minor >= 8),
	}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	if strings.ContainsAny(dir, "'\"\\ \t\n:,") {
		return nil, fmt.Errorf("lab: temporary directory %q contains characters the generated files cannot quote; set Options.Dir or TMPDIR", dir)
	}
	if err := writeOwner(dir, prefix); err != nil {
		return nil, err
	}
	if err := f.writeCommon(); err != nil {
		return nil, err
	}
	sys, err := readSystemEtc()
	if err != nil {
		return nil, err
	}
	for i := 1; i <= o.Hosts; i++ {
		f.Hosts = append(f.Hosts, f.newHost(i))
	}
	if err := parallel(ctx, f.Hosts, 4, func(h *Host) error { return f.prepareHost(ctx, h, sys) }); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, sshd, "-t", "-f", f.Hosts[0].configFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("lab: sshd rejects the generated configuration: %v: %s", err, strings.TrimSpace(string(out)))
	}
	for _, h := range f.Hosts {
		if err := f.listen(h); err != nil {
			return nil, err
		}
	}
	if startFault != nil {
		if err := startFault(); err != nil {
			return nil, err
		}
	}
	if o.Bastion {
		if err := f.startBastion(ctx, sys); err != nil {
			return nil, err
		}
	}
	if err := f.writeKnownHosts(); err != nil {
		return nil, err
	}
	return f, nil
}

// startFault, when set (by this package's tests only), runs in Start once
// every host's namespace, files, sshd configuration and listener exist; an
// error it returns fails the Start there.
var startFault func() error

// allHosts is Hosts plus the bastion, if any.
func (f *Fleet) allHosts() []*Host {
	hs := append([]*Host(nil), f.Hosts...)
	if f.Bastion != nil {
		hs = append(hs, f.Bastion)
	}
	return hs
}

// Close stops the listeners, cuts connections, stops sshd processes and the
// bastion, deletes the namespaces and /etc/netns entries, and removes Dir.
// It is safe to call more than once; later calls return the first result.
func (f *Fleet) Close() error {
	f.closeOnce.Do(func() { f.closeErr = f.close() })
	return f.closeErr
}

func (f *Fleet) close() error {
	var wg sync.WaitGroup
	for _, h := range f.allHosts() {
		wg.Add(1)
		go func() { defer wg.Done(); h.shutdown() }()
	}
	wg.Wait()
	if f.Bastion != nil && f.Bastion.daemon != nil {
		f.Bastion.daemon.stop()
	}
	var errs []error
	var mu sync.Mutex
	_ = parallel(context.Background(), f.Hosts, 8, func(h *Host) error {
		if err := delNetns(h.Name); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return nil
	})
	if err := Cleanup(f.Prefix); err != nil {
		errs = append(errs, err)
	}
	releaseAddrs(f.addrs)
	if f.Dir != "" {
		if err := os.RemoveAll(f.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AuthorizeKey adds an authorized_keys line (a public key, optionally with
// options) for every user on every host and the bastion.
func (f *Fleet) AuthorizeKey(line string) error {
	line = strings.TrimSpace(line)
	if line == "" || strings.Contains(line, "\n") {
		return errors.New("lab: AuthorizeKey wants one authorized_keys line")
	}
	fh, err := os.OpenFile(f.AuthorizedKeysFile, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := fh.WriteString(line + "\n"); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// writeCommon writes the client key, authorized_keys and the shared dirs.
func (f *Fleet) writeCommon() error {
	if err := os.Chmod(f.Dir, 0o755); err != nil { // users must reach authorized_keys and their shells
		return err
	}
	for _, d := range []string{"hosts", "home"} {
		if err := os.Mkdir(filepath.Join(f.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(f.Dir, "sudo"), 0o700); err != nil {
		return err
	}
	for _, u := range []struct {
		name string
		uid  int
	}{{UserSudo, uidSudo}, {UserPassword, uidPassword}} {
		home := filepath.Join(f.Dir, "home", u.name)
		if err := os.Mkdir(home, 0o755); err != nil {
			return err
		}
		if err := os.Chown(home, u.uid, u.uid); err != nil {
			return err
		}
	}
	kp, err := newKeyPair("tcplab-client")
	if err != nil {
		return err
	}
	f.ClientKey, f.ClientPublicKey = kp.PrivatePEM, kp.Public
	if err := os.WriteFile(f.ClientKeyFile, []byte(kp.PrivatePEM), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(f.ClientKeyFile+".pub", []byte(kp.Public+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(f.AuthorizedKeysFile, []byte(kp.Public+"\n"), 0o644); err != nil {
		return err
	}
	return os.Chmod(f.AuthorizedKeysFile, 0o644)
}

// systemEtc is the machine's account files, read once per fleet.
type systemEtc struct {
	passwd, group, shadow []byte
	shadowMode            os.FileMode
	shadowGID             int
}

func readSystemEtc() (systemEtc, error) {
	var s systemEtc
	var err error
	if s.passwd, err = os.ReadFile("/etc/passwd"); err != nil {
		return s, err
	}
	if s.group, err = os.ReadFile("/etc/group"); err != nil {
		return s, err
	}
	if s.shadow, err = os.ReadFile("/etc/shadow"); err != nil {
		return s, err
	}
	st, err := os.Stat("/etc/shadow")
	if err != nil {
		return s, err
	}
	s.shadowMode = st.Mode().Perm()
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		s.shadowGID = int(sys.Gid)
	}
	return s, nil
}

// writeEtc renders and writes passwd, group and shadow into dir.
func (f *Fleet) writeEtc(dir, shell string, sys systemEtc) (etcOutput, error) {
	out, err := renderEtc(etcInput{
		Passwd: sys.passwd, Group: sys.group, Shadow: sys.shadow,
		Shell:        shell,
		HomeDir:      filepath.Join(f.Dir, "home"),
		SudoStateDir: filepath.Join(f.Dir, "sudo"),
	})
	if err != nil {
		return out, err
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), out.Passwd, 0o644); err != nil {
		return out, err
	}
	if err := os.WriteFile(filepath.Join(dir, "group"), out.Group, 0o644); err != nil {
		return out, err
	}
	sh := filepath.Join(dir, "shadow")
	if err := os.WriteFile(sh, out.Shadow, 0o600); err != nil {
		return out, err
	}
	if err := os.Chown(sh, 0, sys.shadowGID); err != nil {
		return out, err
	}
	return out, os.Chmod(sh, sys.shadowMode)
}

func (f *Fleet) newHost(i int) *Host {
	name := fmt.Sprintf("%s-%d", f.Prefix, i)
	dir := filepath.Join(f.Dir, "hosts", name)
	return &Host{
		Name:        name,
		Index:       i,
		LogFile:     filepath.Join(dir, "sshd.log"),
		fleet:       f,
		dir:         dir,
		configFile:  filepath.Join(dir, "sshd_config"),
		hostKeyFile: filepath.Join(dir, "ssh_host_ed25519_key"),
		hookDir:     filepath.Join(dir, "hooks"),
		shellPath:   filepath.Join(dir, "sh"),
		conns:       map[*proxyConn]struct{}{},
		closed:      make(chan struct{}),
	}
}

// prepareHost writes the host's files, its /etc/netns entries and creates
// its namespace.
func (f *Fleet) prepareHost(ctx context.Context, h *Host, sys systemEtc) error {
	if err := os.Mkdir(h.dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(h.hookDir, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(h.hookDir, 0o1777); err != nil {
		return err
	}
	if err := os.WriteFile(h.shellPath, []byte(wrapperShell(h.Name, h.hookFile())), 0o755); err != nil {
		return err
	}
	if err := h.newHostKey("tcplab-" + h.Name); err != nil {
		return err
	}
	cfg, err := sshdConfig{
		HostKeyFile:        h.hostKeyFile,
		AuthorizedKeysFile: f.AuthorizedKeysFile,
		MaxSessions:        f.opts.MaxSessions,
		PenaltiesKeyword:   f.penalties,
	}.render()
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.configFile, []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(h.LogFile, nil, 0o644); err != nil {
		return err
	}
	etc := filepath.Join(netnsEtcDir, h.Name)
	// Another fleet's Cleanup may remove an empty /etc/netns between the
	// two mkdirs of MkdirAll: retry.
	for i := 0; ; i++ {
		err := os.MkdirAll(etc, 0o755)
		if err == nil {
			break
		}
		if i == 5 || !os.IsNotExist(err) {
			return err
		}
	}
	out, err := f.writeEtc(etc, h.shellPath, sys)
	if err != nil {
		return err
	}
	for _, d := range []string{"sudoers.d", "sysctl.d"} {
		if err := os.Mkdir(filepath.Join(etc, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(etc, "sudoers.d", "tcplab"), out.Sudoers, 0o440); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(etc, "sudoers.d", "tcplab"), 0o440); err != nil {
		return err
	}
	return addNetns(ctx, h.Name)
}

// listen binds the host's public listener on a fresh loopback address.
func (f *Fleet) listen(h *Host) error {
	ln, addr, port, err := f.bindLoopback()
	if err != nil {
		return fmt.Errorf("lab: host %s: %w", h.label(), err)
	}
	h.Addr, h.Port = addr, port
	h.mu.Lock()
	h.startAccepting(ln)
	h.mu.Unlock()
	return nil
}

// bindLoopback listens on a random unused 127.A.B.C (A in 100..200), on
// port 22 when possible, else on a random port in 20000..29999 (below the
// default ephemeral range, so Up can rebind it).
func (f *Fleet) bindLoopback() (*net.TCPListener, string, int, error) {
	var lastErr error
	for attempt := 0; attempt < 64; attempt++ {
		addr, ok := reserveAddr()
		if !ok {
			continue
		}
		port := 22
		if attempt >= 6 {
			port = 20000 + randInt(10000)
		}
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.ParseIP(addr), Port: port})
		if err != nil {
			releaseAddrs([]string{addr})
			lastErr = err
			if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES) {
				continue
			}
			return nil, "", 0, err
		}
		f.addrs = append(f.addrs, addr)
		return ln, addr, port, nil
	}
	return nil, "", 0, fmt.Errorf("no free loopback address: %w", lastErr)
}

// startBastion writes the bastion's files and starts its daemon and proxy.
func (f *Fleet) startBastion(ctx context.Context, sys systemEtc) error {
	h := &Host{
		LogFile:     filepath.Join(f.Dir, "bastion", "sshd.log"),
		fleet:       f,
		dir:         filepath.Join(f.Dir, "bastion"),
		configFile:  filepath.Join(f.Dir, "bastion", "sshd_config"),
		hostKeyFile: filepath.Join(f.Dir, "bastion", "ssh_host_ed25519_key"),
		conns:       map[*proxyConn]struct{}{},
		closed:      make(chan struct{}),
	}
	f.Bastion = h
	if err := os.Mkdir(h.dir, 0o755); err != nil {
		return err
	}
	if _, err := f.writeEtc(h.dir, "/bin/sh", sys); err != nil {
		return err
	}
	if err := h.newHostKey("tcplab-bastion"); err != nil {
		return err
	}
	cfg, err := sshdConfig{
		HostKeyFile:        h.hostKeyFile,
		AuthorizedKeysFile: f.AuthorizedKeysFile,
		Daemon:             true, // ListenAddress is given with -o
		MaxStartups:        f.opts.BastionMaxStartups,
		PenaltiesKeyword:   f.penalties,
	}.render()
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.configFile, []byte(cfg), 0o644); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, f.sshd, "-t", "-f", h.configFile).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: sshd rejects the bastion configuration: %v: %s", err, strings.TrimSpace(string(out)))
	}
	base := []string{"unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", bastionScript, "sh",
		filepath.Join(h.dir, "passwd"), filepath.Join(h.dir, "group"), filepath.Join(h.dir, "shadow"),
		f.sshd, "-D", "-f", h.configFile, "-E", h.LogFile}
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		addr, ok := reserveAddr()
		if !ok {
			continue
		}
		f.addrs = append(f.addrs, addr)
		port := 22
		if attempt >= 3 {
			port = 20000 + randInt(10000)
		}
		d := &daemon{addr: addr, port: port, logFile: h.LogFile}
		d.args = append(append([]string{}, base...), "-o", "ListenAddress="+d.endpoint())
		lastErr = d.start(ctx)
		if lastErr == nil {
			h.daemon = d
			break
		}
		if !errors.Is(lastErr, syscall.EADDRINUSE) {
			return lastErr
		}
	}
	if h.daemon == nil {
		return fmt.Errorf("lab: bastion: %w", lastErr)
	}
	return f.listen(h)
}

// writeKnownHosts writes one line per host and the bastion.
func (f *Fleet) writeKnownHosts() error {
	var b strings.Builder
	for _, h := range f.allHosts() {
		b.WriteString(h.KnownHostsLine() + "\n")
	}
	return os.WriteFile(f.KnownHostsFile, []byte(b.String()), 0o644)
}

// State describes a running fleet for tools and Terraform examples
// (`tcplab up` writes it as JSON).
type State struct {
	Prefix         string      `json:"prefix"`
	Dir            string      `json:"dir"`
	PID            int         `json:"pid"`
	KnownHostsFile string      `json:"known_hosts_file"`
	ClientKeyFile  string      `json:"client_key_file"`
	ClientPubKey   string      `json:"client_public_key"`
	User           string      `json:"user"`
	SudoUser       string      `json:"sudo_user"`
	PasswordUser   string      `json:"password_user"`
	Password       string      `json:"password"`
	Hosts          []StateHost `json:"hosts"`
	Bastion        *StateHost  `json:"bastion,omitempty"`
	BastionPID     int         `json:"bastion_pid,omitempty"`
}

// StateHost is one host in State.
type StateHost struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"`
	Port    int    `json:"port"`
	HostKey string `json:"host_key"`
	LogFile string `json:"log_file"`
}

// State returns the fleet's description, with PID set to this process.
func (f *Fleet) State() State {
	s := State{
		Prefix: f.Prefix, Dir: f.Dir, PID: os.Getpid(),
		KnownHostsFile: f.KnownHostsFile, ClientKeyFile: f.ClientKeyFile, ClientPubKey: f.ClientPublicKey,
		User: "root", SudoUser: UserSudo, PasswordUser: UserPassword, Password: Password,
	}
	for _, h := range f.Hosts {
		s.Hosts = append(s.Hosts, StateHost{Name: h.Name, Addr: h.Addr, Port: h.Port, HostKey: h.HostKey, LogFile: h.LogFile})
	}
	if b := f.Bastion; b != nil {
		s.Bastion = &StateHost{Addr: b.Addr, Port: b.Port, HostKey: b.HostKey, LogFile: b.LogFile}
		s.BastionPID = b.daemon.pid()
	}
	return s
}

// WriteState writes s as indented JSON to path atomically (mode 0644),
// creating the directory.
func WriteState(path string, s State) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// ReadState reads a state file written by WriteState.
func ReadState(path string) (State, error) {
	var s State
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("lab: %s: %w", path, err)
	}
	return s, validPrefix(s.Prefix)
}

// parallel runs fn on every host with at most n at once and returns the
// first error.
func parallel(ctx context.Context, hosts []*Host, n int, fn func(*Host) error) error {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, h := range hosts {
		if ctx.Err() != nil {
			mu.Lock()
			if first == nil {
				first = ctx.Err()
			}
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(h); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// Loopback addresses in use by fleets of this process.
var (
	addrMu   sync.Mutex
	addrUsed = map[string]bool{}
)

// reserveAddr picks a random 127.A.B.C (A in 100..200, C in 1..254) not used
// by another fleet of this process.
func reserveAddr() (string, bool) {
	addr := fmt.Sprintf("127.%d.%d.%d", 100+randInt(101), randInt(256), 1+randInt(254))
	addrMu.Lock()
	defer addrMu.Unlock()
	if addrUsed[addr] {
		return "", false
	}
	addrUsed[addr] = true
	return addr, true
}

func releaseAddrs(addrs []string) {
	addrMu.Lock()
	defer addrMu.Unlock()
	for _, a := range addrs {
		delete(addrUsed, a)
	}
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err)
	}
	return int(v.Int64())
}

// freePrefix returns "tl" + 6 random hex digits not used by any namespace.
func freePrefix() (string, error) {
	for i := 0; i < 20; i++ {
		b := make([]byte, 3)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		p := "tl" + hex.EncodeToString(b)
		if !leftovers(p) {
			return p, nil
		}
	}
	return "", errors.New("lab: no free namespace prefix")
}

// leftovers reports whether a namespace or /etc/netns entry "<prefix>-*" exists.
func leftovers(prefix string) bool {
	for _, dir := range []string{netnsRunDir, netnsEtcDir} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix+"-") {
				return true
			}
		}
	}
	return false
}
