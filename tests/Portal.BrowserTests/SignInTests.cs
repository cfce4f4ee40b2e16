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
