using BatchPortal.Portal.Components.Pages.ComputeEnvironments;
using Bunit;

namespace BatchPortal.Portal.Tests.Components.Pages.ComputeEnvironments;

/// <summary>The wizard's deeper settings: allocation strategy and tags.</summary>
public class CreateComputeEnvironmentDepthTests
{
    private const string Strategy = "[role=combobox][aria-label='Allocation strategy']";

    [Fact]
    public async Task Create_ShowsAllocationStrategyErrorAndSavesNothing_WhenSpotStrategyIsUsedOnDemand()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-spot-strategy");
        cut.Pick(Strategy, "SPOT_CAPACITY_OPTIMIZED");
        Assert.Equal("SPOT_CAPACITY_OPTIMIZED", cut.FindComponent<CreateComputeEnvironment>().Instance.ToRequest().ComputeResources!.AllocationStrategy);

        await cut.ClickCreateAsync();

        Assert.Contains(
            "Allocation strategy SPOT_CAPACITY_OPTIMIZED is for Spot; On-Demand uses BEST_FIT or BEST_FIT_PROGRESSIVE.",
            cut.FieldText(Strategy),
            StringComparison.Ordinal);
        Assert.True(cut.IsInvalid(Strategy));
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Create_SavesSpotStrategy_WhenProvisioningModelIsSpot()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-spot");
        cut.Radio("Spot").Click();
        cut.Pick(Strategy, "SPOT_CAPACITY_OPTIMIZED");

        await cut.ClickCreateAsync();

        var saved = await ctx.ComputeEnvironments.GetAsync("ce-spot");
        Assert.NotNull(saved);
        Assert.Equal(("SPOT", "SPOT_CAPACITY_OPTIMIZED"), (saved.ComputeResources!.Type, saved.ComputeResources.AllocationStrategy));
    }

    [Fact]
    public async Task Create_RefusesAwsTagKeyInlineAndSavesNothing_WhenKeyStartsWithAws()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-tags");
        cut.Button("Add tag").Click();
        cut.Find("[data-testid=ce-tags] input[aria-label='Key 1']").Change("aws:owner");
        cut.Find("[data-testid=ce-tags] input[aria-label='Value 1']").Change("me");

        await cut.ClickCreateAsync();

        Assert.Contains(
            "Tag key 'aws:owner' may not start with 'aws:', which AWS reserves.",
            cut.Find("[data-testid=ce-tags]").TextContent,
            StringComparison.Ordinal);
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
    }

    [Fact]
    public async Task Create_SavesTags_WhenKeysAreAllowed()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-tagged");
        cut.Radio("Unmanaged").Click();
        cut.Find("#ce-capacity").Change("4");
        cut.Button("Add tag").Click();
        cut.Find("[data-testid=ce-tags] input[aria-label='Key 1']").Change("team");
        cut.Find("[data-testid=ce-tags] input[aria-label='Value 1']").Change("batch");
        cut.Button("Add tag").Click();
        cut.Find("[data-testid=ce-tags] input[aria-label='Key 2']").Change("env");
        cut.Find("[data-testid=ce-tags] input[aria-label='Value 2']").Change("test");

        await cut.ClickCreateAsync();

        Assert.Equal("/compute-environments/ce-tagged", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = await ctx.ComputeEnvironments.GetAsync("ce-tagged");
        Assert.NotNull(saved);
        Assert.Equal(
            [("env", "test"), ("team", "batch")],
            saved.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value)));
    }
}
