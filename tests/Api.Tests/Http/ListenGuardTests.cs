using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

/// <summary>
/// Without sign-in the portal is an Admin's to whoever reaches it: it must not listen beyond this machine. Sign-in
/// settings that cannot work stop it at start, naming the setting.
/// </summary>
[Trait("Category", "Api")]
public sealed class ListenGuardTests
{
    [Theory]
    [InlineData("--urls", "http://0.0.0.0:0")]
    [InlineData("--urls", "http://*:0")]
    [InlineData("--http_ports", "0")]
    public async Task Portal_RefusesToStart_OnANonLoopbackAddress_WithoutSignIn(string option, string value)
    {
        var result = await RunPortalAsync(option, value);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("Auth:Mode", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Auth:Oidc:Authority must be the provider's issuer URL", "--Auth:Mode", "Oidc", "--Auth:Oidc:ClientId", "portal")]
    [InlineData("Auth:Oidc:ClientId is required", "--Auth:Mode", "Oidc", "--Auth:Oidc:Authority", "https://idp.example/")]
    [InlineData("is not https", "--Auth:Mode", "Oidc", "--Auth:Oidc:Authority", "http://idp.example/", "--Auth:Oidc:ClientId", "portal")]
    [InlineData("Auth:BootstrapAdmin:Password: Password must have at least 8 characters", "--Auth:Mode", "Local", "--Auth:BootstrapAdmin:UserName", "ada", "--Auth:BootstrapAdmin:Password", "short")]
    [InlineData("Auth:BootstrapAdmin is for Auth:Mode Local or Oidc", "--Auth:BootstrapAdmin:UserName", "ada", "--Auth:BootstrapAdmin:Password", "long-enough-1")]
    public async Task Portal_RefusesToStart_WithSignInSettingsThatCannotWork_NamingTheSetting(string message, params string[] arguments)
    {
        var result = await RunPortalAsync(["--urls", "http://127.0.0.1:0", .. arguments]);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains(message, result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    private static async Task<ProcessResult> RunPortalAsync(params string[] arguments)
    {
        var data = Directory.CreateTempSubdirectory("batchportal-listen-").FullName;
        try
        {
            // The portal as built beside these tests (same configuration), run as its own process.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var portal = Path.Combine(PortalHost.RepositoryRoot, "Portal", "bin", configuration, "net10.0", "BatchPortal.Portal.dll");
            return await ProcessRunner.RunAsync(
                "dotnet",
                [portal, .. arguments, "--Engine:Storage:DatabasePath", Path.Combine(data, "batchportal.db")],
                new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = null, ["ASPNETCORE_HTTP_PORTS"] = null, ["DOTNET_URLS"] = null },
                workingDirectory: data);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
