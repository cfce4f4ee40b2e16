using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

/// <summary>Without sign-in the portal is an Admin's to whoever reaches it: it must not listen beyond this machine.</summary>
[Trait("Category", "Api")]
public sealed class ListenGuardTests
{
    [Theory]
    [InlineData("--urls", "http://0.0.0.0:0")]
    [InlineData("--urls", "http://*:0")]
    [InlineData("--http_ports", "0")]
    public async Task Portal_RefusesToStart_OnANonLoopbackAddress_WithoutSignIn(string option, string value)
    {
        var data = Directory.CreateTempSubdirectory("batchportal-listen-").FullName;
        try
        {
            // The portal as built beside these tests (same configuration), run as its own process.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var portal = Path.Combine(PortalHost.RepositoryRoot, "Portal", "bin", configuration, "net10.0", "BatchPortal.Portal.dll");
            var result = await ProcessRunner.RunAsync(
                "dotnet",
                [portal, option, value, "--Engine:Storage:DatabasePath", Path.Combine(data, "batchportal.db")],
                new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = null, ["ASPNETCORE_HTTP_PORTS"] = null, ["DOTNET_URLS"] = null },
                workingDirectory: data);

            Assert.True(result.ExitCode != 0, result.ToString());
            Assert.Contains("Auth:Mode", result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
