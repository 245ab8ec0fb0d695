package hostops

import (
	_ "embed"

	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
)

//go:embed scripts/tuning.sh
var tuningSh string

//go:embed scripts/record.sh
var recordSh string

//go:embed scripts/read.sh
var readSh string

//go:embed scripts/apply.sh
var applySh string

//go:embed scripts/delete.sh
var deleteSh string

// The three host scripts. Each Body is the common prelude
// (hostscript.New), scripts/tuning.sh (and, for apply and delete,
// scripts/record.sh), then the operation's own file: one self-contained
// POSIX sh program, run as `sh -c BODY` with its input on stdin.
var (
	ReadScript   = hostscript.New("tcp_tuning/read", tuningSh, readSh)
	ApplyScript  = hostscript.New("tcp_tuning/apply", tuningSh, recordSh, applySh)
	DeleteScript = hostscript.New("tcp_tuning/delete", tuningSh, recordSh, deleteSh)
)
