package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"golang.org/x/crypto/ssh"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// keyPEM returns a new ed25519 private key in OpenSSH PEM form, encrypted
// when passphrase is set, and its public key in authorized_keys form.
func keyPEM(t *testing.T, passphrase string) (private, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
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
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}

// writeKey writes an ed25519 private key (encrypted when passphrase is
// set) and returns its path.
func writeKey(t *testing.T, passphrase string) string {
	t.Helper()
	priv, _ := keyPEM(t, passphrase)
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, []byte(priv), 0o600); err != nil {
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
	fifo := filepath.Join(t.TempDir(), "known_hosts.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
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
		// Not regular files: refused at once, never read without bound
		// nor waited on.
		{"known_hosts is /dev/zero", fmt.Sprintf("private_key = file(%q)\n  known_hosts_file = \"/dev/zero\"", plain), `(?s)Invalid SSH Configuration.*known_hosts_file.*character device`},
		{"known_hosts is a FIFO", fmt.Sprintf("private_key = file(%q)\n  known_hosts_file = %q", plain, fifo), `(?s)Invalid SSH Configuration.*known_hosts_file.*named pipe`},
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

// providerConfig is a provider block with the given attributes set and
// every other attribute null, as Terraform sends it.
func providerConfig(t *testing.T, set map[string]tftypes.Value) tfsdk.Config {
	t.Helper()
	ctx := context.Background()
	var sresp provider.SchemaResponse
	(&tcpProvider{}).Schema(ctx, provider.SchemaRequest{}, &sresp)
	typ, ok := sresp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatalf("provider schema type is %T", sresp.Schema.Type().TerraformType(ctx))
	}
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	for name, v := range set {
		if _, ok := typ.AttributeTypes[name]; !ok {
			t.Fatalf("no provider attribute %q", name)
		}
		vals[name] = v
	}
	return tfsdk.Config{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, vals)}
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

// configCase is a provider block and the one attribute its error must be on.
type configCase struct {
	name string
	set  map[string]tftypes.Value
	path path.Path
}

// configErrorCases are the provider blocks that are wrong before any
// connection, each with the attribute at fault.
func configErrorCases(t *testing.T) []configCase {
	plain, _ := keyPEM(t, "")
	enc, _ := keyPEM(t, "correct horse")
	_, hostPub := keyPEM(t, "")
	missing := filepath.Join(t.TempDir(), "known_hosts.missing")
	return []configCase{
		{"bad duration", map[string]tftypes.Value{"timeout": str("soon")}, path.Root("timeout")},
		{"negative duration", map[string]tftypes.Value{"timeout": str("-5s")}, path.Root("timeout")},
		{"unparsable key", map[string]tftypes.Value{"private_key": str("not a key")}, path.Root("private_key")},
		{"encrypted key without passphrase", map[string]tftypes.Value{"private_key": str(enc)}, path.Root("private_key_passphrase")},
		{"wrong passphrase", map[string]tftypes.Value{"private_key": str(enc), "private_key_passphrase": str("wrong")}, path.Root("private_key_passphrase")},
		{"malformed host_key", map[string]tftypes.Value{"private_key": str(plain), "host_key": str("ssh-ed25519 !!!")}, path.Root("host_key")},
		{"insecure with host_key", map[string]tftypes.Value{"private_key": str(plain), "host_key": str(hostPub),
			"insecure_ignore_host_key": tftypes.NewValue(tftypes.Bool, true)}, path.Root("insecure_ignore_host_key")},
		{"missing known_hosts file", map[string]tftypes.Value{"private_key": str(plain), "known_hosts_file": str(missing)}, path.Root("known_hosts_file")},
		{"malformed known_hosts", map[string]tftypes.Value{"private_key": str(plain),
			"known_hosts_file": str(writeFile(t, "127.0.0.1 ssh-ed25519 @@@@\n"))}, path.Root("known_hosts_file")},
		{"certificate that is not one", map[string]tftypes.Value{"private_key": str(plain), "certificate": str(hostPub)}, path.Root("certificate")},
		{"malformed bastion_host_key", map[string]tftypes.Value{"private_key": str(plain), "bastion_host": str("127.0.0.1"),
			"bastion_host_key": str("ssh-ed25519 !!!")}, path.Root("bastion_host_key")},
	}
}

// hermetic keeps the user's ssh-agent and ~/.ssh out of a test.
func hermetic(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
}

// onlyErrorAt fails unless diags hold exactly one error, on want.
func onlyErrorAt(t *testing.T, diags diag.Diagnostics, want path.Path) diag.Diagnostic {
	t.Helper()
	errs := diags.Errors()
	if len(errs) != 1 {
		t.Fatalf("want one error on %s, got %d: %v", want, len(errs), diags)
	}
	wp, ok := errs[0].(diag.DiagnosticWithPath)
	if !ok {
		t.Fatalf("error %q has no attribute path, want %s", errs[0].Summary(), want)
	}
	if !wp.Path().Equal(want) {
		t.Fatalf("error %q is on %s, want %s\n%s", errs[0].Summary(), wp.Path(), want, errs[0].Detail())
	}
	return errs[0]
}

// Configure reports each configuration error on its attribute and creates
// no pool, so no host can be dialled.
func TestProviderConfigureErrorsOnAttributePath(t *testing.T) {
	hermetic(t)
	for _, c := range configErrorCases(t) {
		t.Run(c.name, func(t *testing.T) {
			pools := 0
			p := &tcpProvider{version: "test", poolHook: func(*sshx.Pool) { pools++ }}
			var resp provider.ConfigureResponse
			p.Configure(context.Background(), provider.ConfigureRequest{Config: providerConfig(t, c.set)}, &resp)
			d := onlyErrorAt(t, resp.Diagnostics, c.path)
			if pools != 0 {
				t.Errorf("a pool was created despite %q", d.Summary())
			}
			if pd, ok := resp.ResourceData.(*providerData); ok && pd.pool != nil {
				t.Errorf("resource data holds a pool despite %q", d.Summary())
			}
			for _, v := range c.set {
				var s string
				if v.As(&s) == nil && strings.Contains(s, "PRIVATE KEY") && strings.Contains(d.Detail(), strings.Split(s, "\n")[1]) {
					t.Errorf("the diagnostic repeats the private key: %s", d.Detail())
				}
			}
			if strings.Contains(d.Detail(), "correct horse") || strings.Contains(d.Detail(), "\"wrong\"") {
				t.Errorf("the diagnostic repeats a passphrase: %s", d.Detail())
			}
		})
	}
}

// The control: a valid block configures a pool that has not connected.
func TestProviderConfigureValidBlockConnectsNothing(t *testing.T) {
	hermetic(t)
	plain, _ := keyPEM(t, "")
	_, hostPub := keyPEM(t, "")
	var pool *sshx.Pool
	p := &tcpProvider{version: "test", poolHook: func(sp *sshx.Pool) { pool = sp }}
	var resp provider.ConfigureResponse
	cfg := providerConfig(t, map[string]tftypes.Value{"private_key": str(plain), "host_key": str(hostPub), "timeout": str("5s"),
		"known_hosts_file": str(writeFile(t, "127.0.0.1 "+hostPub+"\n"))})
	p.Configure(context.Background(), provider.ConfigureRequest{Config: cfg}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("valid block: %v", resp.Diagnostics)
	}
	if pool == nil {
		t.Fatal("no pool was created")
	}
	if s := pool.Stats(); s.Connections != 0 || s.Sessions != 0 {
		t.Errorf("Configure connected: %+v", s)
	}
}

// ValidateConfig puts the host key conflict on insecure_ignore_host_key,
// with the warning that every insecure_ignore_host_key = true gets.
func TestProviderValidateConfigHostKeyConflict(t *testing.T) {
	_, hostPub := keyPEM(t, "")
	insecure := tftypes.NewValue(tftypes.Bool, true)
	cases := []struct {
		name      string
		set       map[string]tftypes.Value
		wantError bool
	}{
		{"insecure with host_key", map[string]tftypes.Value{"insecure_ignore_host_key": insecure, "host_key": str(hostPub)}, true},
		{"insecure alone", map[string]tftypes.Value{"insecure_ignore_host_key": insecure}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var resp provider.ValidateConfigResponse
			(&tcpProvider{}).ValidateConfig(context.Background(), provider.ValidateConfigRequest{Config: providerConfig(t, c.set)}, &resp)
			if c.wantError {
				d := onlyErrorAt(t, resp.Diagnostics, path.Root("insecure_ignore_host_key"))
				if d.Summary() != "Conflicting Host Key Settings" {
					t.Errorf("summary = %q", d.Summary())
				}
			} else if resp.Diagnostics.HasError() {
				t.Fatalf("unexpected error: %v", resp.Diagnostics)
			}
			w := resp.Diagnostics.Warnings()
			if len(w) != 1 || w[0].Summary() != "Host Key Verification Disabled" {
				t.Fatalf("warnings = %v", w)
			}
			if wp, ok := w[0].(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(path.Root("insecure_ignore_host_key")) {
				t.Errorf("warning is not on insecure_ignore_host_key: %v", w[0])
			}
		})
	}
}

// Through the protocol, validation (the attribute validators and
// ValidateConfig) already rejects what it can check without key material,
// on the attribute's path.
func TestProviderValidateProviderConfigPaths(t *testing.T) {
	ctx := context.Background()
	_, hostPub := keyPEM(t, "")
	cases := []struct {
		name string
		set  map[string]tftypes.Value
		attr string
	}{
		{"bad duration", map[string]tftypes.Value{"timeout": str("soon")}, "timeout"},
		{"zero duration", map[string]tftypes.Value{"timeout": str("0s")}, "timeout"},
		{"malformed host_key", map[string]tftypes.Value{"host_key": str("ssh-ed25519 !!!")}, "host_key"},
		{"malformed bastion_host_key", map[string]tftypes.Value{"bastion_host_key": str("not a key")}, "bastion_host_key"},
		{"insecure with host_key", map[string]tftypes.Value{"host_key": str(hostPub),
			"insecure_ignore_host_key": tftypes.NewValue(tftypes.Bool, true)}, "insecure_ignore_host_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, err := providerserver.NewProtocol6WithError(&tcpProvider{version: "test"})()
			if err != nil {
				t.Fatal(err)
			}
			cfg := providerConfig(t, c.set)
			dv, err := tfprotov6.NewDynamicValue(cfg.Raw.Type(), cfg.Raw)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.ValidateProviderConfig(ctx, &tfprotov6.ValidateProviderConfigRequest{Config: &dv})
			if err != nil {
				t.Fatal(err)
			}
			want := tftypes.NewAttributePath().WithAttributeName(c.attr)
			var errs []*tfprotov6.Diagnostic
			for _, d := range resp.Diagnostics {
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					errs = append(errs, d)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("want one error on %s, got %d: %+v", c.attr, len(errs), resp.Diagnostics)
			}
			if errs[0].Attribute == nil || !errs[0].Attribute.Equal(want) {
				t.Fatalf("error %q is on %v, want %v", errs[0].Summary, errs[0].Attribute, want)
			}
		})
	}
}
