using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Domain;

/// <summary>Builds and parses the ARNs the portal hands out: <c>arn:aws:batch:{region}:{account}:{kind}/{name}</c>.</summary>
public sealed class Arns(IOptions<BatchOptions> options)
{
    public string Region => options.Value.Region;

    public string AccountId => options.Value.AccountId;

    private string Prefix => $"arn:aws:batch:{Region}:{AccountId}:";

    public string ComputeEnvironment(string name) => $"{Prefix}compute-environment/{name}";

    public string JobQueue(string name) => $"{Prefix}job-queue/{name}";

    public string JobDefinition(string name, int revision) => $"{Prefix}job-definition/{name}:{revision}";

    public string Job(string jobId) => $"{Prefix}job/{jobId}";

    /// <summary>
    /// Accepts a bare name or an ARN of the given kind (from any region or account, as AWS's own tools pass them around)
    /// and returns the name part.
    /// </summary>
    public static string NameFrom(string nameOrArn, string kind)
    {
        var marker = $":{kind}/";
        var at = nameOrArn.IndexOf(marker, StringComparison.Ordinal);
        return nameOrArn.StartsWith("arn:", StringComparison.Ordinal) && at >= 0 ? nameOrArn[(at + marker.Length)..] : nameOrArn;
    }
}

/// <summary>Engine-wide identity settings (section <c>Engine:Aws</c>).</summary>
public sealed class BatchOptions
{
    public const string Section = "Engine:Aws";

    [System.ComponentModel.DataAnnotations.RegularExpression("^[a-z]{2}(-[a-z]+)+-[0-9]+$", ErrorMessage = "Engine:Aws:Region must look like an AWS region, e.g. us-east-1.")]
    public string Region { get; set; } = "us-east-1";

    [System.ComponentModel.DataAnnotations.RegularExpression("^[0-9]{12}$", ErrorMessage = "Engine:Aws:AccountId must be 12 digits.")]
    public string AccountId { get; set; } = "000000000000";
}
