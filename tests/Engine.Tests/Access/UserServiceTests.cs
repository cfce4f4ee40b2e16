using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Access;

/// <summary>Users, passwords and API keys as UserService keeps them, and the audit entries each change leaves.</summary>
public sealed class UserServiceTests : IAsyncLifetime
{
    private static readonly Actor Admin = new("root-admin", Role.Admin, ActorVia.Console);
    private EngineHarness _engine = default!;

    private UserService Users => _engine.Get<UserService>();

    private AuditTrail Audit => _engine.Get<AuditTrail>();

    public async Task InitializeAsync() => _engine = await EngineHarness.CreateAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Theory]
    [InlineData("", "long-enough-1", "userName", "User name is required.")]
    [InlineData("has space", "long-enough-1", "userName", "letters, digits")]
    [InlineData("ok.name", "short", "password", "at least 8 characters")]
    public async Task Create_RefusesABadNameOrPassword_NamingTheField_AndStoresNothing(string name, string password, string field, string message)
    {
        var result = await Users.CreateAsync(name, password, Role.Viewer, Admin);

        var failed = Assert.IsType<ValidationFailed>(result.Error);
        Assert.Contains(message, failed.For(field), StringComparison.Ordinal);
        Assert.Empty(await Users.ListAsync());
        Assert.Empty(await Audit.QueryAsync(new AuditQuery()));
    }

    [Fact]
    public async Task Create_StoresAHashNotThePassword_AndRefusesTheSameNameInAnotherCase()
    {
        var created = EngineHarness.Ok(await Users.CreateAsync("Alice", "wonderland-42", Role.Operator, Admin));

        Assert.NotNull(created.PasswordHash);
        Assert.DoesNotContain("wonderland-42", created.PasswordHash, StringComparison.Ordinal);
        var again = await Users.CreateAsync("alice", "another-password", Role.Viewer, Admin);
        Assert.Contains("already exists", Assert.IsType<ValidationFailed>(again.Error).For("userName"), StringComparison.Ordinal);

        var entry = Assert.Single(await Audit.QueryAsync(new AuditQuery(Action: "CreateUser")));
        Assert.Equal(("root-admin", ActorVia.Console, "Alice", "role Operator"), (entry.Actor, entry.Via, entry.Target, entry.Detail));
    }

    [Fact]
    public async Task SignIn_SaysTheSameForAnUnknownNameAndAWrongPassword_AndRefusesADisabledUser()
    {
        EngineHarness.Ok(await Users.CreateAsync("bob", "builder-password", Role.Viewer, Admin));
        EngineHarness.Ok(await Users.CreateAsync("carol", "admin-password", Role.Admin, Admin));

        Assert.Equal(UserService.WrongCredentials, (await Users.SignInAsync("bob", "wrong-password")).Error!.Message);
        Assert.Equal(UserService.WrongCredentials, (await Users.SignInAsync("nobody", "builder-password")).Error!.Message);
        Assert.Equal("bob", EngineHarness.Ok(await Users.SignInAsync("BOB", "builder-password")).UserName);

        EngineHarness.Ok(await Users.SetDisabledAsync("bob", true, Admin));
        Assert.Contains("disabled", (await Users.SignInAsync("bob", "builder-password")).Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_EndWhenTheUserIsDisabled_ReRoled_OrGivenANewPassword()
    {
        var user = EngineHarness.Ok(await Users.CreateAsync("dave", "dave-password-1", Role.Operator, Admin));
        EngineHarness.Ok(await Users.CreateAsync("erin", "erin-password-1", Role.Admin, Admin));
        Assert.NotNull(await Users.SessionUserAsync("dave", user.SecurityStamp));

        EngineHarness.Ok(await Users.SetRoleAsync("dave", Role.Viewer, Admin));
        Assert.Null(await Users.SessionUserAsync("dave", user.SecurityStamp));

        var signedIn = EngineHarness.Ok(await Users.SignInAsync("dave", "dave-password-1"));
        Assert.Equal(Role.Viewer, (await Users.SessionUserAsync("dave", signedIn.SecurityStamp))!.Role);
        EngineHarness.Ok(await Users.ResetPasswordAsync("dave", "dave-password-2", Admin));
        Assert.Null(await Users.SessionUserAsync("dave", signedIn.SecurityStamp));
        Assert.Equal(UserService.WrongCredentials, (await Users.SignInAsync("dave", "dave-password-1")).Error!.Message);
    }

    [Fact]
    public async Task TheLastEnabledAdmin_CannotBeDisabledOrDemoted()
    {
        EngineHarness.Ok(await Users.CreateAsync("frank", "frank-password", Role.Admin, Admin));

        Assert.Contains("last enabled Admin", (await Users.SetDisabledAsync("frank", true, Admin)).Error!.Message, StringComparison.Ordinal);
        Assert.Contains("last enabled Admin", (await Users.SetRoleAsync("frank", Role.Operator, Admin)).Error!.Message, StringComparison.Ordinal);
        Assert.Equal(Role.Admin, (await Users.GetAsync("frank"))!.Role);

        EngineHarness.Ok(await Users.CreateAsync("grace", "grace-password", Role.Admin, Admin));
        EngineHarness.Ok(await Users.SetRoleAsync("frank", Role.Operator, Admin));
    }

    [Fact]
    public async Task OnlyAnAdmin_ManagesUsers_AndOthersMakeOnlyTheirOwnKeys()
    {
        EngineHarness.Ok(await Users.CreateAsync("heidi", "heidi-password", Role.Operator, Admin));
        EngineHarness.Ok(await Users.CreateAsync("ivan", "ivan-password", Role.Viewer, Admin));
        var heidi = new Actor("heidi", Role.Operator, ActorVia.Console);

        Assert.IsType<AccessDenied>((await Users.CreateAsync("mallory", "mallory-password", Role.Admin, heidi)).Error);
        Assert.IsType<AccessDenied>((await Users.SetRoleAsync("heidi", Role.Admin, heidi)).Error);
        Assert.IsType<AccessDenied>((await Users.CreateKeyAsync("ivan", null, heidi)).Error);
        Assert.IsType<AccessDenied>((await Users.CreateKeyAsync("heidi", null, Actor.SignedOut)).Error);
        Assert.True((await Users.CreateKeyAsync("heidi", "my laptop", heidi)).IsSuccess);
        Assert.Null(await Users.GetAsync("mallory"));
    }

    [Fact]
    public async Task Keys_ActWithTheirUsersRoleNow_AndStopAtRevocationOrWhenTheUserIsDisabled()
    {
        EngineHarness.Ok(await Users.CreateAsync("judy", "judy-password", Role.Viewer, Admin));
        EngineHarness.Ok(await Users.CreateAsync("kim", "kim-password-1", Role.Admin, Admin));
        var key = EngineHarness.Ok(await Users.CreateKeyAsync("judy", "ci", Admin));
        Assert.StartsWith("BPAK", key.AccessKeyId, StringComparison.Ordinal);
        Assert.Equal(40, key.SecretAccessKey.Length);

        var credential = await Users.CredentialAsync(key.AccessKeyId);
        Assert.Equal((key.SecretAccessKey, "judy", Role.Viewer, ActorVia.ApiKey, key.AccessKeyId), (credential!.SecretAccessKey, credential.Actor.Name, credential.Actor.Role, credential.Actor.Via, credential.Actor.AccessKeyId));
        var stored = await Users.KeyAsync(key.AccessKeyId);
        Assert.DoesNotContain(key.SecretAccessKey, stored!.ProtectedSecret, StringComparison.Ordinal);

        EngineHarness.Ok(await Users.SetRoleAsync("judy", Role.Operator, Admin));
        Assert.Equal(Role.Operator, (await Users.CredentialAsync(key.AccessKeyId))!.Actor.Role);

        EngineHarness.Ok(await Users.SetDisabledAsync("judy", true, Admin));
        Assert.Null(await Users.CredentialAsync(key.AccessKeyId));
        EngineHarness.Ok(await Users.SetDisabledAsync("judy", false, Admin));
        Assert.NotNull(await Users.CredentialAsync(key.AccessKeyId));

        EngineHarness.Ok(await Users.RevokeKeyAsync(key.AccessKeyId, Admin));
        Assert.Null(await Users.CredentialAsync(key.AccessKeyId));
        Assert.Null(await Users.CredentialAsync("BPAKNOSUCHKEY0000000"));
        Assert.Equal(
            ["RevokeAccessKey", "EnableUser", "DisableUser", "SetUserRole", "CreateAccessKey"],
            (await Audit.QueryAsync(new AuditQuery(Target: "judy"))).Select(e => e.Action).Take(5));
    }

    [Fact]
    public async Task Bootstrap_MakesTheFirstAdminOnce()
    {
        Assert.True(EngineHarness.Ok(await Users.BootstrapAsync("first", "first-password")));
        Assert.False(EngineHarness.Ok(await Users.BootstrapAsync("second", "second-password")));
        var only = Assert.Single(await Users.ListAsync());
        Assert.Equal(("first", Role.Admin), (only.UserName, only.Role));
    }
}
