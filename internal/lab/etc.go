package lab

import (
	"bytes"
	"fmt"
	"strings"
)

// Users every host (and the bastion) has besides root.
const (
	// UserSudo may run anything with `sudo -n` (NOPASSWD).
	UserSudo = "tcpsudo"
	// UserPassword needs a password for sudo, so `sudo -n` fails with
	// "a password is required".
	UserPassword = "tcppass"
	// Password is the login password of UserSudo and UserPassword (root has
	// none and may log in by key only).
	Password = "tcplab-password"

	uidSudo     = 4101
	uidPassword = 4102

	// passwordHash is sha512-crypt of Password (openssl passwd -6 -salt tcplablab).
	passwordHash = "$6$tcplablab$isBpGRe7K8qkT2qArTcZkGZC2/7e5agPcAT0kYcD/xcZt7IXWaJkihRJb.bpE3Oc.qwNxRGIjm5ruQJJx/WOt0"
)

// etcInput is what renderEtc needs: the machine's files and where the lab's
// users live.
type etcInput struct {
	Passwd, Group, Shadow []byte
	Shell                 string // login shell for root and the lab users
	HomeDir               string // parent of the lab users' homes
	SudoStateDir          string // sudo's timestamp and lecture directories live here
}

// etcOutput holds the contents of a host's /etc overrides.
type etcOutput struct {
	Passwd, Group, Shadow, Sudoers []byte
}

// dropEtcLine says a passwd, group or shadow line goes: empty, or one of
// the lab's users (added back by the lab).
func dropEtcLine(f []string) bool {
	return len(f) == 0 || f[0] == "" || f[0] == UserSudo || f[0] == UserPassword
}

// labUID says a numeric id is one of the lab users'.
func labUID(id string) bool { return id == fmt.Sprint(uidSudo) || id == fmt.Sprint(uidPassword) }

// renderPasswd: root gets the lab shell; the lab users are appended.
func renderPasswd(in etcInput) ([]byte, error) {
	sawRoot := false
	out := mapLines(in.Passwd, func(f []string) []string {
		if dropEtcLine(f) || (len(f) == 7 && labUID(f[2])) {
			return nil
		}
		if f[0] == "root" && len(f) == 7 {
			sawRoot = true
			f[6] = in.Shell
		}
		return f
	})
	if !sawRoot {
		return nil, fmt.Errorf("lab: /etc/passwd has no root entry")
	}
	for _, u := range []struct {
		name string
		uid  int
	}{{UserSudo, uidSudo}, {UserPassword, uidPassword}} {
		out = fmt.Appendf(out, "%s:x:%d:%d:tcplab:%s/%s:%s\n", u.name, u.uid, u.uid, in.HomeDir, u.name, in.Shell)
	}
	return out, nil
}

// renderGroup: the machine's groups and the lab users' own.
func renderGroup(in etcInput) []byte {
	out := mapLines(in.Group, func(f []string) []string {
		if dropEtcLine(f) || (len(f) >= 3 && labUID(f[2])) {
			return nil
		}
		return f
	})
	return fmt.Appendf(out, "%s:x:%d:\n%s:x:%d:\n", UserSudo, uidSudo, UserPassword, uidPassword)
}

// renderShadow: a locked root password ("!...") becomes "*", so key logins
// work with UsePAM no; the lab users get passwordHash.
func renderShadow(in etcInput) []byte {
	out := mapLines(in.Shadow, func(f []string) []string {
		if dropEtcLine(f) {
			return nil
		}
		if f[0] == "root" && len(f) >= 2 && strings.HasPrefix(f[1], "!") {
			f[1] = "*"
		}
		return f
	})
	for _, u := range []string{UserSudo, UserPassword} {
		out = fmt.Appendf(out, "%s:%s:20000:0:99999:7:::\n", u, passwordHash)
	}
	return out
}

// renderEtc derives a host's passwd, group, shadow and sudoers.d/tcplab from
// the machine's own files: root gets the lab shell (no slow ~/.bashrc) and,
// if its password is locked ("!..."), an unlocked "*" so key logins work
// with UsePAM no; any existing tcpsudo/tcppass entries (or uids 4101/4102)
// are replaced by the lab's.
func renderEtc(in etcInput) (etcOutput, error) {
	for _, s := range []string{in.Shell, in.HomeDir, in.SudoStateDir} {
		if s == "" || strings.ContainsAny(s, ":\n\t ,") {
			return etcOutput{}, fmt.Errorf("lab: unusable path %q for /etc files", s)
		}
	}
	var out etcOutput
	var err error
	if out.Passwd, err = renderPasswd(in); err != nil {
		return etcOutput{}, err
	}
	out.Group = renderGroup(in)
	out.Shadow = renderShadow(in)
	out.Sudoers = fmt.Appendf(nil, "# tcplab test host\n"+
		"Defaults timestampdir=%s/ts\n"+
		"Defaults lecture_status_dir=%s/lectured\n"+
		"%s ALL=(ALL) NOPASSWD: ALL\n"+
		"%s ALL=(ALL) ALL\n", in.SudoStateDir, in.SudoStateDir, UserSudo, UserPassword)
	return out, nil
}

// mapLines applies fn to the colon-separated fields of every non-empty line;
// fn returns nil to drop the line. Comment lines are kept as they are.
func mapLines(data []byte, fn func([]string) []string) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			b.WriteString(line + "\n")
			continue
		}
		f := fn(strings.Split(line, ":"))
		if f == nil {
			continue
		}
		b.WriteString(strings.Join(f, ":") + "\n")
	}
	return b.Bytes()
}
