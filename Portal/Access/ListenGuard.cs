using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace BatchPortal.Portal.Access;

/// <summary>
/// Without sign-in (<c>Auth:Mode=None</c>) whoever reaches the portal is an Admin, which is root on the Docker host: so
/// it listens only on loopback addresses. The addresses it is told to listen on (<c>--urls</c>, <c>ASPNETCORE_URLS</c>,
/// <c>HTTP_PORTS</c>/<c>HTTPS_PORTS</c>, <c>Kestrel:Endpoints</c>) are checked before it binds, and the addresses it did
/// bind once it has started; either way a non-loopback one stops it with a message that names <c>Auth:Mode</c>.
/// </summary>
internal static class ListenGuard
{
    /// <summary>The message when the portal would listen beyond this machine without sign-in; null when it may start.</summary>
    public static string? Refusal(AuthMode mode, IEnumerable<string> addresses)
    {
        if (mode != AuthMode.None)
        {
            return null;
        }

        var open = addresses.Where(a => !IsLoopback(a)).ToList();
        return open.Count == 0
            ? null
            : $"Auth:Mode is None (no sign-in: whoever connects is an Admin), so the portal listens only on loopback addresses, " +
              $"but it was asked to listen on {string.Join(", ", open)}. Listen on localhost or 127.0.0.1, or set Auth:Mode to sign people in.";
    }

    /// <summary>The listening addresses configuration asks for, as Kestrel reads them.</summary>
    public static IEnumerable<string> Configured(IConfiguration configuration)
    {
        foreach (var url in (configuration["urls"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            yield return url;
        }

        foreach (var key in new[] { "http_ports", "https_ports" })
        {
            foreach (var port in (configuration[key] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                // HTTP_PORTS=8080 means every interface, port 8080.
                yield return $"http://*:{port}";
            }
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                yield return url;
            }
        }
    }

    /// <summary>Refuses the start before the server binds, then checks again what it bound.</summary>
    public static WebApplication UseListenGuard(this WebApplication app)
    {
        var mode = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Mode;
        if (Refusal(mode, Configured(app.Configuration)) is { } refusal)
        {
            throw new InvalidOperationException(refusal);
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            if (Refusal(mode, bound) is { } late)
            {
                app.Logger.LogCritical("{Refusal}", late);
                Environment.ExitCode = 1;
                app.Lifetime.StopApplication();
            }
        });
        return app;
    }

    internal static bool IsLoopback(string address)
    {
        // scheme://host:port/path, where host may be *, +, a name, an IPv4 address or [an IPv6 address].
        var rest = address.Contains("://", StringComparison.Ordinal) ? address[(address.IndexOf("://", StringComparison.Ordinal) + 3)..] : address;
        rest = rest.Split('/', 2)[0];
        string host;
        if (rest.StartsWith('['))
        {
            host = rest[1..Math.Max(1, rest.IndexOf(']', StringComparison.Ordinal))];
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon >= 0 ? rest[..colon] : rest;
        }

        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }
}
