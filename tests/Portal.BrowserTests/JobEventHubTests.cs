using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>The hub for outside watchers, driven by the .NET SignalR client against the running portal.</summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Docker")]
public sealed class JobEventHubTests(BrowserFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task JobStatusChanged_ReachesAQueueWatcher_ForEveryMoveToSucceeded()
    {
        var seed = new Seed(fixture.Portal.Services);
        await seed.CreateQueueAsync();
        var definition = await seed.DefinitionAsync("hub", "true");
        await using var watcher = await ConnectAsync();
        var received = new ConcurrentQueue<Message>();
        var done = new TaskCompletionSource();
        watcher.On<Message>("JobStatusChanged", m =>
        {
            received.Enqueue(m);
            if (m.Status == "SUCCEEDED")
            {
                done.TrySetResult();
            }
        });
        await watcher.InvokeAsync("WatchQueue", seed.Queue);

        var job = await seed.SubmitAsync(definition, $"hub-{seed.Suffix}");
        await done.Task.WaitAsync(Deadline);

        var mine = received.Where(m => m.JobId == job.Id).ToList();
        Assert.Equal(["SUBMITTED", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], mine.Select(m => m.Status));
        Assert.All(mine, m => Assert.Equal(seed.Queue, m.JobQueue));
        Assert.All(mine, m => Assert.Equal($"hub-{seed.Suffix}", m.JobName));
        Assert.Equal("Essential container in task exited", mine[^1].StatusReason);
        Assert.Equal("RUNNING", mine[^1].PreviousStatus);
        Assert.True(mine.Zip(mine.Skip(1)).All(p => p.First.At <= p.Second.At), "times go backwards");
        Assert.DoesNotContain(received, m => m.JobQueue != seed.Queue);
    }

    [Fact]
    public async Task WatchJob_NarrowsTheStream_ToThatJob()
    {
        var seed = new Seed(fixture.Portal.Services);
        await seed.CreateQueueAsync();
        var definition = await seed.DefinitionAsync("narrow", "true");
        var watched = await seed.SubmitAsync(definition, $"watched-{seed.Suffix}");
        await using var watcher = await ConnectAsync();
        var received = new ConcurrentQueue<Message>();
        var done = new TaskCompletionSource();
        watcher.On<Message>("JobStatusChanged", m =>
        {
            received.Enqueue(m);
            if (m.JobId == watched.Id && m.Status is "SUCCEEDED" or "FAILED")
            {
                done.TrySetResult();
            }
        });
        await watcher.InvokeAsync("WatchJob", watched.Id);
        var other = await seed.SubmitAsync(definition, $"other-{seed.Suffix}");

        await done.Task.WaitAsync(Deadline);

        Assert.NotEmpty(received);
        Assert.All(received, m => Assert.Equal(watched.Id, m.JobId));
        Assert.DoesNotContain(received, m => m.JobId == other.Id);
    }

    private async Task<HubConnection> ConnectAsync()
    {
        var connection = new HubConnectionBuilder().WithUrl(fixture.Portal.BaseAddress.TrimEnd('/') + "/hubs/jobs").Build();
        await connection.StartAsync();
        return connection;
    }

    private sealed record Message(string JobId, string JobName, string JobQueue, string Status, string? PreviousStatus, string? StatusReason, long At);
}
