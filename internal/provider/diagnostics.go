package provider

import (
	"errors"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/rules"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// This file is the one place that words diagnostics about hosts, so every
// operation explains failures the same way.

// facts renders the "Name: value" lines that end a detail (rules.Facts).
var facts = rules.Facts

// hostErrorDiag explains a failed host operation. op is the operation's
// title ("Apply TCP Tuning"); host is user@host:port.
func hostErrorDiag(op, host string, err error) diag.Diagnostic {
	summary := "Unable to " + op
	var we *hostops.WriteError
	var pe *hostops.ProtocolError
	var se *sshx.Error
	var le *hostops.LockError
	var oe *hostops.OwnedError
	switch {
	case errors.As(err, &le):
		return diag.NewErrorDiagnostic(summary+": Host Busy",
			"Another tcp_tuning operation (from this or another Terraform run or state) held the host's lock for the whole wait, "+
				"so nothing was changed. Run again when it has finished. A lock whose holder died is released by the host itself."+
				facts("Host", host, "Holder", le.Holder, "Since", le.Since, "Holder PID", le.PID, "Lock", hostops.LockPath))
	case errors.As(err, &oe):
		f := rules.OwnedByAnother(oe.Key, oe.Owner)
		return diag.NewErrorDiagnostic(f.Summary, "Nothing was changed. "+f.Detail+facts("Host", host))
	case errors.As(err, &we):
		return writeErrorDiag(summary, host, we)
	case errors.As(err, &pe):
		return diag.NewErrorDiagnostic(summary+": Outcome Unknown",
			"The host's answer was cut short, so it is not known whether the operation completed. "+
				"Nothing is recorded as done; the next terraform plan reads the host's real state."+facts("Host", host, "Error", pe.Error()))
	case errors.As(err, &se):
		return sshErrorDiag(summary, host, se)
	default:
		return diag.NewErrorDiagnostic(summary, "The host operation failed."+facts("Host", host, "Error", err.Error()))
	}
}

// writeErrorDiag explains a *hostops.WriteError: a sysctl value the kernel
// refused (Key set) or the persisted file (Key empty, Path set).
func writeErrorDiag(summary, host string, we *hostops.WriteError) diag.Diagnostic {
	notRestored := strings.Join(we.RollbackFailures, ", ")
	if we.Key == "" {
		if we.RolledBack {
			return diag.NewErrorDiagnostic(summary, fileErrnoHint(we.Errno)+
				"The persisted file could not be written, so nothing was changed: every value already written and the file were restored to what they were before."+
				facts("Host", host, "Errno", we.Errno, "File", we.Path, "Error", we.Message))
		}
		return diag.NewErrorDiagnostic(summary, fileErrnoHint(we.Errno)+
			"The persisted file could not be written or removed, and the host may be partly changed. Run terraform plan to see its real state."+
			facts("Host", host, "Errno", we.Errno, "Not restored", notRestored, "File", we.Path, "Error", we.Message))
	}
	if we.RolledBack {
		return diag.NewErrorDiagnostic(summary, errnoHint(we.Errno)+
			"The kernel refused a value, so nothing was changed: every value already written and the persisted file were restored to what they were before."+
			facts("Host", host, "Key", we.Key, "Value", we.Value, "Errno", we.Errno, "Error", we.Message))
	}
	return diag.NewErrorDiagnostic(summary, errnoHint(we.Errno)+
		"The kernel refused a value and restoring the previous values also failed: the host may be partly changed. Run terraform plan to see its real state."+
		facts("Host", host, "Key", we.Key, "Value", we.Value, "Errno", we.Errno, "Not restored", notRestored, "Error", we.Message))
}

// fileErrnoHint explains the errno of a failed write or removal of the
// persisted file.
func fileErrnoHint(errno string) string {
	switch errno {
	case "EACCES", "EPERM":
		return "This user may not write to /etc/sysctl.d (" + errno + "): connect as root or set sudo = true.\n\n"
	case "EROFS":
		return "The file system holding the persisted file is read-only (EROFS). Set persist = false to manage the live values only.\n\n"
	case "ENOSPC":
		return "The file system holding the persisted file is full (ENOSPC).\n\n"
	case "EISDIR":
		return "A directory exists where the persisted file belongs (EISDIR). Remove it, or choose another name or priority.\n\n"
	case "ENOTDIR":
		return "A component of the persisted file's path is not a directory (ENOTDIR).\n\n"
	}
	return ""
}

func errnoHint(errno string) string {
	switch errno {
	case "EINVAL":
		return "The kernel rejected the value as invalid for this key (EINVAL). Check the allowed values in the documentation.\n\n"
	case "ENOENT":
		return "The key does not exist on this kernel or in this network namespace (ENOENT).\n\n"
	case "EACCES", "EPERM":
		return "The key is read-only here (" + errno + "), for example a global key seen from a container or network namespace, or the user lacks root (set sudo = true).\n\n"
	}
	return ""
}

func sshErrorDiag(summary, host string, se *sshx.Error) diag.Diagnostic {
	cause := ""
	if se.Err != nil {
		cause = se.Err.Error()
	}
	switch se.Kind {
	case sshx.KindHostKeyMismatch:
		return diag.NewErrorDiagnostic("Host Key Mismatch",
			"The host presented a key that differs from the one in known_hosts_file or host_key. Nothing was run on it. "+
				"If the host was legitimately reinstalled, update its known_hosts entry or host_key; otherwise someone may be intercepting the connection."+
				facts("Host", host, "Error", cause))
	case sshx.KindUnknownHost:
		return diag.NewErrorDiagnostic("Unknown Host Key",
			"The host is not in known_hosts_file and no host_key pins its key, so it cannot be verified and nothing was run on it. "+
				"Add it with ssh-keyscan after checking its fingerprint out of band, or set host_key."+facts("Host", host, "Error", cause))
	case sshx.KindAuthFailed:
		return diag.NewErrorDiagnostic("SSH Authentication Failed",
			"The host refused every authentication method offered. Check user, private_key, certificate, agent_identity or password. "+
				"Authentication failures are not retried (sshd penalizes repeated failures)."+facts("Host", host, "Error", cause))
	case sshx.KindSudoPassword:
		return diag.NewErrorDiagnostic(summary+": sudo Needs a Password",
			"sudo = true runs host scripts through sudo -n, and sudo on this host asks for a password. "+
				"Grant the user passwordless sudo (NOPASSWD) or connect as root."+facts("Host", host, "Error", cause))
	case sshx.KindSudoTTY:
		return diag.NewErrorDiagnostic(summary+": sudo Needs a TTY",
			"sudo on this host is configured with requiretty. Remove requiretty for this user (Defaults:user !requiretty) or connect as root."+
				facts("Host", host, "Error", cause))
	case sshx.KindTimeout:
		return diag.NewErrorDiagnostic(summary+": Timed Out",
			"The host did not answer within the time allowed. Nothing was started on it. Check that it is up and reachable, "+
				"or raise the provider's timeout or the resource's timeouts."+facts("Host", host, "Error", cause))
	case sshx.KindOutcomeUnknown:
		return diag.NewErrorDiagnostic(summary+": Outcome Unknown",
			"The connection was lost while the host script was running, so it is not known whether it completed. "+
				"Nothing is recorded as done; the next terraform plan reads the host's real state and shows what remains to do."+
				facts("Host", host, "Error", cause))
	case sshx.KindConnect:
		return diag.NewErrorDiagnostic(summary+": Host Unreachable",
			"The host could not be reached over SSH within the provider's timeout. Nothing was changed on it."+facts("Host", host, "Error", cause))
	}
	return diag.NewErrorDiagnostic(summary, "The SSH operation failed."+facts("Host", host, "Error", se.Error()))
}

// findingDiags converts rule findings to diagnostics on their attribute paths.
func findingDiags(fs []rules.Finding, host string) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, f := range fs {
		detail := f.Detail
		if host != "" && !strings.Contains(detail, "\nHost: ") {
			detail += facts("Host", host)
		}
		p, ok := findingPath(f.Path)
		switch {
		case f.Severity == rules.SeverityError && ok:
			diags.AddAttributeError(p, f.Summary, detail)
		case f.Severity == rules.SeverityError:
			diags.AddError(f.Summary, detail)
		case ok:
			diags.AddAttributeWarning(p, f.Summary, detail)
		default:
			diags.AddWarning(f.Summary, detail)
		}
	}
	return diags
}

func findingPath(fp rules.Path) (path.Path, bool) {
	if fp.Attribute == "" {
		return path.Empty(), false
	}
	p := path.Root(fp.Attribute)
	switch {
	case fp.MapKey != "":
		p = p.AtMapKey(fp.MapKey)
	case fp.Field != "":
		p = p.AtName(fp.Field)
	}
	return p, true
}

// fileInTheWayDiag: a new resource's persist path already holds a file,
// another tcp_tuning's or the administrator's.
func fileInTheWayDiag(host string, f *hostops.SysctlFile) diag.Diagnostic {
	if f.Managed {
		return diag.NewAttributeErrorDiagnostic(path.Root("name"), "TCP Tuning Already Managed",
			"The host already has a persisted file written by a tcp_tuning resource at this path, so creating this resource would take "+
				"over another resource's settings and lose its original values. Give each tcp_tuning on a host its own name, or, if this "+
				"is the same tuning (for example after terraform state rm), import it: terraform import ADDRESS user@host:port/name."+
				facts("Host", host, "File", f.Path, "Name", f.Name))
	}
	return diag.NewAttributeErrorDiagnostic(path.Root("name"), "Persist Path Holds Another File",
		"A file that this provider did not write exists where this resource would persist its settings; it would be overwritten, "+
			"and removed on destroy. Choose another name or priority, or move that file's settings into this resource and delete it."+
			facts("Host", host, "File", f.Path))
}

// keyClaimedDiag: two resources of one configuration manage one key.
func keyClaimedDiag(host, key, other string, p path.Path) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(p, "Key Managed by Two Resources",
		"Another tcp_tuning resource of this configuration manages the same key on the same host; each would overwrite the other "+
			"and record the other's value as the original. Manage each key on a host in one resource only."+
			facts("Host", host, "Key", key, "Other resource name", other))
}
