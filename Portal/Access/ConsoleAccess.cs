using BatchPortal.Engine.Access;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;

namespace BatchPortal.Portal.Access;

/// <summary>
/// The console's side of the policy, one per circuit: who the user is now (the stored user, so a role taken away or a
/// user disabled counts at the next click, not at the next sign-in), and whether they may do something.
/// </summary>
internal sealed class ConsoleAccess(AuthenticationStateProvider authentication, UserService users, IOptions<AuthOptions> options)
{
    /// <summary>
    /// The signed-in user as they are stored now, to pass to the engine's services (which refuse what their role does
    /// not hold); <see cref="Actor.SignedOut"/>, who may change nothing, when signed out or no longer allowed in.
    /// </summary>
    public async Task<Actor> ActorAsync()
    {
        var state = await authentication.GetAuthenticationStateAsync();
        var actor = PortalClaims.ActorOf(state.User);
        if (actor is null)
        {
            return Actor.SignedOut;
        }

        if (options.Value.Mode == AuthMode.None)
        {
            return actor;
        }

        var stored = await users.SessionUserAsync(actor.Name, state.User.FindFirst(PortalClaims.Stamp)?.Value);
        return stored is null ? Actor.SignedOut : actor with { Role = stored.Role };
    }

    /// <summary>The user, when their role holds <paramref name="permission"/>; else null and why not, to show.</summary>
    public async Task<(Actor? Actor, string? Refusal)> DemandAsync(Permission permission)
    {
        var actor = await ActorAsync();
        if (actor == Actor.SignedOut)
        {
            return (null, "You are signed out: sign in again.");
        }

        return actor.Allows(permission)
            ? (actor, null)
            : (null, $"{actor.Name} ({actor.Role}) may not do this: it takes the {AccessPolicy.LeastRoleFor(permission)} role.");
    }
}
