package hostops

import (
	_ "embed"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

//go:embed scripts/lib.sh
var libSh string

//go:embed scripts/read.sh
var readSh string

//go:embed scripts/apply.sh
var applySh string

//go:embed scripts/delete.sh
var deleteSh string

// The three host scripts. Each Body is scripts/lib.sh followed by the
// operation's own file: one self-contained POSIX sh program, run as
// `sh -c BODY` with its input on stdin.
var (
	ReadScript   = sshx.Script{Name: "tcp_tuning/read", Body: compact(libSh) + compact(readSh)}
	ApplyScript  = sshx.Script{Name: "tcp_tuning/apply", Body: compact(libSh) + compact(applySh)}
	DeleteScript = sshx.Script{Name: "tcp_tuning/delete", Body: compact(libSh) + compact(deleteSh)}
)

// compact drops the comment lines, blank lines and indentation of a script
// file, which sh does not need: the body travels in the command of every
// exec (twice, see sshx) and is held in memory for each session, so at 200
// hosts its size shows in the provider's peak RSS. The file's first line,
// which names the script, is kept. The scripts never continue a quoted
// string or a here-document over a line that starts with blanks or "#".
func compact(src string) string {
	first, rest, _ := strings.Cut(src, "\n")
	var b strings.Builder
	b.Grow(len(src))
	b.WriteString(first)
	for _, l := range strings.Split(rest, "\n") {
		l = strings.TrimLeft(l, " \t")
		if l == "" || l[0] == '#' {
			continue
		}
		b.WriteByte('\n')
		b.WriteString(l)
	}
	b.WriteByte('\n')
	return b.String()
}
