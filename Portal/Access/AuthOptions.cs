namespace BatchPortal.Portal.Access;

/// <summary>How people sign in (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// <c>None</c> (the default): no sign-in, the one local user is an Admin, and so the portal listens only on loopback
    /// addresses. Sign-in with users and roles (<c>Local</c>, <c>Oidc</c>) is the next step of issue #12.
    /// </summary>
    public AuthMode Mode { get; set; } = AuthMode.None;
}

public enum AuthMode
{
    None,
    Local,
    Oidc,
}
