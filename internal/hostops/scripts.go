package hostops

import (
	_ "embed"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

//go:embed scripts/lib.sh
var libSh string

//go:embed scripts/record.sh
var recordSh string

//go:embed scripts/read.sh
var readSh string

//go:embed scripts/apply.sh
var applySh string

//go:embed scripts/delete.sh
var deleteSh string

// The three host scripts. Each Body is scripts/lib.sh (and, for apply and
// delete, scripts/record.sh) followed by the operation's own file: one self-contained POSIX sh program, run as
// `sh -c BODY` with its input on stdin.
var (
	ReadScript   = sshx.Script{Name: "tcp_tuning/read", Body: sshx.Compact(libSh) + sshx.Compact(readSh)}
	ApplyScript  = sshx.Script{Name: "tcp_tuning/apply", Body: sshx.Compact(libSh) + sshx.Compact(recordSh) + sshx.Compact(applySh)}
	DeleteScript = sshx.Script{Name: "tcp_tuning/delete", Body: sshx.Compact(libSh) + sshx.Compact(recordSh) + sshx.Compact(deleteSh)}
)
