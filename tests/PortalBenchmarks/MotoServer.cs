using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace BatchPortal.PortalBenchmarks;

/// <summary>
/// moto's server (<c>python3 -m moto.server</c>), the peer: an AWS mock whose Batch runs each job as a thread that starts
/// a Docker container. Its <c>DOCKER_HOST</c> points at a socket that does not exist, as the portal's endpoint does, so no
/// container starts anywhere: moto's job threads fail their jobs (FAILED) about a second after submission.
/// </summary>
internal sealed class MotoServer : IAsyncDisposable
{
    public const string Queue = "bench-queue";
    public const string Definition = "bench-def";
    private const string Account = "123456789012";

    private readonly Process _process;

    private MotoServer(Process process, Uri address, string version)
    {
        _process = process;
        Address = address;
        Version = version;
    }

    public Uri Address { get; }

    public string Version { get; }

    public int Pid => _process.Id;

    /// <summary>moto's version, or null (with the reason) when python3 or moto is missing.</summary>
    public static async Task<(string? Version, string? Problem)> ProbeAsync()
    {
        try
        {
            var start = new ProcessStartInfo("python3")
            {
                ArgumentList = { "-c", "import importlib.metadata as m, moto.server, flask; print(m.version('moto'))" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var probe = Process.Start(start)!;
            var output = await probe.StandardOutput.ReadToEndAsync();
            var error = await probe.StandardError.ReadToEndAsync();
            await probe.WaitForExitAsync();
            return probe.ExitCode == 0 ? (output.Trim(), null) : (null, $"python3 cannot import moto's server: {error.Trim().Split('\n').LastOrDefault()}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (null, $"python3 not found ({ex.Message})");
        }
    }

    public static async Task<MotoServer> StartAsync(string version, string folder)
    {
        var port = PortalProcess.FreePort();
        var start = new ProcessStartInfo("python3")
        {
            ArgumentList = { "-m", "moto.server", "-H", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["DOCKER_HOST"] = $"unix://{Path.Combine(folder, "no-docker-here.sock")}",
                ["PYTHONUNBUFFERED"] = "1",
            },
        };

        // moto writes a line per request to stderr; it is drained (and dropped) so that the pipe never fills.
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new MotoServer(process, new Uri($"http://127.0.0.1:{port}"), version);

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"moto's server exited with {process.ExitCode} while starting.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                break;
            }
            catch (SocketException) when (waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }

        return server;
    }

    /// <summary>moto checks what AWS checks on create: an IAM service role that exists, a compute environment given by ARN.</summary>
    public static async Task SetUpAsync(BatchClient client)
    {
        var role = await client.QueryProtocolAsync("iam", new Dictionary<string, string>
        {
            ["Action"] = "CreateRole",
            ["Version"] = "2010-05-08",
            ["RoleName"] = "bench-batch-service",
            ["AssumeRolePolicyDocument"] = "{}",
        });
        if (role != 200)
        {
            throw new InvalidOperationException($"moto's IAM CreateRole answered {role}.");
        }

        await client.CallAsync("createcomputeenvironment", new
        {
            computeEnvironmentName = "bench-ce",
            type = "UNMANAGED",
            state = "ENABLED",
            serviceRole = $"arn:aws:iam::{Account}:role/bench-batch-service",
        });
        await client.CallAsync("createjobqueue", new
        {
            jobQueueName = Queue,
            state = "ENABLED",
            priority = 1,
            computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = $"arn:aws:batch:us-east-1:{Account}:compute-environment/bench-ce" } },
        });
        await client.CallAsync("registerjobdefinition", Setup.DefinitionBody(Definition));
    }

    /// <summary>The CPU time (user + system) moto's server has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>The server's resident memory in MiB (VmRSS).</summary>
    public double RssMiB()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
