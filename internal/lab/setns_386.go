package lab

// sysSetns is setns(2) on linux/386 (package syscall lacks the constant).
const sysSetns = 346
