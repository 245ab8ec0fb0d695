package sshx

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ConfigError reports invalid provider configuration, found by NewPool
// before any connection is made. Attribute is the provider attribute at
// fault ("private_key", "private_key_passphrase", "host_key", ...), so the
// provider can attach the diagnostic to the right path.
type ConfigError struct {
	Attribute string
	Err       error
}

// Error implements error as "<attribute>: <cause>".
func (e *ConfigError) Error() string {
	if e.Err == nil {
		return e.Attribute + ": invalid value"
	}
	return e.Attribute + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(attr, format string, args ...any) *ConfigError {
	return &ConfigError{Attribute: attr, Err: fmt.Errorf(format, args...)}
}

var kindNames = [...]string{
	KindOther:           "other",
	KindHostKeyMismatch: "host_key_mismatch",
	KindUnknownHost:     "unknown_host",
	KindAuthFailed:      "auth_failed",
	KindSudoPassword:    "sudo_password",
	KindSudoTTY:         "sudo_tty",
	KindTimeout:         "timeout",
	KindOutcomeUnknown:  "outcome_unknown",
	KindConnect:         "connect",
	KindConfig:          "config",
}

// String returns a short snake_case name for the kind, for logs and tests.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// phrase is how an Error of this kind starts; %s is the host.
func (k Kind) phrase() string {
	switch k {
	case KindHostKeyMismatch:
		return "host key mismatch for %s"
	case KindUnknownHost:
		return "unknown host key for %s"
	case KindAuthFailed:
		return "authentication failed for %s"
	case KindSudoPassword:
		return "sudo requires a password on %s"
	case KindSudoTTY:
		return "sudo requires a tty on %s"
	case KindTimeout:
		return "timed out on %s"
	case KindOutcomeUnknown:
		return "outcome unknown on %s"
	case KindConnect:
		return "cannot connect to %s"
	case KindConfig:
		return "invalid ssh configuration for %s"
	default:
		return "ssh error on %s"
	}
}

// Error reads as one sentence fit for a Terraform diagnostic, for example
// `host key mismatch for root@10.0.0.5:22: the host presented ...`.
func (e *Error) Error() string {
	var b strings.Builder
	p := e.Kind.phrase()
	if e.Host != "" {
		fmt.Fprintf(&b, p, e.Host)
	} else {
		b.WriteString(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(p, " for %s"), " on %s"), " to %s"))
	}
	if e.Script != "" {
		fmt.Fprintf(&b, " (script %q)", e.Script)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf classifies any error returned by this package: the Kind of the
// first *Error in the chain, KindConfig for a *ConfigError, KindTimeout for a
// bare context deadline, and KindOther otherwise (including nil).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return KindConfig
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	return KindOther
}

// newError builds an *Error for endpoint ep (which may be nil).
func newError(kind Kind, ep *endpoint, script string, err error) *Error {
	e := &Error{Kind: kind, Script: script, Err: err}
	if ep != nil {
		e.Host = ep.key
	}
	return e
}

// hostKeyError is what our HostKeyCallback returns; Kind is
// KindHostKeyMismatch or KindUnknownHost.
type hostKeyError struct {
	kind Kind
	err  error
}

func (e *hostKeyError) Error() string { return e.err.Error() }
func (e *hostKeyError) Unwrap() error { return e.err }
