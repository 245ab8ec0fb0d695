package lab

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestSysctlPath(t *testing.T) {
	for _, tc := range []struct {
		key, path string
	}{
		{"net.ipv4.tcp_fin_timeout", "/proc/sys/net/ipv4/tcp_fin_timeout"},
		{"net.core.somaxconn", "/proc/sys/net/core/somaxconn"},
		{"net.ipv4.conf.lo.rp_filter", "/proc/sys/net/ipv4/conf/lo/rp_filter"},
		{"net.ipv4.conf.eth-0.forwarding", "/proc/sys/net/ipv4/conf/eth-0/forwarding"},
		{"vm.swappiness", ""},
		{"kernel.pid_max", ""},
		{"fs.file-max", ""},
		{"net", ""},
		{"net.", ""},
		{"net.ipv4", ""}, // a directory, not a key
		{"net..ipv4.x", ""},
		{"net.ipv4.x.", ""},
		{"net.ipv4/../../vm/x", ""},
		{"net.ipv4.tcp fin", ""},
		{" net.ipv4.x", ""},
		{"NET.ipv4.x", ""},
		{"net.ipv4.x\n", ""},
	} {
		got, err := sysctlPath(tc.key)
		if tc.path == "" {
			if err == nil {
				t.Errorf("sysctlPath(%q) = %q, want refusal", tc.key, got)
			}
			continue
		}
		if err != nil || got != tc.path {
			t.Errorf("sysctlPath(%q) = %q, %v; want %q", tc.key, got, err, tc.path)
		}
	}
}

func FuzzSysctlPath(f *testing.F) {
	for _, s := range []string{"net.ipv4.tcp_tw_reuse", "vm.x", "net/../x", "net.a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		p, err := sysctlPath(key)
		if err != nil {
			return
		}
		if !strings.HasPrefix(p, "/proc/sys/net/") || filepath.Clean(p) != p || strings.Contains(p, "..") {
			t.Fatalf("sysctlPath(%q) = %q escapes /proc/sys/net", key, p)
		}
	})
}

func TestValidPrefix(t *testing.T) {
	for p, ok := range map[string]bool{
		"tl1a2b3c": true, "ab": true, "lab7": true,
		"": false, "a": false, "1abc": false, "tl-x": false, "TL": false,
		"abcdefghijklmnopq": false, "tl/x": false, "tl*": false,
	} {
		if err := validPrefix(p); (err == nil) != ok {
			t.Errorf("validPrefix(%q) = %v, want ok=%v", p, err, ok)
		}
	}
	if err := Cleanup("*"); err == nil {
		t.Errorf("Cleanup accepted a pattern")
	}
}

const sysPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
tcpsudo:x:999:999::/home/old:/bin/bash
other:x:4101:4101::/home/other:/bin/sh
sshd:x:102:65534::/run/sshd:/usr/sbin/nologin
`

const sysShadow = `root:!:20228:0:99999:7:::
daemon:*:20228:0:99999:7:::
tcpsudo:$6$old:1:0:99999:7:::
`

const sysGroup = `root:x:0:
tcppass:x:4102:
users:x:100:
`

func TestRenderEtc(t *testing.T) {
	out, err := renderEtc(etcInput{
		Passwd: []byte(sysPasswd), Group: []byte(sysGroup), Shadow: []byte(sysShadow),
		Shell: "/tmp/lab/hosts/x/sh", HomeDir: "/tmp/lab/home", SudoStateDir: "/tmp/lab/sudo",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantPasswd := `root:x:0:0:root:/root:/tmp/lab/hosts/x/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:102:65534::/run/sshd:/usr/sbin/nologin
tcpsudo:x:4101:4101:tcplab:/tmp/lab/home/tcpsudo:/tmp/lab/hosts/x/sh
tcppass:x:4102:4102:tcplab:/tmp/lab/home/tcppass:/tmp/lab/hosts/x/sh
`
	if string(out.Passwd) != wantPasswd {
		t.Errorf("passwd:\n%s\nwant:\n%s", out.Passwd, wantPasswd)
	}
	wantGroup := "root:x:0:\nusers:x:100:\ntcpsudo:x:4101:\ntcppass:x:4102:\n"
	if string(out.Group) != wantGroup {
		t.Errorf("group:\n%s\nwant:\n%s", out.Group, wantGroup)
	}
	wantShadow := "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n" +
		"tcpsudo:" + passwordHash + ":20000:0:99999:7:::\n" +
		"tcppass:" + passwordHash + ":20000:0:99999:7:::\n"
	if string(out.Shadow) != wantShadow {
		t.Errorf("shadow:\n%s\nwant:\n%s", out.Shadow, wantShadow)
	}
	for _, want := range []string{"tcpsudo ALL=(ALL) NOPASSWD: ALL\n", "tcppass ALL=(ALL) ALL\n", "timestampdir=/tmp/lab/sudo/ts\n"} {
		if !bytes.Contains(out.Sudoers, []byte(want)) {
			t.Errorf("sudoers lacks %q:\n%s", want, out.Sudoers)
		}
	}
	if _, err := renderEtc(etcInput{Passwd: []byte("daemon:x:1:1::/:/bin/sh\n"), Shell: "/bin/sh", HomeDir: "/h", SudoStateDir: "/s"}); err == nil {
		t.Errorf("passwd without root accepted")
	}
	if _, err := renderEtc(etcInput{Passwd: []byte(sysPasswd), Shell: "/bin/s:h", HomeDir: "/h", SudoStateDir: "/s"}); err == nil {
		t.Errorf("shell with a colon accepted")
	}
}

func TestSSHDConfig(t *testing.T) {
	base := sshdConfig{HostKeyFile: "/lab/h/key", AuthorizedKeysFile: "/lab/authorized_keys"}
	for _, tc := range []struct {
		name    string
		c       sshdConfig
		want    []string
		notWant []string
		bad     bool
	}{
		{"host", base, []string{"HostKey /lab/h/key\n", "AuthorizedKeysFile /lab/authorized_keys\n", "UsePAM no\n", "StrictModes no\n",
			"PermitRootLogin prohibit-password\n", "PasswordAuthentication yes\n", "PidFile none\n", "LogLevel VERBOSE\n"},
			[]string{"MaxSessions", "MaxStartups", "PermitOpen", "PerSourcePenalties"}, false},
		{"max sessions", sshdConfig{HostKeyFile: "/k", AuthorizedKeysFile: "/a", MaxSessions: 1}, []string{"MaxSessions 1\n"}, nil, false},
		{"bastion", sshdConfig{HostKeyFile: "/k", AuthorizedKeysFile: "/a", Daemon: true, MaxStartups: "3", PenaltiesKeyword: true},
			[]string{"MaxStartups 3\n", "PermitOpen any\n", "AllowTcpForwarding yes\n", "PerSourcePenalties no\n"}, nil, false},
		{"full max startups", sshdConfig{HostKeyFile: "/k", AuthorizedKeysFile: "/a", MaxStartups: "10:30:100"}, []string{"MaxStartups 10:30:100\n"}, nil, false},
		{"bad max startups", sshdConfig{HostKeyFile: "/k", AuthorizedKeysFile: "/a", MaxStartups: "3\nPermitRootLogin yes"}, nil, nil, true},
		{"space in path", sshdConfig{HostKeyFile: "/a b", AuthorizedKeysFile: "/a"}, nil, nil, true},
		{"negative sessions", sshdConfig{HostKeyFile: "/k", AuthorizedKeysFile: "/a", MaxSessions: -1}, nil, nil, true},
	} {
		got, err := tc.c.render()
		if (err != nil) != tc.bad {
			t.Errorf("%s: err = %v, want bad=%v", tc.name, err, tc.bad)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: config lacks %q", tc.name, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: config has %q", tc.name, w)
			}
		}
	}
}

const sampleLog = `Connection from UNKNOWN port 65535 on UNKNOWN port 65535
Accepted key ED25519 SHA256:abc found at /tmp/lab/authorized_keys:1
Postponed publickey for root from UNKNOWN port 65535 ssh2 [preauth]
Accepted key ED25519 SHA256:abc found at /tmp/lab/authorized_keys:1
Accepted publickey for root from UNKNOWN port 65535 ssh2: ED25519 SHA256:abc
Starting session: command for root from UNKNOWN port 65535 id 0
Starting session: command for root from UNKNOWN port 65535 id 1
Received disconnect from UNKNOWN port 65535:11: disconnected by user
Connection from 127.0.0.1 port 51010 on 127.155.172.226 port 22 rdomain ""
Failed password for tcppass from 127.0.0.1 port 51010 ssh2
Failed password for invalid user bob from 127.0.0.1 port 51010 ssh2
Accepted password for tcppass from 127.0.0.1 port 51010 ssh2
Starting session: subsystem 'sftp' for tcppass from 127.0.0.1 port 51010 id 0
Nov 24 02:00:00 host sshd[123]: Connection from 10.0.0.1 port 1 on 10.0.0.2 port 22
Nov 24 02:00:00 host sshd[123]: Starting session: shell on pts/0 for root from 10.0.0.1 port 1 id 0
`

func TestParseSSHDLog(t *testing.T) {
	got, err := ParseSSHDLog(strings.NewReader(sampleLog))
	if err != nil {
		t.Fatal(err)
	}
	want := SSHDStats{Connections: 3, Accepted: 2, Sessions: 4, Failed: 2}
	if got != want {
		t.Errorf("ParseSSHDLog = %+v, want %+v", got, want)
	}
	if got, _ := ParseSSHDLog(strings.NewReader("")); got != (SSHDStats{}) {
		t.Errorf("empty log: %+v", got)
	}
}

func FuzzParseSSHDLog(f *testing.F) {
	f.Add(sampleLog)
	f.Add("Connection from \nStarting session: \n]: Accepted x for y\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSSHDLog(strings.NewReader(s))
		if err != nil {
			return
		}
		lines := strings.Count(s, "\n") + 1
		if got.Connections+got.Accepted+got.Sessions+got.Failed > lines {
			t.Fatalf("%+v counts more events than the %d lines", got, lines)
		}
		// Counting is additive over whole lines.
		double, _ := ParseSSHDLog(strings.NewReader(s + "\n" + s))
		if double.Connections != 2*got.Connections || double.Sessions != 2*got.Sessions {
			t.Fatalf("not additive: %+v vs %+v", got, double)
		}
	})
}

func TestKeysAndKnownHosts(t *testing.T) {
	kp, err := newKeyPair("c")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(kp.PrivatePEM))
	if err != nil {
		t.Fatal(err)
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(kp.Public))
	if err != nil || comment != "c" || !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatalf("public key %q does not match the private key (%v)", kp.Public, err)
	}
	if !strings.HasPrefix(kp.PrivatePEM, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("private key is not OpenSSH PEM")
	}
	for _, tc := range []struct {
		port int
		want string
	}{{22, "127.1.2.3 "}, {2222, "[127.1.2.3]:2222 "}} {
		line := knownHostsLine("127.1.2.3", tc.port, kp.Public)
		if !strings.HasPrefix(line, tc.want) || strings.HasSuffix(line, " c") {
			t.Errorf("knownHostsLine port %d = %q", tc.port, line)
		}
		if _, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(line)); err != nil || len(hosts) != 1 || !bytes.Equal(key.Marshal(), pub.Marshal()) {
			t.Errorf("x/crypto cannot parse %q: %v", line, err)
		}
	}
}

// slowReader is an in-memory reader for copyDelayed tests.
type slowReader struct {
	chunks []string
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestCopyDelayed(t *testing.T) {
	for _, d := range []time.Duration{0, 30 * time.Millisecond} {
		var dst bytes.Buffer
		start := time.Now()
		err := copyDelayed(&dst, &slowReader{chunks: []string{"hello ", "lab ", "world"}}, d)
		if err != nil || dst.String() != "hello lab world" {
			t.Errorf("delay %v: %q, %v", d, dst.String(), err)
		}
		if el := time.Since(start); el < d {
			t.Errorf("delay %v: returned after %v", d, el)
		}
	}
	err := copyDelayed(io.Discard, iotestErr{}, 5*time.Millisecond)
	if err == nil || err.Error() != "boom" {
		t.Errorf("read error not passed on: %v", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBoom }

var errBoom = &boomErr{}

type boomErr struct{}

func (*boomErr) Error() string { return "boom" }

func TestStateRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "state.json")
	s := State{Prefix: "tlabc123", Dir: "/tmp/x", PID: 42, Hosts: []StateHost{{Name: "tlabc123-1", Addr: "127.100.0.1", Port: 22}}}
	if err := WriteState(p, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(p)
	if err != nil || got.Prefix != s.Prefix || len(got.Hosts) != 1 || got.Hosts[0] != s.Hosts[0] {
		t.Errorf("ReadState = %+v, %v", got, err)
	}
	if err := WriteState(p, State{Prefix: "../etc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(p); err == nil {
		t.Errorf("state with a bad prefix accepted")
	}
}
