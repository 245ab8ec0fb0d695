package hostops

import (
	"sort"
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
	for _, k := range sortedKeys(originals) {
		b.WriteString(originalPrefix)
		b.WriteString(flat.Replace(k))
		b.WriteString(" = ")
		b.WriteString(flat.Replace(originals[k]))
		b.WriteString("\n")
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(flat.Replace(k))
		b.WriteString(" = ")
		b.WriteString(flat.Replace(values[k]))
		b.WriteString("\n")
	}
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
