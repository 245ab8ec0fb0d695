// Package provider is the Terraform framework glue of the tcp provider. It
// translates between HCL and the domain packages; it decides nothing itself.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

var (
	_ provider.Provider                   = (*tcpProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*tcpProvider)(nil)
	_ provider.ProviderWithFunctions      = (*tcpProvider)(nil)
)

// secretFields are the provider attributes whose values never reach a log.
var secretFields = []string{"password", "private_key", "private_key_passphrase", "bastion_password", "bastion_private_key"}

// tcpProvider is the tcp provider. It holds nothing between calls but the
// version; Configure hands a *providerData to resources and data sources.
type tcpProvider struct {
	version string
	// poolHook lets tests observe the pool a Configure created.
	poolHook func(*sshx.Pool)
}

// New returns a constructor of the provider, as providerserver.Serve wants.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &tcpProvider{version: version}
	}
}

// providerModel is the provider block.
type providerModel struct {
	User                  types.String `tfsdk:"user"`
	Port                  types.Int64  `tfsdk:"port"`
	Password              types.String `tfsdk:"password"`
	PrivateKey            types.String `tfsdk:"private_key"`
	PrivateKeyPassphrase  types.String `tfsdk:"private_key_passphrase"`
	Certificate           types.String `tfsdk:"certificate"`
	Agent                 types.Bool   `tfsdk:"agent"`
	AgentIdentity         types.String `tfsdk:"agent_identity"`
	KnownHostsFile        types.String `tfsdk:"known_hosts_file"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
	BastionHost           types.String `tfsdk:"bastion_host"`
	BastionPort           types.Int64  `tfsdk:"bastion_port"`
	BastionUser           types.String `tfsdk:"bastion_user"`
	BastionPassword       types.String `tfsdk:"bastion_password"`
	BastionPrivateKey     types.String `tfsdk:"bastion_private_key"`
	BastionCertificate    types.String `tfsdk:"bastion_certificate"`
	BastionHostKey        types.String `tfsdk:"bastion_host_key"`
	Sudo                  types.Bool   `tfsdk:"sudo"`
	Timeout               types.String `tfsdk:"timeout"`
	MaxSessionsPerHost    types.Int64  `tfsdk:"max_sessions_per_host"`
}

func (p *tcpProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "tcp"
	resp.Version = p.version
}

func (p *tcpProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The tcp provider declares Linux TCP tuning (TIME_WAIT, ephemeral ports, " +
			"backlogs, keepalive) on hosts it reaches over SSH, and reads each host's TIME_WAIT picture. " +
			"This block says how to reach hosts. It is never stored in state; on Terraform 1.10 and later " +
			"its secrets may come from ephemeral values.",
		Attributes: map[string]schema.Attribute{
			"user": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "SSH user for every host, unless a resource sets its own `user`. Defaults to `" + sshx.DefaultUser + "`. A non-root user needs `sudo = true` and passwordless sudo.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1), userValidator{}},
			},
			"port": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("SSH port for every host, unless a resource sets its own `port`. Defaults to `%d`.", sshx.DefaultPort),
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"password": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Password for password and keyboard-interactive authentication.",
			},
			"private_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Private key in OpenSSH or PEM format (the key's contents, e.g. `file(\"~/.ssh/id_ed25519\")`). Encrypted keys need `private_key_passphrase`.",
			},
			"private_key_passphrase": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Passphrase of an encrypted `private_key`. A wrong or missing passphrase is a configuration error.",
			},
			"certificate": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "OpenSSH user certificate (the `-cert.pub` contents) signed for `private_key`.",
			},
			"agent": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Authenticate with the ssh-agent at `SSH_AUTH_SOCK`. Defaults to `true` when `SSH_AUTH_SOCK` is set.",
			},
			"agent_identity": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Use only the agent key with this comment (or this public key), so hosts with a low `MaxAuthTries` are not exhausted by other keys.",
			},
			"known_hosts_file": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "known_hosts file used to verify host keys (hashed entries and `[host]:port` entries supported). Defaults to `~/.ssh/known_hosts`. A host that is not listed is refused unless `host_key` pins its key.",
			},
			"host_key": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Pinned host public key (`ssh-ed25519 AAAA…`) or host CA key (`@cert-authority ssh-ed25519 AAAA…`) " +
					"that every host must present, unless a resource sets its own `host_key`. Takes precedence over `known_hosts_file`.",
				Validators: []validator.String{hostKeyValidator{}},
			},
			"insecure_ignore_host_key": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Accept any host key. **For throwaway labs only**: anyone on the path can impersonate a host and receive your credentials. " +
					"Defaults to `false`; setting it produces a warning. Cannot be combined with `host_key`.",
			},
			"bastion_host": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Jump host through which every host is reached. One connection to it is shared by all hosts.",
				Validators:          []validator.String{hostValidator{}},
			},
			"bastion_port": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("SSH port of the bastion. Defaults to `port`, then `%d`.", sshx.DefaultPort),
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"bastion_user": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "SSH user on the bastion. Defaults to `user`.",
				Validators:          []validator.String{userValidator{}},
			},
			"bastion_password": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Password on the bastion. Defaults to `password`.",
			},
			"bastion_private_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Private key for the bastion. Defaults to `private_key`.",
			},
			"bastion_certificate": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "User certificate for the bastion. Defaults to `certificate`.",
			},
			"bastion_host_key": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Pinned host key or CA key of the bastion. Defaults to `host_key`, then `known_hosts_file`. The bastion's key is always checked.",
				Validators:          []validator.String{hostKeyValidator{}},
			},
			"sudo": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Run host scripts through `sudo -n` when the user is not `root`. Defaults to `false`. " +
					"sudo must not ask for a password or a tty; if it does, the error says so instead of hanging.",
			},
			"timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Budget to connect to a host: dial, handshake, authentication and retries of transient failures, " +
					"as a Go duration (`30s`, `2m`). Defaults to `" + durationText(sshx.DefaultTimeout) + "`. Host operations are bounded by the resources' `timeouts` blocks.",
				Validators: []validator.String{durationValidator{}},
			},
			"max_sessions_per_host": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("Concurrent SSH sessions on the one connection kept per host. Defaults to `%d`; keep it below the hosts' sshd `MaxSessions`.", sshx.DefaultMaxSessionsPerHost),
				Validators:          []validator.Int64{int64validator.Between(1, 64)},
			},
		},
	}
}

// ValidateConfig rejects combinations before any connection.
func (p *tcpProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.InsecureIgnoreHostKey.ValueBool() && !m.HostKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("insecure_ignore_host_key"), "Conflicting Host Key Settings",
			"insecure_ignore_host_key = true turns host key verification off, while host_key pins a key to verify. "+
				"Remove one of them; keep host_key unless this is a throwaway lab.")
	}
	if m.InsecureIgnoreHostKey.ValueBool() {
		resp.Diagnostics.AddAttributeWarning(path.Root("insecure_ignore_host_key"), "Host Key Verification Disabled",
			"insecure_ignore_host_key = true accepts any host key: anyone able to intercept the connection can impersonate "+
				"a host and receive your credentials. Use it for throwaway labs only; pin host_key or use known_hosts_file instead.")
	}
}

func (p *tcpProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, secretFields...)

	data := &providerData{}
	resp.ResourceData = data
	resp.DataSourceData = data
	if !req.Config.Raw.IsFullyKnown() {
		// Values come from resources not yet created: plan without host
		// access now, apply configures again with known values.
		data.unknown = true
		return
	}

	cfg, diags := m.sshConfig()
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	pool, err := sshx.NewPool(cfg)
	if err != nil {
		var ce *sshx.ConfigError
		if errors.As(err, &ce) {
			resp.Diagnostics.AddAttributeError(path.Root(ce.Attribute), "Invalid SSH Configuration",
				"The provider block's "+ce.Attribute+" cannot be used: "+ce.Err.Error())
			return
		}
		resp.Diagnostics.AddError("Invalid SSH Configuration", err.Error())
		return
	}
	data.pool = pool
	data.user = cfg.User
	data.port = cfg.Port
	if p.poolHook != nil {
		p.poolHook(pool)
	}
	tflog.Debug(ctx, "tcp provider configured", map[string]any{
		"user":             cfg.User,
		"auth_password":    cfg.Password != "",
		"auth_private_key": cfg.PrivateKey != "",
		"auth_certificate": cfg.Certificate != "",
		"auth_agent":       cfg.Agent,
		"bastion":          cfg.Bastion != nil,
		"sudo":             cfg.Sudo,
		"timeout":          cfg.Timeout.String(),
	})
}

// sshConfig turns the provider block into the transport's Config,
// applying documented defaults. Durations and files are checked here; keys
// are checked by sshx.NewPool.
func (m providerModel) sshConfig() (sshx.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	cfg := sshx.Config{
		User:                  stringOr(m.User, sshx.DefaultUser),
		Port:                  int(int64Or(m.Port, sshx.DefaultPort)),
		Password:              m.Password.ValueString(),
		PrivateKey:            m.PrivateKey.ValueString(),
		PrivateKeyPassphrase:  m.PrivateKeyPassphrase.ValueString(),
		Certificate:           m.Certificate.ValueString(),
		AgentIdentity:         m.AgentIdentity.ValueString(),
		HostKey:               m.HostKey.ValueString(),
		InsecureIgnoreHostKey: m.InsecureIgnoreHostKey.ValueBool(),
		Sudo:                  m.Sudo.ValueBool(),
		MaxSessionsPerHost:    int(int64Or(m.MaxSessionsPerHost, sshx.DefaultMaxSessionsPerHost)),
		Timeout:               sshx.DefaultTimeout,
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	cfg.Agent = sock != ""
	if !m.Agent.IsNull() {
		cfg.Agent = m.Agent.ValueBool()
	}
	cfg.AgentSocket = sock
	if cfg.Agent && sock == "" {
		diags.AddAttributeError(path.Root("agent"), "SSH Agent Not Available",
			"agent = true, but SSH_AUTH_SOCK is not set in Terraform's environment, so there is no agent to ask. "+
				"Start ssh-agent and export SSH_AUTH_SOCK, or authenticate with private_key or password.")
	}

	if !m.Timeout.IsNull() {
		d, err := time.ParseDuration(m.Timeout.ValueString())
		if err != nil || d <= 0 {
			diags.AddAttributeError(path.Root("timeout"), "Invalid Duration", "timeout must be a positive Go duration such as \"30s\" or \"2m\".\nValue: "+m.Timeout.ValueString())
		} else {
			cfg.Timeout = d
		}
	}

	if !m.KnownHostsFile.IsNull() {
		p := expandHome(m.KnownHostsFile.ValueString())
		if _, err := os.Stat(p); err != nil {
			diags.AddAttributeError(path.Root("known_hosts_file"), "Unreadable known_hosts File",
				"known_hosts_file names a file that cannot be read, so no host could be verified.\nPath: "+p+"\nError: "+err.Error())
		}
		cfg.KnownHostsFile = p
	} else if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".ssh", "known_hosts")
		if _, err := os.Stat(p); err == nil {
			cfg.KnownHostsFile = p
		}
	}

	if !m.BastionHost.IsNull() && m.BastionHost.ValueString() != "" {
		cfg.Bastion = &sshx.BastionConfig{
			Host:        m.BastionHost.ValueString(),
			Port:        int(int64Or(m.BastionPort, int64(cfg.Port))),
			User:        stringOr(m.BastionUser, cfg.User),
			Password:    stringOr(m.BastionPassword, cfg.Password),
			PrivateKey:  stringOr(m.BastionPrivateKey, cfg.PrivateKey),
			Certificate: stringOr(m.BastionCertificate, cfg.Certificate),
			HostKey:     stringOr(m.BastionHostKey, cfg.HostKey),
		}
	} else {
		for _, a := range []struct {
			name string
			v    interface{ IsNull() bool }
		}{
			{"bastion_port", m.BastionPort}, {"bastion_user", m.BastionUser}, {"bastion_password", m.BastionPassword},
			{"bastion_private_key", m.BastionPrivateKey}, {"bastion_certificate", m.BastionCertificate}, {"bastion_host_key", m.BastionHostKey},
		} {
			if !a.v.IsNull() {
				diags.AddAttributeWarning(path.Root(a.name), "Bastion Setting Without bastion_host",
					a.name+" is set but bastion_host is not, so hosts are reached directly and "+a.name+" is ignored.")
			}
		}
	}
	return cfg, diags
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

func stringOr(v types.String, def string) string {
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return def
	}
	return v.ValueString()
}

func int64Or(v types.Int64, def int64) int64 {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	return v.ValueInt64()
}

func (p *tcpProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewTuningResource}
}

func (p *tcpProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewStatsDataSource}
}

func (p *tcpProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{NewPortCapacityFunction, NewCanonicalPortsFunction}
}

// durationValidator checks Go duration strings at validate time.
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "value must be a positive Go duration such as 30s or 2m"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration",
			"Expected a positive Go duration such as \"30s\" or \"2m\".\nValue: "+req.ConfigValue.ValueString())
	}
}

// durationText is d as the docs write it: "1m", "30s", "2h".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
