using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Pages.JobQueues;
using Bunit;
using Bunit.Rendering;

namespace BatchPortal.Portal.Tests.Components.Pages.JobQueues;

/// <summary>The wizard's job state time limit actions and tags.</summary>
public class CreateJobQueueDepthTests
{
    private const string Select = "[data-testid=ce-select]";

    [Fact]
    public async Task Create_ShowsMaxTimeErrorInlineAndSavesNothing_WhenActionWaitsOnly300Seconds()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-a");
        var cut = OpenWizard(ctx, "q-short");
        cut.Find("[data-testid=add-time-limit]").Click();
        var maxTime = "#" + cut.InputLabelled("Max time in RUNNABLE (s)").Id;
        cut.Find(maxTime).Change("300");

        await cut.ClickCreateAsync();

        Assert.Contains("Max time must be from 600 to 86400 seconds, not 300.", cut.FieldText(maxTime), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid(maxTime));
        Assert.Empty(await ctx.JobQueues.ListAsync());
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Create_SavesTimeLimitActionAndTag_WhenValid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-a");
        var cut = OpenWizard(ctx, "q-full");
        cut.Find("#queue-priority").Change("7");
        cut.Find("[data-testid=add-time-limit]").Click();
        cut.Pick("[role=combobox][aria-label='Reason']", "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY");
        cut.InputLabelled("Max time in RUNNABLE (s)").Change("900");
        cut.Button("Add tag").Click();
        cut.Find("[data-testid=queue-tags] input[aria-label='Key 1']").Change("team");
        cut.Find("[data-testid=queue-tags] input[aria-label='Value 1']").Change("batch");

        await cut.ClickCreateAsync();

        Assert.Equal("/job-queues/q-full", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = await ctx.JobQueues.GetAsync("q-full");
        Assert.NotNull(saved);
        Assert.Equal(7, saved.Priority);
        Assert.Equal(["ce-a"], saved.OrderedComputeEnvironments);
        var action = Assert.Single(saved.JobStateTimeLimitActions);
        Assert.Equal(
            ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", 900, "RUNNABLE", "CANCEL"),
            (action.Reason, action.MaxTimeSeconds, action.State, action.Action));
        Assert.Equal("batch", saved.Tags.GetValueOrDefault("team"));
    }

    private static IRenderedComponent<ContainerFragment> OpenWizard(PortalTestContext ctx, string name)
    {
        var cut = ctx.RenderPage<CreateJobQueue>();
        cut.WaitForAssertion(() => Assert.NotEmpty(cut.OpenSelect(Select)));
        cut.Find("#queue-name").Input(name);
        cut.Pick(Select, "ce-a");
        return cut;
    }

    private static async Task CreateEnvironmentAsync(PortalTestContext ctx, string name)
    {
        var result = await ctx.ComputeEnvironments.CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = name,
            Type = "UNMANAGED",
            UnmanagedvCpus = 4,
        });
        Assert.Null(result.Error);
    }
}
