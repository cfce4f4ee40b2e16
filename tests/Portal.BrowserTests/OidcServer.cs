using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>
/// A real OpenID Connect provider for the tests, built with OpenIddict's server: discovery, the authorization code flow
/// with PKCE, signed ID tokens, userinfo, and a sign-in form of its own. One confidential client; users with role
/// claims. It runs without a database (OpenIddict's degraded mode): the client is checked by the handlers here.
/// </summary>
public sealed class OidcServer : IAsyncDisposable
{
    public const string ClientId = "batchportal";
    public const string ClientSecret = "portal-client-secret-for-tests";
    public const string IdpCookie = "test-idp";

    private readonly WebApplication _app;

    private OidcServer(WebApplication app, string authority)
    {
        _app = app;
        Authority = authority;
    }

    /// <summary><c>http://127.0.0.1:PORT/</c>: the issuer the portal is pointed at.</summary>
    public string Authority { get; }

    /// <summary>The only redirect URI the client may use; set once the portal's port is known.</summary>
    public string? RedirectUri { get; set; }

    /// <summary>The people the provider knows: a password and the values of their <c>roles</c> claim.</summary>
    public Dictionary<string, (string Password, string[] Roles)> Users { get; } = new(StringComparer.Ordinal);

    public static async Task<OidcServer> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        OidcServer? self = null;
        builder.Services.AddAuthentication(IdpCookie).AddCookie(IdpCookie, o =>
        {
            o.Cookie.Name = IdpCookie;
            o.LoginPath = "/login";
        });
        builder.Services.AddOpenIddict().AddServer(options =>
        {
            options.SetAuthorizationEndpointUris("connect/authorize")
                .SetTokenEndpointUris("connect/token")
                .SetUserInfoEndpointUris("connect/userinfo");
            options.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            options.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.Roles);
            options.AddEphemeralEncryptionKey().AddEphemeralSigningKey().DisableAccessTokenEncryption();
            options.EnableDegradedMode();
            options.UseAspNetCore()
                .DisableTransportSecurityRequirement()
                .EnableAuthorizationEndpointPassthrough()
                .EnableTokenEndpointPassthrough()
                .EnableUserInfoEndpointPassthrough();

            // Without a database, the client's id, secret and redirect URI are checked here.
            options.AddEventHandler<ValidateAuthorizationRequestContext>(b => b.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId)
                {
                    context.Reject(Errors.InvalidClient, $"Unknown client {context.ClientId}.");
                }
                else if (context.RedirectUri != self!.RedirectUri)
                {
                    context.Reject(Errors.InvalidRequest, $"Redirect URI {context.RedirectUri} is not registered.");
                }

                return default;
            }));
            options.AddEventHandler<ValidateTokenRequestContext>(b => b.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId || context.ClientSecret != ClientSecret)
                {
                    context.Reject(Errors.InvalidClient, "Wrong client credentials.");
                }

                return default;
            }));
        });

        var app = builder.Build();
        app.UseAuthentication();

        app.MapGet("/login", (string? returnUrl) => Results.Content(
            $"""
            <!DOCTYPE html><html><head><title>Test identity provider</title></head><body>
            <h1>Test identity provider</h1>
            <form method="post" action="/login">
              <input type="hidden" name="returnUrl" value="{WebUtility.HtmlEncode(returnUrl)}" />
              <label for="idp-user">IdP user</label><input id="idp-user" name="username" />
              <label for="idp-password">IdP password</label><input id="idp-password" name="password" type="password" />
              <button type="submit">Continue</button>
            </form></body></html>
            """,
            "text/html"));
        app.MapPost("/login", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            var name = form["username"].ToString();
            if (!self!.Users.TryGetValue(name, out var user) || user.Password != form["password"].ToString())
            {
                return Results.Content("<p id=\"idp-error\">Wrong IdP credentials.</p>", "text/html", statusCode: StatusCodes.Status401Unauthorized);
            }

            await http.SignInAsync(IdpCookie, new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], IdpCookie)));
            var back = form["returnUrl"].ToString();
            return Results.Redirect(back.StartsWith('/') ? back : "/");
        });

        app.MapMethods("/connect/authorize", [HttpMethods.Get, HttpMethods.Post], async (HttpContext http) =>
        {
            var request = http.GetOpenIddictServerRequest()!;
            var signedIn = await http.AuthenticateAsync(IdpCookie);
            if (!signedIn.Succeeded)
            {
                return Results.Redirect("/login?returnUrl=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
            }

            var name = signedIn.Principal!.Identity!.Name!;
            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, "sub-" + name).SetClaim(Claims.PreferredUsername, name).SetClaims("roles", [.. self!.Users[name].Roles]);
            identity.SetScopes(request.GetScopes());
            identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });

        app.MapPost("/connect/token", async (HttpContext http) =>
        {
            var code = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            return Results.SignIn(code.Principal!, null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });

        app.MapMethods("/connect/userinfo", [HttpMethods.Get, HttpMethods.Post], async (HttpContext http) =>
        {
            var token = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            var principal = token.Principal!;
            return Results.Json(new Dictionary<string, object?>
            {
                [Claims.Subject] = principal.GetClaim(Claims.Subject),
                [Claims.PreferredUsername] = principal.GetClaim(Claims.PreferredUsername),
                ["roles"] = principal.GetClaims("roles").ToArray(),
            });
        });

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new OidcServer(app, address.TrimEnd('/') + "/");
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
