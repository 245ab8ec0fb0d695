package catalog

import (
	"fmt"
	"regexp"
	"strings"
)

// ExtraKeyPattern is the pattern every extra_sysctls key must match: a key
// under net. with at least three components of lower-case letters, digits,
// underscores (and hyphens after the second component).
const ExtraKeyPattern = `^net\.[a-z0-9_]+(\.[a-z0-9_-]+)+$`

// ExtraValueMaxBytes is the longest extra_sysctls value accepted.
const ExtraValueMaxBytes = 256

var extraKeyRE = regexp.MustCompile(ExtraKeyPattern)

// ValidateExtraKey checks an extra_sysctls key: it must match
// ExtraKeyPattern and must not be the key of a typed attribute (the error
// then names the attribute to use instead).
func ValidateExtraKey(key string) error {
	if s, ok := ByKey(key); ok {
		return fmt.Errorf("%s is managed by the %s attribute; set %s instead of using extra_sysctls", key, s.Attribute, s.Attribute)
	}
	if !extraKeyRE.MatchString(key) {
		return fmt.Errorf("%s is not an allowed key: keys must be full sysctl names under net. "+
			"made of lower-case letters, digits, '_' and '-', separated by dots (for example "+
			"net.core.netdev_budget_usecs)", quote(key))
	}
	return nil
}

// ValidateExtraValue checks an extra_sysctls value: at most
// ExtraValueMaxBytes bytes of [0-9A-Za-z ,:._-] (tabs are not allowed; use a
// space between the numbers of a multi-value key), and not empty after
// trimming. Values that could escape a script are rejected here, never
// quoted later.
func ValidateExtraValue(v string) error {
	if len(v) > ExtraValueMaxBytes {
		return fmt.Errorf("value is %d bytes long; at most %d bytes are allowed", len(v), ExtraValueMaxBytes)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == ' ' || c == ',' || c == ':' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("value %s contains %s at byte %d; only letters, digits, space and , : . _ - are allowed",
				quote(v), quote(string(rune(c))), i)
		}
	}
	if CanonicalString(v) == "" {
		return fmt.Errorf("value is empty; writing an empty value changes nothing in the kernel")
	}
	return nil
}

// NormalizeKey returns the dotted form of a key as it may appear in a
// sysctl.d file: surrounding whitespace and systemd's leading "-" (ignore
// failure) removed, and the slash form ("net/ipv4/tcp_tw_reuse") converted to
// dots. In the slash form, a dot is part of a component (an interface name
// like "eth0.100") and becomes a slash, as sysctl(8) and systemd-sysctl do.
func NormalizeKey(key string) string {
	k := strings.TrimFunc(key, isSpace)
	k = strings.TrimPrefix(k, "-")
	k = strings.TrimFunc(k, isSpace)
	slash := strings.IndexByte(k, '/')
	dot := strings.IndexByte(k, '.')
	if slash >= 0 && (dot < 0 || slash < dot) {
		k = strings.Map(func(r rune) rune {
			switch r {
			case '/':
				return '.'
			case '.':
				return '/'
			}
			return r
		}, k)
	}
	return k
}
