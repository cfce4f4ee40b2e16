namespace BatchPortal.Engine.Access;

/// <summary>How someone reached the portal when they changed something.</summary>
public enum ActorVia
{
    /// <summary>The engine itself (a retention purge, a test, a call that named nobody).</summary>
    Engine,

    /// <summary>A person signed in to the console (or the local user, without sign-in).</summary>
    Console,

    /// <summary>A SigV4-signed API call, with the access key that signed it.</summary>
    ApiKey,

    /// <summary>A schedule that fired, or was run now.</summary>
    Schedule,
}

/// <summary>
/// Who does something, as the audit trail and the jobs record it: a name, the role they acted with, and how they came.
/// The console and the API make one per request or circuit from the signed-in user or the signing key.
/// </summary>
public sealed record Actor(string Name, Role Role, ActorVia Via, string? AccessKeyId = null)
{
    public const int MaxNameLength = 128;

    /// <summary>A change no caller asked for, or one made by a call that named nobody.</summary>
    public static Actor Engine { get; } = new("engine", Role.Admin, ActorVia.Engine);

    /// <summary>
    /// Without sign-in (<c>Auth:Mode</c> <c>None</c>) the portal listens only on loopback addresses, and whoever reaches
    /// it is the machine's own user: an Admin, as on any developer tool.
    /// </summary>
    public static Actor LocalUser { get; } = new("local user", Role.Admin, ActorVia.Console);

    /// <summary>Nobody signed in: the console acts as this, and the engine refuses it every change (a Viewer changes nothing).</summary>
    public static Actor SignedOut { get; } = new("signed out", Role.Viewer, ActorVia.Console);

    public static Actor Schedule(string scheduleName) => new(scheduleName, Role.Operator, ActorVia.Schedule);

    public bool Allows(Permission permission) => AccessPolicy.Allows(Role, permission);

    /// <summary>How the audit page and the job page say where it came from: <c>console</c>, <c>API key AKIA…</c>, <c>schedule</c>.</summary>
    public string Source => Via switch
    {
        ActorVia.Console => "console",
        ActorVia.ApiKey => AccessKeyId is { Length: > 0 } key ? $"API key {key}" : "API",
        ActorVia.Schedule => "schedule",
        _ => "engine",
    };

    public override string ToString() => $"{Name} ({Source})";
}
