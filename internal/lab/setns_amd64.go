package lab

// sysSetns is setns(2) on linux/amd64 (package syscall lacks the constant).
const sysSetns = 308
