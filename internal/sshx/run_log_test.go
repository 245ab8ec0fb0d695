package sshx

import (
	"bytes"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// The session counter is logged at debug level, with the host and the count
// only: nothing of the configuration reaches that entry.
func TestSessionCounterLoggedAtDebug(t *testing.T) {
	key := newEd25519Key(t)
	srv := newTestServer(t, withClientKey(key))
	p := newPool(t, Config{PrivateKey: key.pemText(t, ""), PrivateKeyPassphrase: "pass-do-not-log"})
	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(testCtx(t), &buf)
	for i := 0; i < 2; i++ {
		if _, err := p.Run(ctx, srv.target(), Script{Name: "x", Body: "true"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := tflogtest.MultilineJSONDecode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var counts []any
	for _, e := range entries {
		if e["@message"] != "ssh session opened" {
			continue
		}
		if e["@level"] != "debug" {
			t.Errorf("session entry at level %v, want debug: %v", e["@level"], e)
		}
		if e["host"] != "root@"+srv.addr {
			t.Errorf("session entry host = %v", e["host"])
		}
		for k := range e {
			switch k {
			case "host", "sessions", "@level", "@message", "@module", "@timestamp", "@caller":
			default:
				t.Errorf("session entry has field %q: %v", k, e)
			}
		}
		counts = append(counts, e["sessions"])
	}
	if len(counts) != 2 || counts[0] != float64(1) || counts[1] != float64(2) {
		t.Errorf("session counts logged = %v, want [1 2]", counts)
	}
}
