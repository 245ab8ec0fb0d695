package hostscript

import (
	"fmt"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// BootDirs are the directories systemd-sysctl reads at boot, earliest
// first (sysctl.d(5)); read.sh lists their files for the boot-order rules
// (rules.BootDirs).
var BootDirs = []string{
	"/etc/sysctl.d",
	"/run/sysctl.d",
	"/usr/local/lib/sysctl.d",
	"/usr/lib/sysctl.d",
	"/lib/sysctl.d",
}

// SysctlConf is /etc/sysctl.conf, applied after every sysctl.d file.
const SysctlConf = "/etc/sysctl.conf"

// Facts are the shell variables the prelude defines from the Go source, in
// the order it defines them:
//
//	DEF_PORT_LO, DEF_PORT_HI  the kernel's default ip_local_port_range
//	BOOT_DIRS                 BootDirs, space-separated
//	SYSCTL_CONF               SysctlConf
//	PROC_STATES               kernel state names by /proc/net/tcp code, 1 to 12
//	SS_STATES                 pairs "ss name, kernel name", space-separated
func Facts() [][2]string {
	procStates := make([]string, 12)
	for i := range procStates {
		procStates[i] = procnet.StateName(uint8(i + 1))
	}
	var ss []string
	for _, p := range procnet.SSStates {
		ss = append(ss, p[0], p[1])
	}
	r := catalog.DefaultPortRange
	return [][2]string{
		{"DEF_PORT_LO", fmt.Sprint(r.Min)},
		{"DEF_PORT_HI", fmt.Sprint(r.Max)},
		{"BOOT_DIRS", strings.Join(BootDirs, " ")},
		{"SYSCTL_CONF", SysctlConf},
		{"PROC_STATES", strings.Join(procStates, " ")},
		{"SS_STATES", strings.Join(ss, " ")},
	}
}

func factsSh() string {
	var b strings.Builder
	b.WriteString("# facts.go: host facts from the Go source\n")
	for _, f := range Facts() {
		fmt.Fprintf(&b, "%s=%s\n", f[0], sshx.ShellQuote(f[1]))
	}
	return b.String()
}
