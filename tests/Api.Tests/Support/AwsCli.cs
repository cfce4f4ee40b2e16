using System.Text.Json;

namespace BatchPortal.Api.Tests.Support;

/// <summary>
/// The real <c>aws</c> CLI pointed at the portal. Retries are off (<c>AWS_MAX_ATTEMPTS=1</c>) so that a 5xx the CLI
/// would otherwise retry quietly shows up as a failure, and no user profile or config file takes part.
/// </summary>
public sealed class AwsCli(string endpoint, string accessKeyId = "test", string secretAccessKey = "test")
{
    private const string MissingHint = "The API tests need the aws CLI on PATH (pip install awscli, or Debian's awscli package).";

    private readonly Dictionary<string, string?> _environment = new()
    {
        ["AWS_ACCESS_KEY_ID"] = accessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = secretAccessKey,
        ["AWS_DEFAULT_REGION"] = "us-east-1",
        ["AWS_MAX_ATTEMPTS"] = "1",
        ["AWS_RETRY_MODE"] = "standard",
        ["AWS_PAGER"] = string.Empty,
        ["AWS_CONFIG_FILE"] = "/nonexistent/batchportal-api-tests/config",
        ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/batchportal-api-tests/credentials",
        ["AWS_PROFILE"] = null,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_ENDPOINT_URL"] = null,
        ["AWS_ENDPOINT_URL_BATCH"] = null,
        ["AWS_ENDPOINT_URL_LOGS"] = null,
    };

    public Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("aws", [.. arguments, "--endpoint-url", endpoint, "--output", "json"], _environment, missingHint: MissingHint);

    /// <summary>Runs the command, asserts it succeeded, and returns its JSON output (an empty object when it printed none).</summary>
    public async Task<JsonElement> OkAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        var text = result.Stdout.Trim();
        if (text.Length == 0)
        {
            return JsonDocument.Parse("{}").RootElement.Clone();
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The CLI printed something that is not JSON. {result}", ex);
        }
    }

    /// <summary>Runs the command, asserts it failed with <paramref name="code"/> in parentheses, and returns what it printed.</summary>
    public async Task<string> FailsAsync(string code, params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode != 0, $"Expected the command to fail with {code}. {result}");
        Assert.True(result.Stderr.Contains($"({code})", StringComparison.Ordinal), $"Expected ({code}) in the error. {result}");
        return result.Stderr;
    }
}
