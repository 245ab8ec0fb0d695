package sshx

import "testing"

func TestCompact(t *testing.T) {
	src := "# read.sh: what it is\n# a comment\n\nset -f\n\tif [ -n \"$x\" ]; then\n\t\t# indented comment\n\t\tprintf '%s\\n' \"a  b\"\n\tfi\nAWK='\n\t$1 == \"x\" { print }   # trailing\n'\n"
	want := "# read.sh: what it is\nset -f\nif [ -n \"$x\" ]; then\nprintf '%s\\n' \"a  b\"\nfi\nAWK='\n$1 == \"x\" { print }   # trailing\n'\n"
	if got := Compact(src); got != want {
		t.Errorf("Compact:\n%s\nwant:\n%s", got, want)
	}
	if got := Compact("# only a name"); got != "# only a name\n" {
		t.Errorf("Compact of a one-line file = %q", got)
	}
}
