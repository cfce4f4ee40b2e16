using System.Security.Claims;
using BatchPortal.Engine.Access;

namespace BatchPortal.Portal.Access;

/// <summary>The claims a portal session carries: the user's name, role, and the security stamp it was signed in with.</summary>
internal static class PortalClaims
{
    public const string Stamp = "batchportal:stamp";

    public static ClaimsPrincipal For(string userName, Role role, string? stamp, string scheme)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, userName), new(ClaimTypes.Role, role.ToString()) };
        if (stamp is not null)
        {
            claims.Add(new(Stamp, stamp));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>The console user a principal names; null when signed out.</summary>
    public static Actor? ActorOf(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true
        && user.Identity.Name is { Length: > 0 } name
        && Enum.TryParse<Role>(user.FindFirstValue(ClaimTypes.Role), out var role)
            ? (name == Actor.LocalUser.Name && user.Identity.AuthenticationType == LocalUserAuthentication.SchemeName ? Actor.LocalUser : new Actor(name, role, ActorVia.Console))
            : null;
}

internal static class CallerExtensions
{
    /// <summary>
    /// Who made a request: the key that signed it (API calls), else the signed-in user (the console, log downloads, the
    /// hub), else nobody (signed out). Without sign-in every request is the local user's (LocalUserAuthentication).
    /// </summary>
    public static Actor? Caller(this HttpContext http) => http.Features.Get<Actor>() ?? PortalClaims.ActorOf(http.User);

    public static void SetCaller(this HttpContext http, Actor caller) => http.Features.Set(caller);
}
