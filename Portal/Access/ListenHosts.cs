using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Options;

namespace BatchPortal.Portal.Access;

/// <summary>
/// The host names a request may carry (<c>AllowedHosts</c>, read by ASP.NET Core's host filter) gain the hosts the portal
/// listens on, so that <c>--urls http://10.0.0.5:5080</c> works without repeating the address. A name that resolves
/// to this machine but is not among them (DNS rebinding: a foreign site's name pointed at 127.0.0.1) gets 400. The
/// shipped list is <c>localhost;127.0.0.1;[::1]</c>; behind a proxy or with a DNS name, add it there. Read at the first
/// request, when the server has bound its addresses.
/// </summary>
internal sealed class ListenHosts(IServer server) : IPostConfigureOptions<HostFilteringOptions>
{
    public void PostConfigure(string? name, HostFilteringOptions options)
    {
        if (options.AllowedHosts.Contains("*"))
        {
            return;
        }

        foreach (var address in server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Host is { Length: > 0 } host && host is not ("0.0.0.0" or "[::]") && !options.AllowedHosts.Contains(host))
            {
                options.AllowedHosts.Add(host);
            }
        }
    }
}
