using System.Diagnostics;

namespace BatchPortal.Engine.IntegrationTests.Support;

/// <summary>
/// A Docker engine of the test's own beside the machine's (its own socket, data root, exec root and pid file), which the
/// test may stop and start again without disturbing the other tests. It has the test image, copied from the main engine.
/// Starting it needs root and dockerd (tests/run.sh installs docker.io); without them it fails, never skips.
/// </summary>
public sealed class SecondDockerEngine : IAsyncDisposable
{
    private static readonly string[] Dockerds = ["/usr/sbin/dockerd", "/usr/bin/dockerd"];
    private readonly string _name = $"bp2-{Guid.NewGuid():N}"[..12];
    private Process? _dockerd;

    private SecondDockerEngine()
    {
    }

    public string Socket => $"/run/{_name}.sock";

    public string Endpoint => $"unix://{Socket}";

    private string DataRoot => Path.Combine(Path.GetTempPath(), $"{_name}-data");

    private string ExecRoot => $"/run/{_name}";

    public static async Task<SecondDockerEngine> StartAsync()
    {
        var engine = new SecondDockerEngine();
        try
        {
            await engine.StartAgainAsync();
            var image = Path.Combine(Path.GetTempPath(), $"{engine._name}-image.tar");
            await RunAsync("docker", $"save -o {image} {EngineHostFixture.Image}");
            await RunAsync("docker", $"-H {engine.Endpoint} load -i {image}");
            File.Delete(image);
            return engine;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts dockerd (again, on the same data), and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var dockerd = Dockerds.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("dockerd is not installed; run `BATCHPORTAL_SETUP_ONLY=1 bash tests/run.sh` as root.");
        Directory.CreateDirectory(DataRoot);
        _dockerd = Process.Start(new ProcessStartInfo(dockerd)
        {
            ArgumentList =
            {
                "-H", Endpoint, "--data-root", DataRoot, "--exec-root", ExecRoot, "--pidfile", $"/run/{_name}.pid",
                "--storage-driver=vfs", "--iptables=false", "--bridge=none",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("dockerd did not start.");
        _dockerd.OutputDataReceived += (_, _) => { };
        _dockerd.ErrorDataReceived += (_, _) => { };
        _dockerd.BeginOutputReadLine();
        _dockerd.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            if (_dockerd.HasExited)
            {
                throw new InvalidOperationException($"dockerd exited with {_dockerd.ExitCode} (is this test running as root?).");
            }

            if (await TryRunAsync("docker", $"-H {Endpoint} info"))
            {
                return;
            }

            await Task.Delay(250, deadline.Token);
        }
    }

    /// <summary>Stops the engine as `systemctl stop docker` does (SIGTERM): it stops its containers, then exits.</summary>
    public async Task StopAsync()
    {
        if (_dockerd is not { HasExited: false } process)
        {
            return;
        }

        await RunAsync("kill", $"-TERM {process.Id}");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _dockerd?.Dispose();
            try
            {
                Directory.Delete(DataRoot, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // vfs layers can be busy for a moment after the engine stopped; the temp folder is cleaned by the OS.
            }
        }
    }

    private static async Task RunAsync(string file, string arguments)
    {
        if (!await TryRunAsync(file, arguments))
        {
            throw new InvalidOperationException($"`{file} {arguments}` failed.");
        }
    }

    private static async Task<bool> TryRunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        return process.ExitCode == 0;
    }
}
