using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Portal.Components.Shared;
using BatchPortal.Portal.Tests.Components.Pages.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace BatchPortal.Portal.Tests.Components;

public sealed class SharedReadsTests
{
    [Fact]
    public async Task GetAsync_SharesOneReadPerKey_UntilAJobChanges()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var reads = new SharedReads(ctx.Engine.GetRequiredService<JobEventBroadcaster>(), new FakeTimeProvider());
        var calls = 0;
        Task<int> Read() => Task.FromResult(Interlocked.Increment(ref calls));

        var first = await reads.GetAsync("jobs q1", Read);
        var second = await reads.GetAsync("jobs q1", Read);
        var otherKey = await reads.GetAsync("jobs q2", Read);
        Assert.Equal((1, 1, 2), (first, second, otherKey));

        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        await data.JobAsync("q1", "changes-something", JobStatus.Runnable);

        Assert.Equal(3, await reads.GetAsync("jobs q1", Read));
        Assert.Equal(3, await reads.GetAsync("jobs q1", Read));
    }

    [Fact]
    public async Task GetAsync_ReadsAgain_AfterAFailureOrOnceTheReadIsOld()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var time = new FakeTimeProvider();
        var reads = new SharedReads(ctx.Engine.GetRequiredService<JobEventBroadcaster>(), time);

        await Assert.ThrowsAsync<InvalidOperationException>(() => reads.GetAsync<int>("k", () => throw new InvalidOperationException("database away")));
        Assert.Equal(1, await reads.GetAsync("k", () => Task.FromResult(1)));
        Assert.Equal(1, await reads.GetAsync("k", () => Task.FromResult(2)));

        time.Advance(SharedReads.MaxAge);

        Assert.Equal(3, await reads.GetAsync("k", () => Task.FromResult(3)));
    }
}
