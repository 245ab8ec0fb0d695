package lab

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// SSHDStats is what an sshd log (LogLevel VERBOSE) says happened.
type SSHDStats struct {
	// Connections counts "Connection from ..." lines: TCP connections that
	// reached sshd (including ones that never authenticated).
	Connections int
	// Accepted counts successful authentications ("Accepted <method> for ...").
	Accepted int
	// Sessions counts "Starting session: ..." lines: every exec, shell or
	// subsystem request that started.
	Sessions int
	// Failed counts refused authentication attempts ("Failed <method> for ...").
	Failed int
}

// authLineRE matches "Accepted publickey for root from ..." and
// "Failed password for tcppass from ..." (not "Accepted key ED25519 ... found at").
var authLineRE = regexp.MustCompile(`^(Accepted|Failed) [a-z0-9-]+ for `)

// ParseSSHDLog counts connections, logins and sessions in an sshd log
// written with -E (or syslog lines carrying the same messages). Unknown
// lines are ignored; only a read error is returned.
func ParseSSHDLog(r io.Reader) (SSHDStats, error) {
	var s SSHDStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		// Drop a syslog-style "sshd[123]: " prefix, if any.
		if i := strings.Index(line, "]: "); i >= 0 && i < 64 {
			line = line[i+3:]
		}
		switch {
		case strings.HasPrefix(line, "Connection from "):
			s.Connections++
		case authLineRE.MatchString(line):
			if strings.HasPrefix(line, "Accepted ") {
				s.Accepted++
			} else {
				s.Failed++
			}
		case strings.HasPrefix(line, "Starting session: "):
			s.Sessions++
		}
	}
	return s, sc.Err()
}
