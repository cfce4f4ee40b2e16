using System.Text.Json;

namespace BatchPortal.Api.Tests.Support;

/// <summary>
/// Runs <c>js/batch-scenario.mjs</c> (AWS SDK for JavaScript v3) against the portal and returns the JSON it prints.
/// A missing node or node_modules fails the test with what to do; it never skips.
/// </summary>
public static class NodeScenario
{
    public static string Folder => Path.Combine(PortalHost.RepositoryRoot, "tests", "Api.Tests", "js");

    public static async Task<JsonElement> RunAsync(string endpoint, string scenario, object? arguments = null, string accessKeyId = "test", string secretAccessKey = "test")
    {
        var modules = Path.Combine(Folder, "node_modules", "@aws-sdk", "client-batch");
        Assert.True(
            Directory.Exists(modules),
            $"{modules} is missing: run `npm ci` in {Folder} (tests/run.sh does it when node_modules is missing).");

        var result = await ProcessRunner.RunAsync(
            "node",
            ["batch-scenario.mjs", scenario, JsonSerializer.Serialize(arguments ?? new { })],
            new Dictionary<string, string?>
            {
                ["BATCHPORTAL_ENDPOINT"] = endpoint,
                ["AWS_ACCESS_KEY_ID"] = accessKeyId,
                ["AWS_SECRET_ACCESS_KEY"] = secretAccessKey,
                ["AWS_REGION"] = "us-east-1",
                ["AWS_PROFILE"] = null,
                ["AWS_SESSION_TOKEN"] = null,
                ["AWS_ENDPOINT_URL"] = null,
            },
            Folder,
            "The SDK scenarios need Node.js 20+ (`node` on PATH); tests/run.sh checks for it.");
        Assert.True(result.ExitCode == 0, result.ToString());

        try
        {
            using var json = JsonDocument.Parse(result.Stdout);
            return json.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The scenario printed something that is not JSON. {result}", ex);
        }
    }
}
