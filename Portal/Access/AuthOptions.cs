using BatchPortal.Engine.Access;
using Microsoft.Extensions.Options;

namespace BatchPortal.Portal.Access;

/// <summary>How people sign in (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// <c>None</c> (the default): no sign-in, the one local user is an Admin, and so the portal listens only on loopback
    /// addresses. <c>Local</c>: users with passwords, kept in the database. <c>Oidc</c>: sign-in at an OpenID Connect
    /// provider, a claim giving the role.
    /// </summary>
    public AuthMode Mode { get; set; } = AuthMode.None;

    /// <summary>The first Admin, made at start when no user exists (both modes with sign-in).</summary>
    public BootstrapAdminOptions BootstrapAdmin { get; set; } = new();

    /// <summary>How long a console session lasts without use.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);

    public OidcOptions Oidc { get; set; } = new();

    public sealed class BootstrapAdminOptions
    {
        public string? UserName { get; set; }

        public string? Password { get; set; }
    }

    public sealed class OidcOptions
    {
        /// <summary>The provider's issuer URL; its <c>/.well-known/openid-configuration</c> is read at the first sign-in.</summary>
        public string? Authority { get; set; }

        public string? ClientId { get; set; }

        public string? ClientSecret { get; set; }

        /// <summary>Scopes asked for beside <c>openid</c> and <c>profile</c>.</summary>
        public List<string> Scopes { get; set; } = [];

        /// <summary>The claim that names the user (shown on jobs and in the audit trail).</summary>
        public string NameClaim { get; set; } = "preferred_username";

        /// <summary>The claim whose values give the role (a group or role claim).</summary>
        public string RoleClaim { get; set; } = "roles";

        /// <summary>
        /// Which claim values make a user an Admin, an Operator or a Viewer (the highest wins). A value that is itself
        /// <c>Admin</c>, <c>Operator</c> or <c>Viewer</c> counts too.
        /// </summary>
        public Dictionary<Role, List<string>> Roles { get; set; } = [];

        /// <summary>The role of a user the provider knows but no claim value maps; unset, such a user is refused.</summary>
        public Role? DefaultRole { get; set; }

        /// <summary>Only an https authority, except for a provider on this machine during tests.</summary>
        public bool RequireHttpsMetadata { get; set; } = true;

        /// <summary>What the sign-in button says.</summary>
        public string DisplayName { get; set; } = "OpenID Connect";

        /// <summary>The role a set of claim values maps to; null when none does and there is no default.</summary>
        public Role? RoleFor(IEnumerable<string> values)
        {
            Role? best = null;
            foreach (var value in values)
            {
                foreach (var role in Enum.GetValues<Role>())
                {
                    var maps = string.Equals(value, role.ToString(), StringComparison.OrdinalIgnoreCase)
                        || (Roles.TryGetValue(role, out var names) && names.Contains(value, StringComparer.Ordinal));
                    if (maps && (best is null || role > best))
                    {
                        best = role;
                    }
                }
            }

            return best ?? DefaultRole;
        }
    }
}

public enum AuthMode
{
    None,
    Local,
    Oidc,
}

/// <summary>Refuses a start whose sign-in settings cannot work, naming the setting.</summary>
internal sealed class AuthOptionsValidation : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        var admin = options.BootstrapAdmin;
        if (!string.IsNullOrEmpty(admin.UserName) || !string.IsNullOrEmpty(admin.Password))
        {
            if (options.Mode == AuthMode.None)
            {
                failures.Add("Auth:BootstrapAdmin is for Auth:Mode Local or Oidc; with Auth:Mode None there are no users.");
            }

            if (UserService.CheckUserName(admin.UserName) is { } nameError)
            {
                failures.Add($"Auth:BootstrapAdmin:UserName: {nameError}");
            }

            if (options.Mode == AuthMode.Local && UserService.CheckPassword(admin.Password) is { } passwordError)
            {
                failures.Add($"Auth:BootstrapAdmin:Password: {passwordError}");
            }
        }

        if (options.SessionIdleTimeout < TimeSpan.FromMinutes(1) || options.SessionIdleTimeout > TimeSpan.FromDays(30))
        {
            failures.Add("Auth:SessionIdleTimeout must be between 1 minute and 30 days.");
        }

        if (options.Mode == AuthMode.Oidc)
        {
            var oidc = options.Oidc;
            if (!Uri.TryCreate(oidc.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
            {
                failures.Add($"Auth:Oidc:Authority must be the provider's issuer URL (https://...), not '{oidc.Authority}'.");
            }
            else if (oidc.RequireHttpsMetadata && authority.Scheme != "https")
            {
                failures.Add($"Auth:Oidc:Authority {oidc.Authority} is not https; set Auth:Oidc:RequireHttpsMetadata to false only for a provider on this machine.");
            }

            if (string.IsNullOrWhiteSpace(oidc.ClientId))
            {
                failures.Add("Auth:Oidc:ClientId is required with Auth:Mode Oidc.");
            }

            if (string.IsNullOrWhiteSpace(oidc.RoleClaim) || string.IsNullOrWhiteSpace(oidc.NameClaim))
            {
                failures.Add("Auth:Oidc:RoleClaim and Auth:Oidc:NameClaim must name claims.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
