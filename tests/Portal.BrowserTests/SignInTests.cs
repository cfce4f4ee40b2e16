using System.Text.RegularExpressions;
using BatchPortal.Engine.Access;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>A portal with <c>Auth:Mode</c> <c>Local</c>, its first Admin from <c>Auth:BootstrapAdmin</c>.</summary>
public sealed class SignInBrowserFixture : BrowserFixture
{
    public const string AdminName = "ada";
    public const string AdminPassword = "analytical-engine-1843";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "Local",
        ["Auth:BootstrapAdmin:UserName"] = AdminName,
        ["Auth:BootstrapAdmin:Password"] = AdminPassword,
    };
}

[CollectionDefinition(Name)]
public sealed class SignInBrowserCollection : ICollectionFixture<SignInBrowserFixture>
{
    public const string Name = "browser sign-in";
}

/// <summary>Signing in and out in Chromium: the form, a wrong password refused with a message, roles on the pages.</summary>
[Collection(SignInBrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class SignInTests(SignInBrowserFixture fixture)
{
    [Fact]
    public async Task SignIn_RefusesAWrongPasswordWithAMessage_LetsTheAdminIn_AndSignOutEndsTheSession()
    {
        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(fixture.Portal.BaseAddress.TrimEnd('/') + "/jobs");
        await page.WaitForURLAsync(new Regex("/signin\\?ReturnUrl=%2Fjobs", RegexOptions.IgnoreCase));

        await page.GetByLabel("User name").FillAsync(SignInBrowserFixture.AdminName);
        await page.GetByLabel("Password").FillAsync("not-the-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("signin-error")).ToHaveTextAsync(UserService.WrongCredentials);
        await Assertions.Expect(page.GetByLabel("User name")).ToHaveValueAsync(SignInBrowserFixture.AdminName);
        await Assertions.Expect(page.GetByLabel("Password")).ToHaveValueAsync(string.Empty);

        await page.GetByLabel("Password").FillAsync(SignInBrowserFixture.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/jobs");
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync(SignInBrowserFixture.AdminName);
        await Assertions.Expect(page.GetByTestId("user-role")).ToHaveTextAsync("Admin");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Users" })).ToBeVisibleAsync();

        await page.GetByTestId("signout").ClickAsync();
        await page.WaitForURLAsync("**/signin?signedOut=1");
        await Assertions.Expect(page.GetByTestId("signin-note")).ToHaveTextAsync("You are signed out.");
        await page.GotoAsync(fixture.Portal.BaseAddress.TrimEnd('/') + "/jobs");
        await page.WaitForURLAsync(new Regex("/signin\\?ReturnUrl="));
    }

    [Fact]
    public async Task AViewer_SeesTheBoard_ButNoButtonThatChangesThePlatform_AndNoUsersPage()
    {
        var name = $"viv-{Guid.NewGuid():N}"[..12];
        const string Password = "viewer-password-1";
        var users = fixture.Portal.Services.GetRequiredService<UserService>();
        Assert.True((await users.CreateAsync(name, Password, Role.Viewer)).IsSuccess);

        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(fixture.Portal.BaseAddress.TrimEnd('/') + "/signin?ReturnUrl=%2Fcompute-environments");
        await page.GetByLabel("User name").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/compute-environments");
        await BrowserFixture.WaitInteractiveAsync(page);

        await Assertions.Expect(page.GetByTestId("user-role")).ToHaveTextAsync("Viewer");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Compute environments" }).Or(page.Locator("#page-title"))).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("create-ce")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Users" })).ToHaveCountAsync(0);

        var jobs = await fixture.OpenAsync(context, "/jobs");
        await Assertions.Expect(jobs.GetByTestId("submit-job")).ToHaveCountAsync(0);
    }
}

/// <summary>A portal with <c>Auth:Mode</c> <c>Oidc</c> against the tests' own OpenID Connect provider (OidcServer).</summary>
public sealed class OidcBrowserFixture : BrowserFixture
{
    private OidcServer? _idp;

    public OidcServer Idp => _idp ?? throw new InvalidOperationException("The provider has not started.");

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "Oidc",
        ["Auth:Oidc:Authority"] = Idp.Authority,
        ["Auth:Oidc:ClientId"] = OidcServer.ClientId,
        ["Auth:Oidc:ClientSecret"] = OidcServer.ClientSecret,
        ["Auth:Oidc:RequireHttpsMetadata"] = "false",
        ["Auth:Oidc:DisplayName"] = "Test IdP",
        ["Auth:Oidc:Scopes:0"] = "roles",
        ["Auth:Oidc:Roles:Operator:0"] = "batch-operators",
        ["Auth:Oidc:Roles:Admin:0"] = "batch-admins",
    };

    public override async Task InitializeAsync()
    {
        _idp = await OidcServer.StartAsync();
        _idp.Users["olivia"] = ("olivia-idp-password", ["staff", "batch-operators"]);
        _idp.Users["nadia"] = ("nadia-idp-password", ["staff"]);
        await base.InitializeAsync();
        _idp.RedirectUri = Portal.BaseAddress.TrimEnd('/') + "/signin-oidc";
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_idp is not null)
        {
            await _idp.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class OidcBrowserCollection : ICollectionFixture<OidcBrowserFixture>
{
    public const string Name = "browser oidc";
}

/// <summary>Signing in through OpenID Connect in Chromium: the provider's form, its role claim mapped to a role.</summary>
[Collection(OidcBrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class OidcSignInTests(OidcBrowserFixture fixture)
{
    [Fact]
    public async Task OidcSignIn_MapsTheRoleClaim_RecordsTheUser_AndRefusesSomeoneWithNoMappedRole()
    {
        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(fixture.Portal.BaseAddress.TrimEnd('/') + "/jobs");
        await page.WaitForURLAsync(new Regex("/signin\\?ReturnUrl=", RegexOptions.IgnoreCase));
        await page.GetByTestId("signin-oidc").ClickAsync();

        // The provider's own sign-in form, on its own port.
        await page.WaitForURLAsync(new Regex("/login\\?returnUrl="));
        await page.GetByLabel("IdP user").FillAsync("olivia");
        await page.GetByLabel("IdP password").FillAsync("olivia-idp-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();

        await page.WaitForURLAsync(fixture.Portal.BaseAddress.TrimEnd('/') + "/jobs");
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync("olivia");
        await Assertions.Expect(page.GetByTestId("user-role")).ToHaveTextAsync("Operator");
        await Assertions.Expect(page.GetByTestId("submit-job")).ToBeVisibleAsync();

        var users = fixture.Portal.Services.GetRequiredService<UserService>();
        var olivia = await users.GetAsync("olivia");
        Assert.Equal((Role.Operator, true, (string?)null), (olivia!.Role, olivia.External, olivia.PasswordHash));

        await using var other = await fixture.Browser.NewContextAsync();
        var refused = await other.NewPageAsync();
        await refused.GotoAsync(fixture.Portal.BaseAddress.TrimEnd('/') + "/signin");
        await refused.GetByTestId("signin-oidc").ClickAsync();
        await refused.GetByLabel("IdP user").FillAsync("nadia");
        await refused.GetByLabel("IdP password").FillAsync("nadia-idp-password");
        await refused.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Assertions.Expect(refused.GetByTestId("signin-error")).ToContainTextAsync("nadia has no BatchPortal role");
        Assert.Null(await users.GetAsync("nadia"));
    }
}
