using System.Text.RegularExpressions;

namespace BatchPortal.Engine.Domain;

/// <summary>AWS's naming rules, shared by the console and the API.</summary>
public static partial class Names
{
    public const int MaxLength = 128;

    /// <summary>Compute environment, job queue and job definition names: 1–128 letters, digits, hyphens and underscores.</summary>
    public static string? CheckResourceName(string? name, string what)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return $"{what} is required.";
        }

        if (name.Length > MaxLength)
        {
            return $"{what} must be at most {MaxLength} characters (it has {name.Length}).";
        }

        return ResourceName().IsMatch(name)
            ? null
            : $"{what} '{name}' may contain only letters, digits, hyphens (-) and underscores (_).";
    }

    /// <summary>Job names: as resource names, and the first character must be a letter or digit.</summary>
    public static string? CheckJobName(string? name)
    {
        var error = CheckResourceName(name, "Job name");
        if (error is not null)
        {
            return error;
        }

        return char.IsAsciiLetterOrDigit(name![0]) ? null : $"Job name '{name}' must start with a letter or digit.";
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex ResourceName();
}
