package rules

import "testing"

func TestWinsAtBoot(t *testing.T) {
	const own = "/etc/sysctl.d/90-tcp-tuning.conf"
	const key = "net.ipv4.tcp_tw_reuse"
	set := map[string]string{key: "0"}
	other := map[string]string{"net.ipv4.tcp_fin_timeout": "30"}
	cases := []struct {
		name  string
		own   string
		files []SysctlFile
		want  string // winning other file, "" = own value wins
	}{
		{"no other files", own, nil, ""},
		{"earlier basename", own, []SysctlFile{{Path: "/etc/sysctl.d/10-a.conf", Values: set}}, ""},
		{"later basename", own, []SysctlFile{{Path: "/etc/sysctl.d/99-sysctl.conf", Values: set}}, "/etc/sysctl.d/99-sysctl.conf"},
		{"later basename in /usr/lib", own, []SysctlFile{{Path: "/usr/lib/sysctl.d/99-x.conf", Values: set}}, "/usr/lib/sysctl.d/99-x.conf"},
		{"later basename in /run", own, []SysctlFile{{Path: "/run/sysctl.d/91-x.conf", Values: set}}, "/run/sysctl.d/91-x.conf"},
		{"later basename sets another key", own, []SysctlFile{{Path: "/etc/sysctl.d/99-x.conf", Values: other}}, ""},
		{"later basename shadowed by earlier dir", own, []SysctlFile{
			{Path: "/etc/sysctl.d/99-x.conf", Values: other},
			{Path: "/usr/lib/sysctl.d/99-x.conf", Values: set},
		}, ""},
		{"shadowing file wins when it sets key", own, []SysctlFile{
			{Path: "/usr/lib/sysctl.d/99-x.conf", Values: other},
			{Path: "/run/sysctl.d/99-x.conf", Values: set},
		}, "/run/sysctl.d/99-x.conf"},
		{"same basename in a later dir is shadowed by own", own, []SysctlFile{{Path: "/usr/lib/sysctl.d/90-tcp-tuning.conf", Values: set}}, ""},
		{"own in /run shadowed by /etc", "/run/sysctl.d/90-t.conf", []SysctlFile{{Path: "/etc/sysctl.d/90-t.conf", Values: other}}, "/etc/sysctl.d/90-t.conf"},
		{"sysctl.conf is last", own, []SysctlFile{{Path: "/etc/sysctl.conf", Values: set}}, "/etc/sysctl.conf"},
		{"sysctl.conf without key", own, []SysctlFile{{Path: "/etc/sysctl.conf", Values: other}}, ""},
		{"not a .conf file", own, []SysctlFile{{Path: "/etc/sysctl.d/99-x.conf.bak", Values: set}}, ""},
		{"unknown directory", own, []SysctlFile{{Path: "/opt/sysctl.d/99-x.conf", Values: set}}, ""},
		{"own file listed", own, []SysctlFile{{Path: own, Values: set}}, ""},
		{"slash key form", own, []SysctlFile{{Path: "/etc/sysctl.d/99-x.conf", Values: map[string]string{"net/ipv4/tcp_tw_reuse": "0"}}}, "/etc/sysctl.d/99-x.conf"},
		{"ignore-failure prefix", own, []SysctlFile{{Path: "/etc/sysctl.d/99-x.conf", Values: map[string]string{"-net.ipv4.tcp_tw_reuse": "0"}}}, "/etc/sysctl.d/99-x.conf"},
		{"last of several later files", own, []SysctlFile{
			{Path: "/etc/sysctl.d/99-z.conf", Values: set},
			{Path: "/lib/sysctl.d/95-y.conf", Values: set},
		}, "/etc/sysctl.d/99-z.conf"},
		{"basename order is byte order", "/etc/sysctl.d/90-b.conf", []SysctlFile{{Path: "/etc/sysctl.d/90-B.conf", Values: set}}, ""},
		{"own outside boot dirs", "/tmp/x.conf", []SysctlFile{{Path: "/etc/sysctl.d/99-x.conf", Values: set}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := WinsAtBoot(c.files, c.own, key)
			if ok != (c.want != "") || (ok && got.Path != c.want) {
				t.Errorf("WinsAtBoot = %v, %v; want %q", got, ok, c.want)
			}
		})
	}
}
