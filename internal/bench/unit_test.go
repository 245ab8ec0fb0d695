package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines as terraform writes them to TF_LOG_PATH with TF_LOG_PROVIDER=DEBUG.
const sampleLog = `2026-11-24T03:00:44.293Z [DEBUG] provider: plugin started: path=/x/terraform-provider-tcp pid=15560
2026-11-24T03:00:45.063Z [DEBUG] provider.terraform-provider-tcp: ssh connection opened: tf_req_id=e4 via_bastion=false @module=tcp bastion=false host=root@127.1.2.3:22 tf_rpc=PlanResourceChange attempts=1 connections=1 auth_methods=private_key
2026-11-24T03:00:45.085Z [DEBUG] provider.terraform-provider-tcp: ssh script starting: host=root@127.1.2.3:22 remote_timeout_s=298 script=tcp_tuning/read timestamp=x
2026-11-24T03:00:45.093Z [DEBUG] provider.terraform-provider-tcp: ssh connection opened: @module=tcp host=root@127.1.2.4:2222 attempts=1 connections=2 tf_rpc=PlanResourceChange
2026-11-24T03:00:45.124Z [DEBUG] provider.terraform-provider-tcp: ssh script starting: remote_timeout_s=298 script=tcp_tuning/read @module=tcp host=root@127.1.2.4:2222 sudo=false
2026-11-24T03:00:46.179Z [DEBUG] provider.terraform-provider-tcp: ssh connection opened: connections=1 host=root@127.1.2.3:22
2026-11-24T03:00:47.639Z [DEBUG] provider.terraform-provider-tcp: ssh script starting: host=root@127.1.2.3:22 script=tcp_tuning/apply
2026-11-24T03:00:47.700Z [DEBUG] provider.terraform-provider-tcp: ssh connection failed: host=root@127.1.2.9:22 kind=connect
2026-11-24T03:00:47.800Z [DEBUG] provider.terraform-provider-tcp: tcp_tuning applied: host=root@127.1.2.3:22 connections=10
`

func TestParseProviderLog(t *testing.T) {
	pl, err := parseProviderLog(strings.NewReader(sampleLog))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host         string
		conns, execs int
	}{
		{"root@127.1.2.3:22", 2, 2},
		{"root@127.1.2.4:2222", 1, 1},
		{"root@127.1.2.9:22", 0, 0},
	} {
		if pl.Connections[c.host] != c.conns || pl.Execs[c.host] != c.execs {
			t.Errorf("%s: %d connections, %d execs; want %d, %d", c.host, pl.Connections[c.host], pl.Execs[c.host], c.conns, c.execs)
		}
	}
	if pl.Pools != 2 {
		t.Errorf("Pools = %d, want 2 (two lines with connections=1)", pl.Pools)
	}
	if pl.Scripts["tcp_tuning/read"] != 2 || pl.Scripts["tcp_tuning/apply"] != 1 || len(pl.Scripts) != 2 {
		t.Errorf("Scripts = %v", pl.Scripts)
	}
}

func TestParseConf(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
	}{
		{"net.ipv4.tcp_tw_reuse=1\n", map[string]string{"net.ipv4.tcp_tw_reuse": "1"}},
		{"# c\n; c\n net.core.somaxconn = 8192 \nnet.ipv4.ip_local_port_range = 10000 65001\n", map[string]string{
			"net.core.somaxconn": "8192", "net.ipv4.ip_local_port_range": "10000 65001"}},
		{"garbage\n\n", map[string]string{}},
	} {
		got := parseConf(c.in)
		if len(got) != len(c.want) {
			t.Errorf("parseConf(%q) = %v, want %v", c.in, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("parseConf(%q)[%s] = %q, want %q", c.in, k, got[k], v)
			}
		}
	}
}

func TestRecap(t *testing.T) {
	out := []byte(`PLAY RECAP *********************************************************************
tl1-1                      : ok=1    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
tl1-2                      : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
tl1-3                      : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
`)
	hosts, changed, failed := recap(out)
	if hosts != 3 || changed != 1 || failed != 1 {
		t.Errorf("recap = %d hosts, %d changed, %d failed; want 3, 1, 1", hosts, changed, failed)
	}
}

func TestSpread(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want Spread
		str  string
	}{
		{nil, Spread{}, "0"},
		{[]int{2, 2, 2}, Spread{2, 2, 6}, "2"},
		{[]int{3, 1, 2}, Spread{1, 3, 6}, "1–3"},
	} {
		got := spread(c.in)
		if got != c.want || got.String() != c.str {
			t.Errorf("spread(%v) = %+v %q, want %+v %q", c.in, got, got.String(), c.want, c.str)
		}
	}
}

func TestTemplatesRender(t *testing.T) {
	dir := t.TempDir()
	d := tmplData{
		Hosts:    []tmplHost{{Name: "tl1-1", Addr: "127.100.0.1", Port: 22, HostKey: "ssh-ed25519 AAAA k"}, {Name: "tl1-2", Addr: "127.100.0.2", Port: 20022, HostKey: "ssh-ed25519 BBBB k"}},
		Settings: Settings, KeyFile: "/k/id", KnownHostsFile: "/k/known_hosts", File: "90-x.conf", Dir: dir,
	}
	for _, c := range []struct {
		tmpl string
		want []string
	}{
		{"provider.tf.tmpl", []string{`"tl1-2" = { addr = "127.100.0.2", port = 20022 }`, "ip_local_port_range = { min = 10000, max = 65001 }", "tcp_max_syn_backlog = 8192", `known_hosts_file = "/k/known_hosts"`}},
		{"remote_exec.tf.tmpl", []string{`host_key = "ssh-ed25519 BBBB k"`, "'net.ipv4.ip_local_port_range=10000 65001'", "/etc/sysctl.d/90-x.conf"}},
		{"inventory.ini.tmpl", []string{"tl1-2 ansible_host=127.100.0.2 ansible_port=20022", "ansible_ssh_private_key_file=/k/id"}},
		{"playbook.yml.tmpl", []string{"sysctl_file: /etc/sysctl.d/90-x.conf", "reload: true", `- { key: net.core.somaxconn, value: "8192" }`, `name: "{{ item.key }}"`}},
		{"ansible.cfg.tmpl", []string{"UserKnownHostsFile=/k/known_hosts -o StrictHostKeyChecking=yes", "inventory = " + dir + "/inventory.ini"}},
	} {
		p := filepath.Join(dir, c.tmpl)
		if err := render(c.tmpl, p, d); err != nil {
			t.Fatalf("%s: %v", c.tmpl, err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q:\n%s", c.tmpl, w, b)
			}
		}
	}
}

func TestMarkdownAndRatios(t *testing.T) {
	yes := true
	r := &Report{Hosts: 2, Parallelism: 10, Phases: []Phase{
		{Tool: ToolProvider, Phase: PhaseApply, Wall: 2 * time.Second, SSHDConns: Spread{2, 2, 4}, SSHDExecs: Spread{3, 3, 6},
			ProviderConns: &Spread{2, 2, 4}, ProviderExecs: &Spread{3, 3, 6}, Agree: &yes, Processes: 4, ConnectingProcesses: 2,
			Scripts: map[string]int{"tcp_tuning/read": 4, "tcp_tuning/apply": 2}, PeakRSS: 30 << 20, PeakConns: 7, Load: "0.5→0.7"},
		{Tool: ToolFloor, Phase: PhaseFloor2, Wall: 500 * time.Millisecond, SSHDConns: Spread{2, 2, 4}, SSHDExecs: Spread{2, 2, 4}, PeakConns: 10},
		{Tool: ToolAnsiblePipelining, Phase: PhaseApply, Wall: 25 * time.Second, SSHDConns: Spread{1, 1, 2}, SSHDExecs: Spread{8, 8, 16}},
	}}
	md := r.Markdown()
	for _, w := range []string{"| provider | apply (create) | 2.00 | 2 | 3 | 2 / 3 | yes | 4 (2) | apply 1, read 2 | 30.0 | 7 | 0.5→0.7 |",
		"| floor | 2 logins per host | 0.50 | 2 | 2 |", "provider apply / 2-login floor: 4.00× (2.00 s vs 0.50 s)",
		"ansible-pipelining apply / provider apply: 12.5×"} {
		if !strings.Contains(md, w) {
			t.Errorf("Markdown lacks %q:\n%s", w, md)
		}
	}
}

func FuzzParseProviderLog(f *testing.F) {
	f.Add(sampleLog)
	f.Add("ssh connection opened: host=\nssh script starting: host=x script=")
	f.Fuzz(func(t *testing.T, s string) {
		pl, err := parseProviderLog(strings.NewReader(s))
		if err != nil {
			return
		}
		total := 0
		for _, n := range pl.Connections {
			total += n
		}
		if pl.Pools > total {
			t.Fatalf("%d pools but %d connections", pl.Pools, total)
		}
	})
}

func FuzzParseConf(f *testing.F) {
	f.Add("net.ipv4.tcp_tw_reuse = 1\n# x\n")
	f.Fuzz(func(t *testing.T, s string) {
		for k, v := range parseConf(s) {
			if k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
				t.Fatalf("untrimmed %q = %q", k, v)
			}
		}
	})
}
