package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshCmd builds an OpenSSH client command for user@h that trusts only the
// fleet's known_hosts and key, and uses no user or system configuration.
func sshCmd(ctx context.Context, t *testing.T, f *Fleet, h *Host, user string, extra []string, command string) *exec.Cmd {
	t.Helper()
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("OpenSSH client not found (install openssh-client): %v", err)
	}
	args := []string{"-F", "/dev/null",
		"-i", f.ClientKeyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + f.KnownHostsFile,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(h.Port)}
	args = append(args, extra...)
	args = append(args, user+"@"+h.Addr, command)
	return exec.CommandContext(ctx, sshPath, args...)
}

// runSSH runs command on h as user with OpenSSH and returns combined output.
func runSSH(t *testing.T, f *Fleet, h *Host, user, command string, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := sshCmd(ctx, t, f, h, user, extra, command).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// goClient connects to h with golang.org/x/crypto/ssh, checking the host key
// against the fleet's known_hosts file.
func goClient(t *testing.T, f *Fleet, h *Host, user string, auth ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	cb, err := knownhosts.New(f.KnownHostsFile)
	if err != nil {
		t.Fatalf("known_hosts: %v", err)
	}
	return ssh.Dial("tcp", h.Endpoint(), &ssh.ClientConfig{
		User:              user,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           10 * time.Second,
	})
}

func keyAuth(t *testing.T, f *Fleet) ssh.AuthMethod {
	t.Helper()
	s, err := ssh.ParsePrivateKey([]byte(f.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.PublicKeys(s)
}

func rootSysctl(t *testing.T, key string) string {
	t.Helper()
	p, err := sysctlPath(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func TestFleet(t *testing.T) {
	f := startT(t, Options{Hosts: 3, Bastion: true, BastionMaxStartups: "3"})

	t.Run("layout", func(t *testing.T) {
		if len(f.Hosts) != 3 {
			t.Fatalf("%d hosts, want 3", len(f.Hosts))
		}
		seen := map[string]bool{}
		kh, err := os.ReadFile(f.KnownHostsFile)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range f.Hosts {
			if h.Index != i+1 || h.Name != fmt.Sprintf("%s-%d", f.Prefix, i+1) {
				t.Errorf("host %d: index %d name %q", i, h.Index, h.Name)
			}
			ip := net.ParseIP(h.Addr).To4()
			if ip == nil || ip[0] != 127 || ip[1] < 100 || ip[1] > 200 {
				t.Errorf("host %s: address %q not in 127.100-200.x.x", h.Name, h.Addr)
			}
			if seen[h.Addr] || seen[h.HostKey] {
				t.Errorf("host %s: address or host key shared with another host", h.Name)
			}
			seen[h.Addr], seen[h.HostKey] = true, true
			if !strings.Contains(string(kh), h.KnownHostsLine()) {
				t.Errorf("known_hosts lacks %q", h.KnownHostsLine())
			}
			if _, err := os.Stat(filepath.Join(netnsRunDir, h.Name)); err != nil {
				t.Errorf("namespace %s: %v", h.Name, err)
			}
		}
		if st, err := os.Stat(f.ClientKeyFile); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("client key file mode: %v %v", st, err)
		}
	})

	t.Run("root sees its namespace", func(t *testing.T) {
		const key = "net.ipv4.tcp_fin_timeout"
		before := rootSysctl(t, key)
		h := f.Hosts[1]
		want := "17"
		if before == want {
			want = "19"
		}
		if err := h.SetSysctl(key, want); err != nil {
			t.Fatal(err)
		}
		out, err := runSSH(t, f, h, "root", "cat /proc/sys/net/ipv4/tcp_fin_timeout")
		if err != nil || out != want {
			t.Fatalf("ssh host 2: %q, %v; want %q", out, err, want)
		}
		if got, err := h.Sysctl(key); err != nil || got != want {
			t.Errorf("Sysctl = %q, %v; want %q", got, err, want)
		}
		if got, err := h.Exec(context.Background(), nil, "cat", "/proc/sys/net/ipv4/tcp_fin_timeout"); err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("Exec cat = %q, %v; want %q", got, err, want)
		}
		if got, _ := f.Hosts[0].Sysctl(key); got != "60" {
			t.Errorf("host 1 (untouched namespace) has %s = %q, want the kernel default 60", key, got)
		}
		if after := rootSysctl(t, key); after != before {
			t.Errorf("root namespace %s changed: %q -> %q", key, before, after)
		}
		if out, err := runSSH(t, f, h, "root", "echo $0; id -u"); err != nil || out != "/bin/sh\n0" {
			t.Errorf("root login shell: %q, %v; want /bin/sh and uid 0", out, err)
		}
	})

	t.Run("sysctl.d is per host", func(t *testing.T) {
		h := f.Hosts[0]
		if err := os.WriteFile(filepath.Join(h.SysctlDir(), "90-lab.conf"), []byte("net.ipv4.tcp_fin_timeout = 33\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := runSSH(t, f, h, "root", "cat /etc/sysctl.d/90-lab.conf"); err != nil || !strings.Contains(out, "= 33") {
			t.Errorf("host 1 /etc/sysctl.d: %q, %v", out, err)
		}
		if out, err := runSSH(t, f, f.Hosts[2], "root", "ls -A /etc/sysctl.d"); err != nil || out != "" {
			t.Errorf("host 3 /etc/sysctl.d should be empty: %q, %v", out, err)
		}
		if _, err := os.Stat("/etc/sysctl.d/90-lab.conf"); err == nil {
			t.Errorf("file leaked into the machine's /etc/sysctl.d")
		}
	})

	t.Run("sudo", func(t *testing.T) {
		h := f.Hosts[1]
		out, err := runSSH(t, f, h, UserSudo, "id -u; sudo -n id -u; sudo -n cat /proc/sys/net/ipv4/tcp_fin_timeout")
		if err != nil {
			t.Fatalf("tcpsudo: %q, %v", out, err)
		}
		if lines := strings.Split(out, "\n"); len(lines) != 3 || lines[0] != "4101" || lines[1] != "0" {
			t.Errorf("tcpsudo: %q, want uid 4101, then 0 under sudo", out)
		}
		out, err = runSSH(t, f, h, UserPassword, "sudo -n true")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, "a password is required") {
			t.Errorf("tcppass sudo -n: %q, %v; want exit 1 and \"a password is required\"", out, err)
		}
	})

	t.Run("password login with x/crypto/ssh", func(t *testing.T) {
		c, err := goClient(t, f, f.Hosts[2], UserPassword, ssh.Password(Password))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.CombinedOutput("id -un")
		if err != nil || strings.TrimSpace(string(out)) != UserPassword {
			t.Errorf("id -un = %q, %v", out, err)
		}
		if _, err := goClient(t, f, f.Hosts[2], UserPassword, ssh.Password("wrong")); err == nil {
			t.Errorf("wrong password accepted")
		}
		if _, err := goClient(t, f, f.Hosts[2], "root", ssh.Password(Password)); err == nil {
			t.Errorf("root logged in with a password (PermitRootLogin prohibit-password)")
		}
	})

	t.Run("bastion", func(t *testing.T) {
		b := f.Bastion
		proxy := fmt.Sprintf("ProxyCommand=ssh -F /dev/null -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -p %d -W %%h:%%p root@%s",
			f.ClientKeyFile, f.KnownHostsFile, b.Port, b.Addr)
		before, _ := b.SSHDStats()
		acc := b.ConnectionsAccepted()
		h := f.Hosts[0]
		out, err := runSSH(t, f, h, "root", "cat /proc/sys/net/ipv4/tcp_fin_timeout", "-o", proxy)
		if err != nil || out != "60" {
			t.Fatalf("through bastion: %q, %v", out, err)
		}
		after, _ := b.SSHDStats()
		if after.Connections != before.Connections+1 || after.Accepted != before.Accepted+1 {
			t.Errorf("bastion sshd stats %+v -> %+v, want one more connection and login", before, after)
		}
		if b.ConnectionsAccepted() != acc+1 {
			t.Errorf("bastion listener accepted %d -> %d", acc, b.ConnectionsAccepted())
		}
		if _, err := b.Exec(context.Background(), nil, "true"); err == nil {
			t.Errorf("Exec on the bastion (root namespace) must be refused")
		}
		if err := b.SetSysctl("net.ipv4.tcp_fin_timeout", "5"); err == nil {
			t.Errorf("SetSysctl on the bastion (root namespace) must be refused")
		}
	})

	t.Run("bastion max startups", func(t *testing.T) {
		b := f.Bastion
		// MaxStartups 3: three connections that never authenticate fill
		// the bastion; a fourth is dropped before the banner.
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		banner := func(c net.Conn) string {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			return line
		}
		for i := 0; i < 3; i++ {
			c, err := net.DialTimeout("tcp", b.Endpoint(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			if l := banner(c); !strings.HasPrefix(l, "SSH-2.0-") {
				t.Fatalf("unauthenticated connection %d: banner %q", i+1, l)
			}
		}
		c, err := net.DialTimeout("tcp", b.Endpoint(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if l := banner(c); strings.HasPrefix(l, "SSH-") {
			t.Errorf("fourth unauthenticated connection got a banner %q despite MaxStartups 3", l)
		}
		c.Close()
		for _, c := range held {
			c.Close()
		}
		held = nil
		ok := waitFor(10*time.Second, func() bool {
			out, err := runSSH(t, f, b, "root", "echo in")
			return err == nil && out == "in"
		})
		if !ok {
			t.Errorf("bastion did not accept logins after the unauthenticated connections closed")
		}
	})

	t.Run("sshd stats", func(t *testing.T) {
		h := f.Hosts[2]
		before, err := h.SSHDStats()
		if err != nil {
			t.Fatal(err)
		}
		acc := h.ConnectionsAccepted()
		c, err := goClient(t, f, h, "root", keyAuth(t, f))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Run("true"); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		c.Close()
		var after SSHDStats
		waitFor(5*time.Second, func() bool { after, _ = h.SSHDStats(); return after.Sessions >= before.Sessions+3 })
		if after.Connections != before.Connections+1 || after.Sessions != before.Sessions+3 || after.Accepted != before.Accepted+1 {
			t.Errorf("sshd stats %+v -> %+v; want +1 connection, +1 login, +3 sessions", before, after)
		}
		if got := h.ConnectionsAccepted(); got != acc+1 {
			t.Errorf("ConnectionsAccepted %d -> %d, want +1", acc, got)
		}
	})

	t.Run("down and up", func(t *testing.T) {
		h := f.Hosts[0]
		h.Down()
		_, err := net.DialTimeout("tcp", h.Endpoint(), 2*time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial while down: %v, want connection refused", err)
		}
		if err := h.Up(); err != nil {
			t.Fatal(err)
		}
		if out, err := runSSH(t, f, h, "root", "echo up"); err != nil || out != "up" {
			t.Errorf("after Up: %q, %v", out, err)
		}
	})

	t.Run("mute", func(t *testing.T) {
		h := f.Hosts[0]
		h.Mute(true)
		acc := h.ConnectionsAccepted()
		c, err := net.DialTimeout("tcp", h.Endpoint(), 2*time.Second)
		if err != nil {
			t.Fatalf("dial muted host: %v (it must accept TCP)", err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		n, err := c.Read(make([]byte, 64))
		var ne net.Error
		if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("muted host answered: %d bytes, %v", n, err)
		}
		if !waitFor(2*time.Second, func() bool { return h.ConnectionsAccepted() == acc+1 }) {
			t.Errorf("muted connection not counted")
		}
		h.Mute(false)
		h.CutConnections() // closes the silent one
		c2, err := net.DialTimeout("tcp", h.Endpoint(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c2).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "SSH-2.0-OpenSSH") {
			t.Errorf("unmuted banner %q, %v", line, err)
		}
	})

	t.Run("cut connections", func(t *testing.T) {
		h := f.Hosts[1]
		before, _ := h.SSHDStats()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := sshCmd(ctx, t, f, h, "root", nil, "sleep 30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if !waitFor(15*time.Second, func() bool { s, _ := h.SSHDStats(); return s.Sessions > before.Sessions }) {
			t.Fatal("session never started")
		}
		start := time.Now()
		h.CutConnections()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 255 {
				t.Errorf("ssh after cut: %v, want exit 255", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("ssh still running %v after the cut", time.Since(start))
		}
		if !waitFor(5*time.Second, func() bool { return h.LiveConnections() == 0 }) {
			t.Errorf("%d live connections after cut", h.LiveConnections())
		}
	})

	t.Run("cut on next exec", func(t *testing.T) {
		h := f.Hosts[2]
		marker := filepath.Join(f.Dir, "ran-after-cut")
		for _, thenRun := range []bool{false, true} {
			_ = os.Remove(marker)
			cut, err := h.CutOnNextExec("", thenRun)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runSSH(t, f, h, "root", "touch "+marker+"; echo done")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 255 || strings.Contains(out, "done") {
				t.Errorf("thenRun=%v: ssh %q, %v; want the connection lost (255) before any output", thenRun, out, err)
			}
			select {
			case <-cut:
			case <-time.After(5 * time.Second):
				t.Fatalf("thenRun=%v: cut channel not closed", thenRun)
			}
			ran := waitFor(3*time.Second, func() bool { _, err := os.Stat(marker); return err == nil })
			if ran != thenRun {
				t.Errorf("thenRun=%v: command ran = %v", thenRun, ran)
			}
		}
		if out, err := runSSH(t, f, h, "root", "echo ok"); err != nil || out != "ok" {
			t.Errorf("hook not disarmed: %q, %v", out, err)
		}
	})

	t.Run("exec hook", func(t *testing.T) {
		h := f.Hosts[2]
		if err := h.SetExecHook(`echo "hooked $*" >&2; exit 7`); err != nil {
			t.Fatal(err)
		}
		out, err := runSSH(t, f, h, UserSudo, "echo never")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 || out != "hooked -c echo never" {
			t.Errorf("hooked command: %q, %v", out, err)
		}
		if err := h.SetExecHook(""); err != nil {
			t.Fatal(err)
		}
		if out, err := runSSH(t, f, h, UserSudo, "echo free"); err != nil || out != "free" {
			t.Errorf("after removing the hook: %q, %v", out, err)
		}
	})

	t.Run("rotate host key", func(t *testing.T) {
		h := f.Hosts[2]
		old := h.HostKey
		if err := h.RotateHostKey(); err != nil {
			t.Fatal(err)
		}
		if h.HostKey == old {
			t.Fatal("HostKey unchanged")
		}
		out, err := runSSH(t, f, h, "root", "echo must-not-run")
		if err == nil || strings.Contains(out, "must-not-run") || !strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
			t.Errorf("after rotation: %q, %v; want a host key mismatch", out, err)
		}
		_, err = goClient(t, f, h, "root", keyAuth(t, f))
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) || len(ke.Want) == 0 {
			t.Errorf("x/crypto/ssh after rotation: %v, want a knownhosts.KeyError mismatch", err)
		}
		// The other hosts are unaffected.
		if out, err := runSSH(t, f, f.Hosts[0], "root", "echo fine"); err != nil || out != "fine" {
			t.Errorf("host 1: %q, %v", out, err)
		}
	})

	t.Run("sysctl calls leave sessions and threads alone", func(t *testing.T) {
		// Children started with Pdeathsig die when the thread that forked
		// them exits; Sysctl/SetSysctl must not end any thread, and no
		// goroutine may be left in a host's namespace.
		h := f.Hosts[0]
		c, err := goClient(t, f, h, "root", keyAuth(t, f))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		const key = "net.ipv4.tcp_keepalive_time"
		root := rootSysctl(t, key)
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for i := 0; i < 200; i++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := f.Hosts[i%3].SetSysctl(key, strconv.Itoa(100+i)); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_keepalive_time")
				if got := strings.TrimSpace(string(b)); err != nil || got != root {
					errs <- fmt.Errorf("root namespace read %s = %q (%v), want %q", key, got, err, root)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("session on the existing connection after sysctl calls: %v", err)
		}
		defer s.Close()
		if out, err := s.Output("echo alive"); err != nil || strings.TrimSpace(string(out)) != "alive" {
			t.Errorf("existing connection: %q, %v", out, err)
		}
		if out, err := runSSH(t, f, f.Bastion, "root", "echo bastion"); err != nil || out != "bastion" {
			t.Errorf("bastion after sysctl calls: %q, %v", out, err)
		}
	})

	t.Run("refused keys", func(t *testing.T) {
		for _, k := range []string{"vm.swappiness", "kernel.pid_max", "fs.file-max", "net..x", "net/ipv4/tcp_fin_timeout"} {
			if err := f.Hosts[0].SetSysctl(k, "1"); err == nil {
				t.Errorf("SetSysctl(%q) accepted", k)
			}
		}
	})
}

func TestLatency(t *testing.T) {
	const lat = 150 * time.Millisecond
	f := startT(t, Options{Hosts: 1, Latency: lat})
	h := f.Hosts[0]
	start := time.Now()
	c, err := net.DialTimeout("tcp", h.Endpoint(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		t.Fatalf("banner %q, %v", line, err)
	}
	// The banner travels server -> client once: it cannot arrive sooner
	// than the injected one-way latency (a lower bound, not a timing test).
	if el := time.Since(start); el < lat {
		t.Errorf("banner after %v, want at least %v", el, lat)
	}
	if out, err := runSSH(t, f, h, "root", "echo slow"); err != nil || out != "slow" {
		t.Errorf("ssh with latency: %q, %v", out, err)
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	requireFleet(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := Start(ctx, Options{Hosts: 2, Bastion: true})
	if err != nil {
		t.Fatal(err)
	}
	st := f.State()
	// A live session must not keep Close from finishing.
	c, err := goClient(t, f, f.Hosts[0], "root", keyAuth(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	list, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range st.Hosts {
		if strings.Contains(string(list), h.Name) {
			t.Errorf("namespace %s still listed:\n%s", h.Name, list)
		}
		if _, err := os.Stat(filepath.Join(netnsEtcDir, h.Name)); !os.IsNotExist(err) {
			t.Errorf("/etc/netns/%s still there: %v", h.Name, err)
		}
		if _, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), time.Second); err == nil {
			t.Errorf("%s still accepts connections", h.Name)
		}
	}
	if _, err := os.Stat(st.Dir); !os.IsNotExist(err) {
		t.Errorf("lab dir %s still there: %v", st.Dir, err)
	}
	if st.BastionPID == 0 {
		t.Errorf("state has no bastion pid")
	} else if err := syscall.Kill(st.BastionPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("bastion sshd %d still alive: %v", st.BastionPID, err)
	}
	if leftovers(st.Prefix) {
		t.Errorf("leftovers with prefix %s", st.Prefix)
	}
}

func TestParallelFleets(t *testing.T) {
	requireFleet(t)
	var wg sync.WaitGroup
	fleets := make([]*Fleet, 2)
	errs := make([]error, 2)
	for i := range fleets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			fleets[i], errs[i] = Start(ctx, Options{Hosts: 2})
		}()
	}
	wg.Wait()
	for _, f := range fleets {
		if f != nil {
			t.Cleanup(func() {
				if err := f.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("fleet %d: %v", i, err)
		}
	}
	a, b := fleets[0], fleets[1]
	if a.Prefix == b.Prefix || a.Hosts[0].Addr == b.Hosts[0].Addr {
		t.Fatalf("fleets collide: %s/%s, %s/%s", a.Prefix, a.Hosts[0].Addr, b.Prefix, b.Hosts[0].Addr)
	}
	for _, f := range fleets {
		if out, err := runSSH(t, f, f.Hosts[1], "root", "echo "+f.Prefix); err != nil || out != f.Prefix {
			t.Errorf("fleet %s: %q, %v", f.Prefix, out, err)
		}
	}
	// One fleet's known_hosts does not vouch for the other's hosts.
	mixed := &Fleet{KnownHostsFile: a.KnownHostsFile, ClientKey: b.ClientKey}
	if _, err := goClient(t, mixed, b.Hosts[0], "root", keyAuth(t, b)); err == nil {
		t.Errorf("host of fleet %s accepted with fleet %s's known_hosts", b.Prefix, a.Prefix)
	}
}

func TestMaxSessions(t *testing.T) {
	f := startT(t, Options{Hosts: 1, MaxSessions: 1})
	c, err := goClient(t, f, f.Hosts[0], "root", keyAuth(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s1, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if s2, err := c.NewSession(); err == nil {
		s2.Close()
		t.Errorf("second concurrent session opened despite MaxSessions 1")
	}
	s1.Close()
	var s3 *ssh.Session
	if !waitFor(5*time.Second, func() bool {
		s3, err = c.NewSession()
		return err == nil
	}) {
		t.Fatalf("no session after closing the first: %v", err)
	}
	defer s3.Close()
	if out, err := s3.Output("echo again"); err != nil || strings.TrimSpace(string(out)) != "again" {
		t.Errorf("%q, %v", out, err)
	}
}

// TestFailedStartRemovesEverything: a Start that fails after the hosts'
// namespaces, /etc/netns entries and listeners exist leaves nothing behind.
func TestFailedStartRemovesEverything(t *testing.T) {
	requireFleet(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prefix, err := freePrefix()
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	startFault = func() error {
		// The hosts exist at this point (so there is something to clean).
		if !leftovers(prefix) {
			t.Errorf("no namespace named %s-* exists when the fault fires", prefix)
		}
		return errors.New("injected failure after the hosts were up")
	}
	defer func() { startFault = nil }()
	f, err := Start(ctx, Options{Hosts: 2, Bastion: true, Prefix: prefix, Dir: parent})
	if err == nil {
		_ = f.Close()
		t.Fatal("Start succeeded despite the injected failure")
	}
	if !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("Start failed before the hosts were up: %v", err)
	}
	if leftovers(prefix) {
		t.Errorf("a failed Start left namespaces or /etc/netns entries named %s-*", prefix)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("a failed Start left its lab directory: %v", entries)
	}
}
