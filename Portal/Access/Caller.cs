using BatchPortal.Engine.Access;

namespace BatchPortal.Portal.Access;

/// <summary>Who made a request, as the portal knows them: a name, a role, and how they came (an API key, the local user).</summary>
public sealed record Caller(string Name, Role Role, string Via)
{
    /// <summary>
    /// With <c>Auth:Mode</c> <c>None</c> the portal listens only on loopback addresses (see <see cref="ListenGuard"/>),
    /// and whoever reaches it is the machine's own user: an Admin, as on any developer tool.
    /// </summary>
    public static Caller LocalUser { get; } = new("local user", Role.Admin, "console");
}

internal static class CallerExtensions
{
    /// <summary>The request's caller: the one its credentials named, else the local user.</summary>
    public static Caller Caller(this HttpContext http) => http.Features.Get<Caller>() ?? Access.Caller.LocalUser;

    public static void SetCaller(this HttpContext http, Caller caller) => http.Features.Set(caller);
}
