using System.ComponentModel;
using System.Diagnostics;

namespace BatchPortal.Api.Tests.Support;

public sealed record ProcessResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() =>
        $"`{Command}` exited with {ExitCode}.{Environment.NewLine}stdout: {Stdout.Trim()}{Environment.NewLine}stderr: {Stderr.Trim()}";
}

/// <summary>Runs a real client (the aws CLI, node) as a child process and collects its output.</summary>
public static class ProcessRunner
{
    /// <summary>Only against a hung client; no test asserts on how long a call took.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment,
        string? workingDirectory = null,
        string? missingHint = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var command = fileName + " " + string.Join(' ', start.ArgumentList.Select(a => a.Contains(' ', StringComparison.Ordinal) || a.Length == 0 ? $"'{a}'" : a));
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot run `{fileName}` ({ex.Message}). {missingHint}", ex);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(Deadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command}` did not finish within {Deadline.TotalSeconds:0} s.");
        }

        return new ProcessResult(command, process.ExitCode, await stdout, await stderr);
    }
}
