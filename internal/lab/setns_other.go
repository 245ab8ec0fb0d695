//go:build !amd64 && !386

package lab

import "syscall"

// sysSetns is setns(2).
const sysSetns = syscall.SYS_SETNS
