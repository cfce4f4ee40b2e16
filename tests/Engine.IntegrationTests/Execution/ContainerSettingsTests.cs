using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary>The job definition's container settings as Docker applies them: volumes, ulimits, user, privileged, read-only root.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class ContainerSettingsTests(EngineHostFixture engine) : IDisposable
{
    // CAP_SYS_ADMIN: Docker gives it to privileged containers only.
    private const int CapSysAdmin = 21;

    private readonly string _hostFolder = Directory.CreateTempSubdirectory("batchportal-volume-").FullName;

    public void Dispose() => Directory.Delete(_hostFolder, recursive: true);

    private async Task<(Job Job, IReadOnlyList<string> Lines)> RunAsync(string definition, string[] command, Action<ContainerProperties> configure)
    {
        await engine.RegisterAsync(definition, command, r => configure(r.ContainerProperties!));
        var job = await engine.WaitForFinalAsync((await engine.SubmitAsync(definition)).Id);
        return (job, await engine.LogLinesAsync(job.Id, 1));
    }

    private static ulong CapEff(IReadOnlyList<string> lines) =>
        ulong.Parse(lines.Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal))["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Container_SeesAHostFolderReadOnly_WhenAMountPointSaysReadOnly()
    {
        await File.WriteAllTextAsync(Path.Combine(_hostFolder, "input.txt"), "from the host\n");

        var (job, lines) = await RunAsync(
            "volume-ro",
            ["sh", "-c", "cat /data/input.txt; touch /data/new 2>/dev/null && echo data-writable || echo data-read-only"],
            c =>
            {
                c.Volumes = [new Volume { Name = "data", Host = new Host { SourcePath = _hostFolder } }];
                c.MountPoints = [new MountPoint { SourceVolume = "data", ContainerPath = "/data", ReadOnly = true }];
            });

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(["from the host", "data-read-only"], lines);
        Assert.False(File.Exists(Path.Combine(_hostFolder, "new")));
    }

    [Fact]
    public async Task Container_WritesToAHostFolder_WhenTheMountPointIsWritable()
    {
        var (job, _) = await RunAsync(
            "volume-rw",
            ["sh", "-c", "echo written > /out/result.txt"],
            c =>
            {
                c.Volumes = [new Volume { Name = "out", Host = new Host { SourcePath = _hostFolder } }];
                c.MountPoints = [new MountPoint { SourceVolume = "out", ContainerPath = "/out" }];
            });

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal("written\n", await File.ReadAllTextAsync(Path.Combine(_hostFolder, "result.txt")));
    }

    [Fact]
    public async Task Container_CannotGainPrivileges_AndHasAProcessLimit()
    {
        // Issue #12: no-new-privileges (setuid binaries give nothing) and a PID limit (a fork bomb stops in the job).
        var (job, lines) = await RunAsync(
            "hardened",
            ["sh", "-c", "grep NoNewPrivs /proc/self/status; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"],
            _ => { });

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal("1", lines.Single(l => l.StartsWith("NoNewPrivs:", StringComparison.Ordinal))["NoNewPrivs:".Length..].Trim());
        Assert.Equal(new DockerOptions().PidsLimit.ToString(CultureInfo.InvariantCulture), lines[^1]);
    }

    [Fact]
    public async Task Container_HasTheDefinitionsUlimits()
    {
        var (job, lines) = await RunAsync(
            "ulimits",
            ["sh", "-c", "ulimit -n; ulimit -Hn"],
            c => c.Ulimits = [new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 2048 }]);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(["1024", "2048"], lines);
    }

    [Fact]
    public async Task Container_RunsAsTheDefinitionsUser()
    {
        var (job, lines) = await RunAsync("user-nobody", ["id", "-u"], c => c.User = "65534");

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(["65534"], lines);
    }

    [Fact]
    public async Task Container_CannotWriteItsRootFilesystem_WhenItIsReadOnly()
    {
        var (job, lines) = await RunAsync(
            "readonly-root",
            ["sh", "-c", "touch /written 2>/dev/null && echo root-writable || echo root-read-only"],
            c => c.ReadonlyRootFilesystem = true);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(["root-read-only"], lines);
    }

    [Fact]
    public async Task Container_CanWriteItsRootFilesystem_ByDefault()
    {
        var (job, lines) = await RunAsync(
            "writable-root",
            ["sh", "-c", "touch /written 2>/dev/null && echo root-writable || echo root-read-only"],
            _ => { });

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(["root-writable"], lines);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(false)]
    public async Task Container_IsNotPrivileged_UnlessTheDefinitionSaysSo(bool? privileged)
    {
        var (job, lines) = await RunAsync($"caps-{privileged?.ToString() ?? "unset"}".ToLowerInvariant(), ["cat", "/proc/self/status"], c => c.Privileged = privileged);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0UL, CapEff(lines) & (1UL << CapSysAdmin));
    }

    [Fact]
    public async Task Container_IsPrivileged_WhenTheDefinitionSaysSo()
    {
        var (job, lines) = await RunAsync("caps-privileged", ["cat", "/proc/self/status"], c => c.Privileged = true);

        // A Docker engine that itself runs without every capability (as in a container, like this machine's) refuses to
        // start privileged containers: then the refusal is what shows that the engine asked for it.
        if (job.Status == JobStatus.Succeeded)
        {
            Assert.NotEqual(0UL, CapEff(lines) & (1UL << CapSysAdmin));
        }
        else
        {
            Assert.Equal(RunJob.TaskFailedToStart, job.StatusReason);
            Assert.Contains("caps", job.ContainerReason, StringComparison.Ordinal);
        }

        await engine.WaitForNoContainersAsync(job.Id);
    }
}
