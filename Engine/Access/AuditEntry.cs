namespace BatchPortal.Engine.Access;

/// <summary>One change someone made: who, from where, when, what and to which resource. Written by the engine's services.</summary>
public sealed class AuditEntry
{
    public const int MaxDetailLength = 1024;

    public long Id { get; set; }

    public DateTimeOffset At { get; init; }

    /// <summary>The user, API key owner or schedule that made the change.</summary>
    public required string Actor { get; init; }

    public ActorVia Via { get; init; }

    /// <summary>The access key that signed the API call, for <see cref="ActorVia.ApiKey"/>.</summary>
    public string? AccessKeyId { get; init; }

    /// <summary>The role the actor held when they acted.</summary>
    public Role Role { get; init; }

    /// <summary>AWS's operation name where there is one (<c>SubmitJob</c>, <c>DeleteJobQueue</c>), else the portal's (<c>CreateUser</c>).</summary>
    public required string Action { get; init; }

    /// <summary>What it was done to: a job id, a resource's name or ARN, a user name.</summary>
    public required string Target { get; init; }

    /// <summary>A short account of the change (a reason, the new state, a role), or null.</summary>
    public string? Detail { get; init; }

    public string Source => new Actor(Actor, Role, Via, AccessKeyId).Source;

    public static AuditEntry For(Actor by, string action, string target, string? detail, DateTimeOffset at) => new()
    {
        At = at,
        Actor = Truncate(by.Name, Access.Actor.MaxNameLength)!,
        Via = by.Via,
        AccessKeyId = by.AccessKeyId,
        Role = by.Role,
        Action = action,
        Target = Truncate(target, 512)!,
        Detail = Truncate(detail, MaxDetailLength),
    };

    private static string? Truncate(string? s, int max) => s is null || s.Length <= max ? s : s[..(max - 1)] + "…";
}

/// <summary>A person who signs in, in <c>Auth:Mode</c> <c>Local</c> (with a password) or <c>Oidc</c> (recorded at each sign-in).</summary>
public sealed class PortalUser
{
    public const int MaxUserNameLength = 64;
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 256;

    public required string UserName { get; init; }

    /// <summary>ASP.NET Core Identity's password hash (PBKDF2 with a salt); null for a user who signs in through OpenID Connect.</summary>
    public string? PasswordHash { get; set; }

    public Role Role { get; set; }

    public bool Disabled { get; set; }

    /// <summary>True for a user made by an OpenID Connect sign-in: their role comes from the provider's claims.</summary>
    public bool External { get; set; }

    /// <summary>Changes whenever the password, the role or the disabled flag does: a session signed in before is signed out.</summary>
    public string SecurityStamp { get; set; } = Guid.NewGuid().ToString("N");

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastSignInAt { get; set; }

    public List<ApiKey> ApiKeys { get; init; } = [];
}

/// <summary>
/// An access key of a user, for SigV4-signed API calls; it acts with the user's role. The secret is kept encrypted with
/// the portal's data protection keys (SigV4 needs the secret itself to check a signature), shown once at creation.
/// </summary>
public sealed class ApiKey
{
    public required string AccessKeyId { get; init; }

    public required string UserName { get; init; }

    public required string ProtectedSecret { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; set; }
}
