package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
)

// A failed write is worded by what failed: a kernel value names the key and
// value, the persisted file names the file; neither claims the other.
func TestDiagWriteError(t *testing.T) {
	const host = "root@10.0.0.5:22"
	const file = "/etc/sysctl.d/90-tcp-tuning.conf"
	cases := []struct {
		name       string
		err        *hostops.WriteError
		wantStart  string
		wantSuffix string
		want       []string
		notWant    []string
	}{
		{
			name:       "value refused, rolled back",
			err:        &hostops.WriteError{Key: "net.ipv4.tcp_fin_timeout", Value: "0", Errno: "EINVAL", Message: "Invalid argument", RolledBack: true},
			wantStart:  "The kernel rejected the value as invalid for this key (EINVAL).",
			want:       []string{"The kernel refused a value, so nothing was changed"},
			wantSuffix: "\nHost: " + host + "\nKey: net.ipv4.tcp_fin_timeout\nValue: 0\nErrno: EINVAL\nError: Invalid argument",
			notWant:    []string{"File:", "persisted file could not", "Not restored"},
		},
		{
			name:       "value refused, rollback failed",
			err:        &hostops.WriteError{Key: "net.ipv4.tcp_tw_reuse", Value: "1", Errno: "EACCES", Message: "Permission denied", RollbackFailures: []string{"net.ipv4.tcp_fin_timeout", "file"}},
			want:       []string{"The kernel refused a value and restoring the previous values also failed", "read-only here (EACCES)"},
			wantSuffix: "\nKey: net.ipv4.tcp_tw_reuse\nValue: 1\nErrno: EACCES\nNot restored: net.ipv4.tcp_fin_timeout, file\nError: Permission denied",
			notWant:    []string{"File:", "persisted file could not"},
		},
		{
			name:       "file not written, rolled back",
			err:        &hostops.WriteError{Path: file, Errno: "EISDIR", Message: "Is a directory", RolledBack: true},
			wantStart:  "A directory exists where the persisted file belongs (EISDIR).",
			want:       []string{"The persisted file could not be written, so nothing was changed"},
			wantSuffix: "\nHost: " + host + "\nErrno: EISDIR\nFile: " + file + "\nError: Is a directory",
			notWant:    []string{"kernel refused", "Key:", "Value:", "read-only here", "Not restored"},
		},
		{
			name:       "file not written, rollback failed",
			err:        &hostops.WriteError{Path: file, Errno: "EROFS", Message: "Read-only file system", RollbackFailures: []string{"net.ipv4.tcp_tw_reuse"}},
			wantStart:  "The file system holding the persisted file is read-only (EROFS).",
			want:       []string{"The persisted file could not be written or removed, and the host may be partly changed", "Run terraform plan"},
			wantSuffix: "\nErrno: EROFS\nNot restored: net.ipv4.tcp_tw_reuse\nFile: " + file + "\nError: Read-only file system",
			notWant:    []string{"kernel refused", "Key:"},
		},
		{
			name:       "file permission denied uses the file hint",
			err:        &hostops.WriteError{Path: file, Errno: "EACCES", Message: "Permission denied", RolledBack: true},
			wantStart:  "This user may not write to /etc/sysctl.d (EACCES): connect as root or set sudo = true.",
			wantSuffix: "\nFile: " + file + "\nError: Permission denied",
			notWant:    []string{"The key is read-only"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Wrapped, as the resource may receive it.
			d := hostErrorDiag("Apply TCP Tuning", host, fmt.Errorf("apply: %w", c.err))
			if d.Severity() != diag.SeverityError || d.Summary() != "Unable to Apply TCP Tuning" {
				t.Errorf("diagnostic = %v %q", d.Severity(), d.Summary())
			}
			got := d.Detail()
			if c.wantStart != "" && !strings.HasPrefix(got, c.wantStart) {
				t.Errorf("detail does not start with %q:\n%s", c.wantStart, got)
			}
			if !strings.HasSuffix(got, c.wantSuffix) {
				t.Errorf("detail does not end with %q:\n%s", c.wantSuffix, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("detail lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("detail has %q:\n%s", w, got)
				}
			}
		})
	}
}
