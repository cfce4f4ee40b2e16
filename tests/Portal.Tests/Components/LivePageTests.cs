using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Portal.Components.Shared;
using Bunit;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components;

/// <summary>Live pages reload on their own time: a writer that publishes a change never waits for an open page.</summary>
public sealed class LivePageTests
{
    [Fact]
    public async Task Publish_Returns_WhileAnOpenPageIsStillReloading()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<SlowPage>();
        var page = cut.FindComponent<SlowPage>().Instance;
        var events = ctx.Engine.GetRequiredService<IJobEventPublisher>();
        page.Block();

        await events.PublishAsync(new JobStatusChanged("j", "job", "q", JobStatus.Runnable, JobStatus.Submitted, null, DateTimeOffset.UnixEpoch)).WaitAsync(TimeSpan.FromSeconds(5));
        await page.Reloading.WaitAsync(TimeSpan.FromSeconds(5));

        // The page is held in the middle of its reload; a writer's next change is published all the same.
        await events.PublishAsync(new JobStatusChanged("j", "job", "q", JobStatus.Starting, JobStatus.Runnable, null, DateTimeOffset.UnixEpoch)).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, page.Loads); // the first load, and the reload that is held
        page.Release();

        // The change that came during the held reload is not lost: one more reload follows.
        Bunit.RenderedComponentWaitForHelperExtensions.WaitForAssertion(cut, () => Assert.Equal(3, page.Loads), TimeSpan.FromSeconds(5));
    }

    /// <summary>A live page whose reloads can be held, to see who waits for them.</summary>
    public sealed class SlowPage : LiveJobsPage
    {
        private TaskCompletionSource _gate = Open();
        private readonly TaskCompletionSource _reloading = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Loads { get; private set; }

        public Task Reloading => _reloading.Task;

        public void Block() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        protected override async Task LoadAsync()
        {
            Loads++;
            if (Loads > 1)
            {
                _reloading.TrySetResult();
                await _gate.Task;
            }
        }

        private static TaskCompletionSource Open()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
