package hostops

import (
	"maps"
	"slices"
	"strings"
)

// RenderFile renders the persisted sysctl.d file: the marker line, a
// "# name: <name>" line, one "# original: key = value" comment per original
// value (so an import can recover them), then one "key = value" line per
// entry sorted by key. The output is deterministic and always ends with a
// newline. Newlines inside marker, name or values are replaced by spaces.
func RenderFile(marker string, name string, values, originals map[string]string) string {
	flat := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
	var b strings.Builder
	b.WriteString(flat.Replace(marker))
	b.WriteString("\n# name: ")
	b.WriteString(flat.Replace(name))
	b.WriteString("\n")
	lines := func(prefix string, m map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b.WriteString(prefix + flat.Replace(k) + " = " + flat.Replace(m[k]) + "\n")
		}
	}
	lines(originalPrefix, originals)
	lines("", values)
	return b.String()
}

const originalPrefix = "# original: "

// ParseOriginals returns the original values RenderFile recorded in a
// persisted file's comments.
func ParseOriginals(content string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		rest, ok := strings.CutPrefix(line, originalPrefix)
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, " = ")
		if ok && ValidKey(k) {
			out[k] = v
		}
	}
	return out
}
