using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Pages.ComputeEnvironments;
using Bunit;

namespace BatchPortal.Portal.Tests.Components.Pages.ComputeEnvironments;

public class CreateComputeEnvironmentTests
{
    [Fact]
    public async Task Render_ShowsConsoleDefaults_WhenOpened()
    {
        await using var ctx = await PortalTestContext.CreateAsync();

        var cut = ctx.RenderPage<CreateComputeEnvironment>();

        Assert.True(cut.Radio("Managed").HasAttribute("checked"));
        Assert.False(cut.Radio("Unmanaged").HasAttribute("checked"));
        Assert.True(cut.Radio("On-Demand").HasAttribute("checked"));
        Assert.False(cut.HasLabel("Maximum Price"));
        Assert.Equal("0", cut.ValueOf("#ce-min"));
        Assert.Equal("0", cut.ValueOf("#ce-desired"));
        Assert.Equal("256", cut.ValueOf("#ce-max"));
        Assert.Equal("optimal", cut.InputLabelled("Allowed instance types").GetAttribute("value"));
        Assert.True(cut.Find("[data-testid=ce-enabled]").HasAttribute("checked"));
        Assert.Empty(cut.FindAll("#ce-capacity"));

        var request = cut.FindComponent<CreateComputeEnvironment>().Instance.ToRequest();
        Assert.Equal("MANAGED", request.Type);
        Assert.Equal("ENABLED", request.State);
        Assert.Equal("EC2", request.ComputeResources!.Type);
        Assert.Equal((0, 0, 256), (request.ComputeResources.MinvCpus, request.ComputeResources.DesiredvCpus, request.ComputeResources.MaxvCpus));
        Assert.Equal(["optimal"], request.ComputeResources.InstanceTypes);
    }

    [Fact]
    public async Task Create_ShowsNameErrorAndSavesNothing_WhenNameIsEmpty()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        Assert.DoesNotContain("is required", cut.FieldText("#ce-name"), StringComparison.Ordinal);

        await cut.ClickCreateAsync();

        Assert.Contains("Compute environment name is required.", cut.FieldText("#ce-name"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#ce-name"));
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Create_ClearsNameError_WhenNameIsTypedAfterFailedSubmit()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        await cut.ClickCreateAsync();

        cut.Find("#ce-name").Input("ce-fixed");

        Assert.DoesNotContain("is required", cut.FieldText("#ce-name"), StringComparison.Ordinal);
        Assert.False(cut.IsInvalid("#ce-name"));
    }

    [Fact]
    public async Task Create_ShowsMinimumError_WhenMinimumExceedsMaximum()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-min-max");
        cut.Find("#ce-min").Change("10");
        cut.Find("#ce-desired").Change("10");
        cut.Find("#ce-max").Change("5");

        await cut.ClickCreateAsync();

        Assert.Contains("Minimum vCPUs (10) cannot be more than Maximum vCPUs (5).", cut.FieldText("#ce-min"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#ce-min"));
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
    }

    [Theory]
    [InlineData("2", "1", "8", "Desired vCPUs (1) cannot be less than Minimum vCPUs (2).")]
    [InlineData("0", "9", "8", "Desired vCPUs (9) cannot be more than Maximum vCPUs (8).")]
    public async Task Create_ShowsDesiredError_WhenDesiredIsOutsideMinimumAndMaximum(string min, string desired, string max, string error)
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-desired");
        cut.Find("#ce-min").Change(min);
        cut.Find("#ce-desired").Change(desired);
        cut.Find("#ce-max").Change(max);

        await cut.ClickCreateAsync();

        Assert.Contains(error, cut.FieldText("#ce-desired"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#ce-desired"));
        Assert.False(cut.IsInvalid("#ce-min"));
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
    }

    [Fact]
    public async Task Unmanaged_ShowsCapacityInsteadOfManagedFields_WhenSelected()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();

        cut.Radio("Unmanaged").Click();

        Assert.NotEmpty(cut.FindAll("#ce-capacity"));
        Assert.Empty(cut.FindAll("#ce-min"));
        Assert.Empty(cut.FindAll("#ce-max"));
        Assert.False(cut.HasLabel("Instance role"));
        Assert.Null(cut.FindComponent<CreateComputeEnvironment>().Instance.ToRequest().ComputeResources);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("")]
    public async Task Create_ShowsCapacityError_WhenUnmanagedCapacityIsNotPositive(string capacity)
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-unmanaged");
        cut.Radio("Unmanaged").Click();
        cut.Find("#ce-capacity").Change(capacity);

        await cut.ClickCreateAsync();

        Assert.Contains("vCPUs must be greater than 0", cut.FieldText("#ce-capacity"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#ce-capacity"));
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
    }

    [Fact]
    public async Task Create_SavesUnmanagedEnvironment_WhenCapacityIsPositive()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-unmanaged");
        cut.Radio("Unmanaged").Click();
        cut.Find("#ce-capacity").Change("4");

        await cut.ClickCreateAsync();

        Assert.Equal("/compute-environments/ce-unmanaged", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = await ctx.ComputeEnvironments.GetAsync("ce-unmanaged");
        Assert.NotNull(saved);
        Assert.Equal(ComputeEnvironmentType.Unmanaged, saved.Type);
        Assert.Equal(4, saved.UnmanagedvCpus);
        Assert.Null(saved.ComputeResources);
    }

    [Fact]
    public async Task Spot_ShowsMaximumPriceField_WhenSelected()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();

        cut.Radio("Spot").Click();

        Assert.True(cut.HasLabel("Maximum Price"));
        Assert.True(cut.Radio("Spot").HasAttribute("checked"));

        cut.Radio("On-Demand").Click();

        Assert.False(cut.HasLabel("Maximum Price"));
    }

    [Fact]
    public async Task Create_ShowsMaximumPriceError_WhenPercentageIsOver100()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-spot");
        cut.Radio("Spot").Click();
        cut.InputLabelled("Maximum Price").Change("150");

        await cut.ClickCreateAsync();

        var id = "#" + cut.InputLabelled("Maximum Price").Id;
        Assert.Contains("Maximum price must be a percentage from 0 to 100, not 150.", cut.FieldText(id), StringComparison.Ordinal);
        Assert.Empty(await ctx.ComputeEnvironments.ListAsync());
    }

    [Fact]
    public async Task Create_SavesEnvironmentAndNavigatesToIt_WhenFormIsValid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-one");
        cut.Radio("Spot").Click();
        cut.InputLabelled("Maximum Price").Change("60");
        var wizard = cut.FindComponent<CreateComputeEnvironment>();
        await wizard.InvokeAsync(() => wizard.Instance.InstanceTypes = ["m4.large", "c4.xlarge"]);
        cut.Find("#ce-min").Change("1");
        cut.Find("#ce-desired").Change("2");
        cut.Find("#ce-max").Change("16");
        cut.Find("[data-testid=ce-enabled]").Change(false);

        await cut.ClickCreateAsync();

        Assert.Equal("/compute-environments/ce-one", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = Assert.Single(await ctx.ComputeEnvironments.ListAsync());
        Assert.Equal("ce-one", saved.Name);
        Assert.Equal(ComputeEnvironmentType.Managed, saved.Type);
        Assert.Equal(ResourceState.Disabled, saved.State);
        Assert.Equal(ResourceStatus.Valid, saved.Status);
        Assert.Equal("AWSBatchServiceRole", saved.ServiceRole);
        var resources = saved.ComputeResources!;
        Assert.Equal("SPOT", resources.Type);
        Assert.Equal((1, 2, 16), (resources.MinvCpus, resources.DesiredvCpus, resources.MaxvCpus));
        Assert.Equal(60, resources.BidPercentage);
        Assert.Equal(["m4.large", "c4.xlarge"], resources.InstanceTypes);
        Assert.Equal("ecsInstanceRole", resources.InstanceRole);
    }

    [Fact]
    public async Task Create_ShowsAlreadyExistsErrorInline_WhenNameIsTaken()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var existing = await ctx.ComputeEnvironments.CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = "ce-taken",
            Type = "UNMANAGED",
            UnmanagedvCpus = 2,
        });
        Assert.Null(existing.Error);
        var cut = ctx.RenderPage<CreateComputeEnvironment>();
        cut.Find("#ce-name").Input("ce-taken");

        await cut.ClickCreateAsync();

        Assert.Contains("A compute environment named ce-taken already exists.", cut.FieldText("#ce-name"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#ce-name"));
        var only = Assert.Single(await ctx.ComputeEnvironments.ListAsync());
        Assert.Equal(ComputeEnvironmentType.Unmanaged, only.Type);
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
        Assert.Null(cut.Find("[data-testid=create]").GetAttribute("disabled"));
    }

    [Fact]
    public async Task MaxVcpusAboveTheDockerHostsCpus_IsWarnedAbout_NamingBoth()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateComputeEnvironment>();

        cut.Find("#ce-max").Change("16");

        cut.WaitForAssertion(() => Assert.Contains(
            "Maximum vCPUs (16) is above the 4 CPUs the Docker host has",
            cut.Find("[data-testid=host-capacity-warning]").TextContent,
            StringComparison.Ordinal));
        cut.Find("#ce-max").Change("4");
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=host-capacity-warning]")));
    }

    [Fact]
    public async Task AwsOnlyFields_AreMarkedAsDoingNothingHere_AndNothingOffersToCreateARole()
    {
        await using var ctx = await PortalTestContext.CreateAsync();

        var cut = ctx.RenderPage<CreateComputeEnvironment>();

        var panel = cut.Find("[data-testid=aws-only]");
        Assert.Contains("AWS only", panel.TextContent, StringComparison.Ordinal);
        Assert.Contains("no effect here", panel.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("create it for you", cut.Markup, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Create new role", cut.Markup, StringComparison.Ordinal);
    }
}
