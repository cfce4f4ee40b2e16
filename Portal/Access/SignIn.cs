using System.Security.Claims;
using System.Text.Encodings.Web;
using BatchPortal.Engine.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace BatchPortal.Portal.Access;

/// <summary>
/// Without sign-in (<c>Auth:Mode</c> <c>None</c>) every request is the local user's: an Admin, on a portal that listens
/// only on loopback addresses (ListenGuard). The console, the hub and the downloads then run through the same
/// authorization as with sign-in.
/// </summary>
internal sealed class LocalUserAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "LocalUser";

    private static readonly AuthenticationTicket Ticket = new(PortalClaims.For(Actor.LocalUser.Name, Role.Admin, null, SchemeName), SchemeName);

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.Success(Ticket));
}

/// <summary>The sign-in modes: the schemes, the cookie's rules, the sign-in and sign-out endpoints, the first Admin.</summary>
internal static class SignIn
{
    public const string SignInPath = "/signin";

    public static WebApplicationBuilder AddPortalSignIn(this WebApplicationBuilder builder)
    {
        var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section)
            .Validate(o => o.Mode == auth.Mode, $"Auth:Mode was {auth.Mode} when the portal set up sign-in and is something else now; set it before start, in appsettings.json, the environment or the command line.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidation>();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddScoped<AuthenticationStateProvider, SessionRevalidation>();
        builder.Services.AddScoped<ConsoleAccess>();
        builder.Services.AddAuthorization();

        if (auth.Mode == AuthMode.None)
        {
            builder.Services.AddAuthentication(LocalUserAuthentication.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, LocalUserAuthentication>(LocalUserAuthentication.SchemeName, null);
            return builder;
        }

        var authentication = builder.Services.AddAuthentication(o =>
        {
            o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            o.DefaultChallengeScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        });
        authentication.AddCookie(o =>
        {
            o.Cookie.Name = "BatchPortal.Session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = SignInPath;
            o.AccessDeniedPath = SignInPath;
            o.ExpireTimeSpan = auth.SessionIdleTimeout;
            o.SlidingExpiration = true;
            o.Events.OnRedirectToLogin = context =>
            {
                // A page gets the sign-in form; the hub, a download or a script gets 401 and nothing else.
                if (IsPage(context.Request))
                {
                    context.Response.Redirect(context.RedirectUri);
                }
                else
                {
                    NoStatusPage(context.HttpContext);
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }

                return Task.CompletedTask;
            };
            o.Events.OnRedirectToAccessDenied = context =>
            {
                NoStatusPage(context.HttpContext);
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
            o.Events.OnValidatePrincipal = async context =>
            {
                // A user disabled, given another role or another password since: the session ends.
                var users = context.HttpContext.RequestServices.GetRequiredService<UserService>();
                var name = context.Principal?.Identity?.Name;
                if (name is null || await users.SessionUserAsync(name, context.Principal!.FindFirstValue(PortalClaims.Stamp), context.HttpContext.RequestAborted) is null)
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                }
            };
        });

        if (auth.Mode == AuthMode.Oidc)
        {
            authentication.AddOpenIdConnect(o =>
            {
                var oidc = auth.Oidc;
                o.Authority = oidc.Authority;
                o.ClientId = oidc.ClientId;
                o.ClientSecret = oidc.ClientSecret;
                o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
                o.ResponseType = OpenIdConnectResponseType.Code;

                // The code comes back on a top-level GET (with PKCE): the correlation and nonce cookies can then be
                // SameSite=Lax, which browsers keep over plain HTTP too (they refuse SameSite=None without Secure).
                o.ResponseMode = OpenIdConnectResponseMode.Query;
                o.CorrelationCookie.SameSite = SameSiteMode.Lax;
                o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.NonceCookie.SameSite = SameSiteMode.Lax;
                o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.UsePkce = true;
                o.SaveTokens = false;
                o.GetClaimsFromUserInfoEndpoint = true;
                o.MapInboundClaims = false;
                o.CallbackPath = "/signin-oidc";
                o.SignedOutCallbackPath = "/signout-callback-oidc";
                o.Scope.Clear();
                o.Scope.Add("openid");
                o.Scope.Add("profile");
                foreach (var scope in oidc.Scopes)
                {
                    o.Scope.Add(scope);
                }

                // The name and the role claims may come in the ID token or from the userinfo endpoint.
                o.ClaimActions.MapJsonKey(oidc.NameClaim, oidc.NameClaim);
                o.ClaimActions.MapJsonKey(oidc.RoleClaim, oidc.RoleClaim);
                o.TokenValidationParameters.NameClaimType = oidc.NameClaim;
                o.TokenValidationParameters.RoleClaimType = oidc.RoleClaim;
                o.Events.OnTicketReceived = async context =>
                {
                    // The provider vouched for the user: the portal's own session, with the role its claims map to.
                    var principal = context.Principal!;
                    var name = principal.FindFirstValue(oidc.NameClaim) ?? principal.FindFirstValue("sub");
                    var role = oidc.RoleFor(principal.FindAll(oidc.RoleClaim).Select(c => c.Value));
                    string? refusal = null;
                    if (string.IsNullOrWhiteSpace(name) || UserService.CheckUserName(name) is not null)
                    {
                        refusal = $"The provider's {oidc.NameClaim} claim ('{name}') is not a user name this portal can use.";
                    }
                    else if (role is null)
                    {
                        refusal = $"{name} has no BatchPortal role: none of the {oidc.RoleClaim} claim's values is mapped in Auth:Oidc:Roles.";
                    }
                    else
                    {
                        var users = context.HttpContext.RequestServices.GetRequiredService<UserService>();
                        var signedIn = await users.SignInExternalAsync(name, role.Value, context.HttpContext.RequestAborted);
                        if (signedIn.IsSuccess)
                        {
                            context.Principal = PortalClaims.For(signedIn.Value!.UserName, signedIn.Value.Role, signedIn.Value.SecurityStamp, CookieAuthenticationDefaults.AuthenticationScheme);
                            return;
                        }

                        refusal = signedIn.Error!.Message;
                    }

                    context.Response.Redirect($"{SignInPath}?error={Uri.EscapeDataString(refusal)}");
                    context.HandleResponse();
                };
                o.Events.OnRemoteFailure = context =>
                {
                    context.Response.Redirect($"{SignInPath}?error={Uri.EscapeDataString("The sign-in at the provider failed: " + context.Failure?.Message)}");
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });
        }

        builder.Services.AddHostedService<BootstrapAdmin>();
        return builder;
    }

    // A refusal is only its status code: not the "not found" page that re-executes for empty error answers.
    private static void NoStatusPage(HttpContext http)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }
    }

    private static bool IsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && !request.Path.StartsWithSegments("/hubs")
        && !request.Path.StartsWithSegments("/_blazor")
        && !(request.Path.Value ?? string.Empty).EndsWith(".txt", StringComparison.Ordinal)
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.Ordinal);

    /// <summary>POST /account/signin (the form of the sign-in page), GET /account/signin/oidc, POST /account/signout.</summary>
    public static WebApplication MapAccountEndpoints(this WebApplication app)
    {
        var mode = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Mode;
        app.MapPost("/account/signin", async ([FromForm] SignInForm form, HttpContext http, UserService users) =>
        {
            var back = LocalReturnUrl(form.ReturnUrl);
            if (mode != AuthMode.Local)
            {
                return Results.Redirect($"{SignInPath}?error={Uri.EscapeDataString("Sign-in with a password is for Auth:Mode Local.")}");
            }

            var result = await users.SignInAsync(form.UserName?.Trim(), form.Password, http.RequestAborted);
            if (!result.IsSuccess)
            {
                return Results.Redirect($"{SignInPath}?error={Uri.EscapeDataString(result.Error!.Message)}&userName={Uri.EscapeDataString(form.UserName ?? string.Empty)}&returnUrl={Uri.EscapeDataString(back)}");
            }

            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, PortalClaims.For(result.Value!.UserName, result.Value.Role, result.Value.SecurityStamp, CookieAuthenticationDefaults.AuthenticationScheme));
            return Results.Redirect(back);
        }).AllowAnonymous();

        app.MapGet("/account/signin/oidc", (string? returnUrl) =>
            mode == AuthMode.Oidc
                ? Results.Challenge(new AuthenticationProperties { RedirectUri = LocalReturnUrl(returnUrl) }, [OpenIdConnectDefaults.AuthenticationScheme])
                : Results.Redirect(SignInPath)).AllowAnonymous();

        app.MapPost("/account/signout", async (HttpContext http, AuditTrail audit) =>
        {
            if (mode != AuthMode.None && PortalClaims.ActorOf(http.User) is { } actor)
            {
                await audit.RecordAsync(actor, "SignOut", actor.Name, null, http.RequestAborted);
                await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            }

            return Results.Redirect(mode == AuthMode.None ? "/" : $"{SignInPath}?signedOut=1");
        });
        return app;
    }

    /// <summary>Only a path on this portal: a sign-in never sends someone to another site.</summary>
    internal static string LocalReturnUrl(string? url) =>
        url is { Length: > 0 } && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) && !url.StartsWith(SignInPath, StringComparison.Ordinal)
            ? url
            : "/";

    internal sealed class SignInForm
    {
        public string? UserName { get; set; }

        public string? Password { get; set; }

        public string? ReturnUrl { get; set; }
    }
}

/// <summary>Makes the first Admin from <c>Auth:BootstrapAdmin</c> when the database has no user yet.</summary>
internal sealed class BootstrapAdmin(IOptions<AuthOptions> options, UserService users, ILogger<BootstrapAdmin> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var admin = options.Value.BootstrapAdmin;
        if (options.Value.Mode != AuthMode.Local || string.IsNullOrEmpty(admin.UserName) || string.IsNullOrEmpty(admin.Password))
        {
            if (options.Value.Mode == AuthMode.Local && !await users.AnyAsync(cancellationToken))
            {
                logger.LogWarning("Auth:Mode is Local and there is no user yet: set Auth:BootstrapAdmin:UserName and Auth:BootstrapAdmin:Password to make the first Admin.");
            }

            return;
        }

        var made = await users.BootstrapAsync(admin.UserName, admin.Password, cancellationToken);
        if (!made.IsSuccess)
        {
            throw new InvalidOperationException($"Auth:BootstrapAdmin: {made.Error!.Message}");
        }

        if (made.Value)
        {
            logger.LogInformation("Made the first Admin, {UserName}, from Auth:BootstrapAdmin.", admin.UserName);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>An open console page checks every minute that its user is still enabled and unchanged; if not, it is signed out.</summary>
internal sealed class SessionRevalidation(ILoggerFactory loggerFactory, IServiceScopeFactory scopes, IOptions<AuthOptions> options)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromMinutes(1);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        if (options.Value.Mode == AuthMode.None)
        {
            return true;
        }

        var user = authenticationState.User;
        if (user.Identity?.Name is not { } name)
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<UserService>().SessionUserAsync(name, user.FindFirstValue(PortalClaims.Stamp), cancellationToken) is not null;
    }
}
