using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using BatchPortal.Api.Tests.Support;
using BatchPortal.Engine.Access;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Api.Tests.Access;

/// <summary>A portal with <c>Auth:Mode</c> <c>Local</c> and a first Admin from <c>Auth:BootstrapAdmin</c>.</summary>
public sealed class LocalSignInFixture : PortalFixture
{
    public const string AdminName = "admin";
    public const string AdminPassword = "correct-horse-battery-9";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "Local",
        ["Auth:BootstrapAdmin:UserName"] = AdminName,
        ["Auth:BootstrapAdmin:Password"] = AdminPassword,
    };

    protected override bool NeedsDocker => false;

    public UserService Users => Host.Services.GetRequiredService<UserService>();

    public AuditTrail Audit => Host.Services.GetRequiredService<AuditTrail>();

    /// <summary>A client that keeps its cookies and does not follow redirects, as a browser's first request would see them.</summary>
    public HttpClient Browser() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri(Endpoint),
            DefaultRequestHeaders = { { "Accept", "text/html" } },
        };
}

[CollectionDefinition(Name)]
public sealed class LocalSignInCollection : ICollectionFixture<LocalSignInFixture>
{
    public const string Name = "LocalSignIn";
}

[Collection(LocalSignInCollection.Name)]
[Trait("Category", "Api")]
public sealed partial class SignInTests(LocalSignInFixture portal)
{
    [Fact]
    public async Task SignedOut_NothingIsReadable_PagesSendToTheSignInForm_HubAndDownloadsAre401_HealthSaysOnlyOk()
    {
        using var browser = portal.Browser();

        var page = await browser.GetAsync("/jobs");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        var signIn = new Uri(new Uri(portal.Endpoint), page.Headers.Location!);
        Assert.Equal("/signin", signIn.AbsolutePath);
        Assert.Contains("ReturnUrl=%2Fjobs", signIn.Query, StringComparison.OrdinalIgnoreCase);

        var hub = await browser.PostAsync("/hubs/jobs/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, hub.StatusCode);

        var download = await browser.GetAsync("/jobs/some-job/attempts/1/log.txt");
        Assert.Equal(HttpStatusCode.Unauthorized, download.StatusCode);

        var users = await browser.GetAsync("/users");
        Assert.Equal(HttpStatusCode.Redirect, users.StatusCode);

        var health = await browser.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        Assert.Equal(["status"], body.RootElement.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null).Select(p => p.Name));

        var form = await browser.GetAsync("/signin");
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Contains("name=\"Password\"", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_RefusesAWrongPasswordWithAMessage_ThenLetsTheRightOneIn_AndRecordsIt()
    {
        using var browser = portal.Browser();
        var wrong = await SignInAsync(browser, LocalSignInFixture.AdminName, "not-the-password", "/jobs");
        Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
        var again = await browser.GetAsync(wrong.Headers.Location);
        Assert.Contains(UserService.WrongCredentials, WebUtility.HtmlDecode(await again.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/jobs")).StatusCode);

        // An unknown name is told the same as a wrong password.
        var unknown = await SignInAsync(browser, "nobody-here", "whatever-it-is", "/");
        Assert.Contains(Uri.EscapeDataString(UserService.WrongCredentials), unknown.Headers.Location!.OriginalString, StringComparison.Ordinal);

        var right = await SignInAsync(browser, LocalSignInFixture.AdminName, LocalSignInFixture.AdminPassword, "/jobs");
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal("/jobs", right.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/users")).StatusCode);

        var signIns = await portal.Audit.QueryAsync(new AuditQuery(Actor: LocalSignInFixture.AdminName, Action: "SignIn"));
        Assert.NotEmpty(signIns);
        Assert.Equal(ActorVia.Console, signIns[0].Via);
    }

    [Fact]
    public async Task SignIn_NeverSendsSomeoneToAnotherSite()
    {
        using var browser = portal.Browser();
        var response = await SignInAsync(browser, LocalSignInFixture.AdminName, LocalSignInFixture.AdminPassword, "//evil.example/steal");
        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task AViewerSignedIn_ReadsPages_ButNotTheUsersPage_AndIsSignedOutWhenDisabled()
    {
        var name = PortalFixture.Unique("vera");
        const string Password = "viewer-password-1";
        Assert.True((await portal.Users.CreateAsync(name, Password, Role.Viewer)).IsSuccess);
        using var browser = portal.Browser();
        await SignInAsync(browser, name, Password, "/");

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/jobs")).StatusCode);
        var users = await browser.GetAsync("/users");
        Assert.Equal(HttpStatusCode.Forbidden, users.StatusCode);

        Assert.True((await portal.Users.SetDisabledAsync(name, true)).IsSuccess);
        var after = await browser.GetAsync("/jobs");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/signin", new Uri(new Uri(portal.Endpoint), after.Headers.Location!).PathAndQuery, StringComparison.Ordinal);

        var refused = await SignInAsync(browser, name, Password, "/");
        Assert.Contains("disabled", Uri.UnescapeDataString(refused.Headers.Location!.OriginalString), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_WithSignInOn_RefusesUnsignedCalls_AndAUsersKeyActsWithTheirRole_UntilRevoked()
    {
        var unsigned = await portal.Api.PostAsync("describejobqueues", new { });
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.Status);
        Assert.Equal("MissingAuthenticationTokenException", unsigned.ErrorType);

        var name = PortalFixture.Unique("olga");
        Assert.True((await portal.Users.CreateAsync(name, "operator-password-1", Role.Viewer)).IsSuccess);
        var key = (await portal.Users.CreateKeyAsync(name, "the CLI", new Actor(name, Role.Viewer, ActorVia.Console))).Value!;
        var cli = new AwsCli(portal.Endpoint, key.AccessKeyId, key.SecretAccessKey);

        await cli.OkAsync("batch", "describe-job-queues");
        var denied = await cli.FailsAsync("AccessDeniedException", "batch", "create-compute-environment", "--compute-environment-name", PortalFixture.Unique("ce"), "--type", "UNMANAGED", "--unmanagedv-cpus", "1");
        Assert.Contains(name, denied, StringComparison.Ordinal);
        Assert.Contains("Admin", denied, StringComparison.Ordinal);

        // The key follows its user's role: made an Admin, the same key may create.
        Assert.True((await portal.Users.SetRoleAsync(name, Role.Admin)).IsSuccess);
        var ce = PortalFixture.Unique("ce-by-key");
        await cli.OkAsync("batch", "create-compute-environment", "--compute-environment-name", ce, "--type", "UNMANAGED", "--unmanagedv-cpus", "1");
        var recorded = await portal.Audit.QueryAsync(new AuditQuery(Action: "CreateComputeEnvironment", Target: ce));
        var entry = Assert.Single(recorded);
        Assert.Equal(name, entry.Actor);
        Assert.Equal(ActorVia.ApiKey, entry.Via);
        Assert.Equal(key.AccessKeyId, entry.AccessKeyId);

        Assert.True((await portal.Users.RevokeKeyAsync(key.AccessKeyId)).IsSuccess);
        await cli.FailsAsync("UnrecognizedClientException", "batch", "describe-job-queues");
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string userName, string password, string returnUrl)
    {
        var form = await (await browser.GetAsync("/signin")).Content.ReadAsStringAsync();
        var token = AntiforgeryToken().Match(form);
        Assert.True(token.Success, "The sign-in form carries an antiforgery token.");
        return await browser.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
            ["UserName"] = userName,
            ["Password"] = password,
            ["ReturnUrl"] = returnUrl,
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
