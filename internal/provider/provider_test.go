package provider

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"golang.org/x/crypto/ssh"
)

// writeKey writes an ed25519 private key (encrypted when passphrase is
// set) and returns its path.
func writeKey(t *testing.T, passphrase string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// statsOn127 is a data source that would connect to a closed loopback port:
// configuration errors must stop Terraform before that.
const statsOn127 = `
data "tcp_stats" "x" {
  host = "127.0.0.1"
  port = 1
}
`

func TestAccProvider_configErrorsBeforeAnyConnection(t *testing.T) {
	accPreCheck(t)
	plain := writeKey(t, "")
	enc := writeKey(t, "correct horse")
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		block string
		want  string
	}{
		{"bad duration", `timeout = "soon"`, `Invalid Duration`},
		{"negative duration", `timeout = "-5s"`, `Invalid Duration`},
		{"unparsable key", `private_key = "not a key"`, `(?s)Invalid SSH Configuration.*private_key`},
		{"encrypted key without passphrase", fmt.Sprintf(`private_key = file(%q)`, enc), `(?s)private_key_passphrase`},
		{"wrong passphrase", fmt.Sprintf("private_key = file(%q)\n  private_key_passphrase = \"wrong\"", enc), `(?s)Invalid SSH Configuration.*private_key_passphrase`},
		{"malformed host_key", fmt.Sprintf("private_key = file(%q)\n  host_key = \"ssh-ed25519 !!!\"", plain), `(?s)host_key`},
		{"insecure with host_key", fmt.Sprintf("private_key = file(%q)\n  insecure_ignore_host_key = true\n  host_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC3+xwzRzAaMz/fMnzNU4Jey+h8qg6RuD6ZEBH6pVPQJ\"", plain), `Conflicting Host Key Settings`},
		{"missing known_hosts file", fmt.Sprintf("private_key = file(%q)\n  known_hosts_file = %q", plain, kh+".missing"), `(?s)Unreadable known_hosts File`},
		{"malformed known_hosts", fmt.Sprintf("private_key = file(%q)\n  known_hosts_file = %q", plain, writeFile(t, "127.0.0.1 ssh-ed25519 @@@@\n")), `(?s)known_hosts_file`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &poolRecorder{}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: rec.factories(),
				Steps: []resource.TestStep{{
					Config:      "provider \"tcp\" {\n  " + c.block + "\n}\n" + statsOn127,
					ExpectError: regexp.MustCompile(c.want),
				}},
			})
			if s := rec.stats(); s.Connections != 0 || s.Sessions != 0 {
				t.Fatalf("a configuration error still connected: %+v", s)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
