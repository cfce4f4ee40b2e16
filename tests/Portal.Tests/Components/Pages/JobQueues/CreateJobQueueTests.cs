using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using BatchPortal.Portal.Components.Pages.JobQueues;
using Bunit;
using Bunit.Rendering;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components.Pages.JobQueues;

public class CreateJobQueueTests
{
    private const string Select = "[data-testid=ce-select]";

    [Fact]
    public async Task Create_ShowsComputeEnvironmentErrorAndSavesNothing_WhenNoneIsConnected()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-a");
        var cut = ctx.RenderPage<CreateJobQueue>();
        cut.Find("#queue-name").Input("q-empty");

        await cut.ClickCreateAsync();

        Assert.Contains("Connect at least one compute environment.", cut.FieldText(Select), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid(Select));
        Assert.Empty(await ctx.JobQueues.ListAsync());
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Select_ListsOnlyValidEnvironments_WhenSomeAreInvalid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-valid", "ce-invalid", "ce-disabled");
        await ctx.ComputeEnvironments.SetStateAsync("ce-disabled", ResourceState.Disabled);
        await SetStatusAsync(ctx, "ce-invalid", ResourceStatus.Invalid);
        var cut = ctx.RenderPage<CreateJobQueue>();

        var options = WaitForOptions(cut);

        Assert.Equal(["ce-disabled (DISABLED, max 4 vCPUs)", "ce-valid (ENABLED, max 4 vCPUs)"], options);
    }

    [Fact]
    public async Task Select_OffersOnlyUnconnectedEnvironmentsAndHidesAtThree_WhenEnvironmentsAreConnected()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-a", "ce-b", "ce-c", "ce-d");
        var cut = ctx.RenderPage<CreateJobQueue>();
        WaitForOptions(cut);

        cut.Pick(Select, "ce-b");
        cut.Pick(Select, "ce-d");

        Assert.Equal(["ce-a", "ce-c"], cut.OpenSelect(Select).Select(o => o.Split(' ')[0]));

        cut.Pick(Select, "ce-a");

        Assert.Equal(["ce-b", "ce-d", "ce-a"], ConnectedRows(cut));
        Assert.Empty(cut.FindAll(Select));
    }

    [Fact]
    public async Task Remove_ShowsSelectAgain_WhenThreeWereConnected()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-a", "ce-b", "ce-c");
        var cut = ctx.RenderPage<CreateJobQueue>();
        WaitForOptions(cut);
        cut.Pick(Select, "ce-a");
        cut.Pick(Select, "ce-b");
        cut.Pick(Select, "ce-c");

        cut.Find("[aria-label='Remove ce-b']").Click();

        Assert.Equal(["ce-a", "ce-c"], ConnectedRows(cut));
        Assert.Equal(["ce-b"], cut.OpenSelect(Select).Select(o => o.Split(' ')[0]));
    }

    [Fact]
    public async Task MoveUpAndDown_ReorderComputeEnvironmentOrder_WhenClicked()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-a", "ce-b", "ce-c");
        var cut = ctx.RenderPage<CreateJobQueue>();
        WaitForOptions(cut);
        cut.Pick(Select, "ce-a");
        cut.Pick(Select, "ce-b");
        cut.Pick(Select, "ce-c");
        Assert.True(cut.Find("[aria-label='Move ce-a up']").HasAttribute("disabled"));
        Assert.True(cut.Find("[aria-label='Move ce-c down']").HasAttribute("disabled"));

        cut.Find("[aria-label='Move ce-c up']").Click();

        Assert.Equal(["ce-a", "ce-c", "ce-b"], Order(cut));

        cut.Find("[aria-label='Move ce-a down']").Click();

        Assert.Equal(["ce-c", "ce-a", "ce-b"], Order(cut));
        Assert.Equal(["ce-c", "ce-a", "ce-b"], ConnectedRows(cut));
        Assert.Equal([1, 2, 3], cut.FindComponent<CreateJobQueue>().Instance.ToRequest().ComputeEnvironmentOrder.Select(o => o.Order));
    }

    [Fact]
    public async Task Create_SavesQueueAndNavigatesToIt_WhenFormIsValid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-a", "ce-b");
        var cut = ctx.RenderPage<CreateJobQueue>();
        WaitForOptions(cut);
        cut.Find("#queue-name").Input("q-one");
        cut.Find("#queue-priority").Change("10");
        cut.Pick(Select, "ce-b");
        cut.Pick(Select, "ce-a");

        await cut.ClickCreateAsync();

        Assert.Equal("/job-queues/q-one", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = Assert.Single(await ctx.JobQueues.ListAsync());
        Assert.Equal("q-one", saved.Name);
        Assert.Equal(10, saved.Priority);
        Assert.Equal(ResourceState.Enabled, saved.State);
        Assert.Equal([(1, "ce-b"), (2, "ce-a")], saved.ComputeEnvironmentOrder.OrderBy(o => o.Order).Select(o => (o.Order, o.ComputeEnvironment)));
    }

    [Fact]
    public async Task Create_ShowsAlreadyExistsErrorInline_WhenNameIsTaken()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentsAsync(ctx, "ce-a");
        var first = await ctx.JobQueues.CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = "q-taken",
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = "ce-a" }],
        });
        Assert.Null(first.Error);
        var cut = ctx.RenderPage<CreateJobQueue>();
        WaitForOptions(cut);
        cut.Find("#queue-name").Input("q-taken");
        cut.Pick(Select, "ce-a");

        await cut.ClickCreateAsync();

        Assert.Contains("A job queue named q-taken already exists.", cut.FieldText("#queue-name"), StringComparison.Ordinal);
        Assert.Single(await ctx.JobQueues.ListAsync());
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    /// <summary>The page lists environments after its first render: opens the select and waits for them.</summary>
    private static IReadOnlyList<string> WaitForOptions(IRenderedComponent<ContainerFragment> cut)
    {
        IReadOnlyList<string> options = [];
        cut.WaitForAssertion(() => Assert.NotEmpty(options = cut.OpenSelect(Select)));
        return options;
    }

    private static List<string> ConnectedRows(IRenderedComponent<ContainerFragment> cut) =>
        [.. cut.FindAll("[data-testid=connected-ce]").Select(row => row.QuerySelectorAll("p")[1].TextContent.Trim())];

    private static List<string?> Order(IRenderedComponent<ContainerFragment> cut) =>
        [.. cut.FindComponent<CreateJobQueue>().Instance.ToRequest().ComputeEnvironmentOrder.OrderBy(o => o.Order).Select(o => o.ComputeEnvironment)];

    private static async Task CreateEnvironmentsAsync(PortalTestContext ctx, params string[] names)
    {
        foreach (var name in names)
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

    // The engine creates every environment VALID; an INVALID one only arises from outside (e.g. an unreachable endpoint).
    private static async Task SetStatusAsync(PortalTestContext ctx, string name, ResourceStatus status)
    {
        var dbFactory = ctx.Engine.GetRequiredService<IDbContextFactory<BatchDbContext>>();
        await using var db = await dbFactory.CreateDbContextAsync();
        var ce = await db.ComputeEnvironments.SingleAsync(c => c.Name == name);
        ce.Status = status;
        await db.SaveChangesAsync();
    }
}
