using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Pages.ComputeEnvironments;
using BatchPortal.Portal.Components.Pages.JobDefinitions;
using BatchPortal.Portal.Components.Pages.JobQueues;
using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace BatchPortal.Portal.Tests.Components.Pages;

/// <summary>AWS's delete rules, as the detail pages offer and enforce them.</summary>
public class DeleteRulesTests
{
    [Fact]
    public async Task ComputeEnvironment_OffersNoDeleteAndServiceRefuses_WhenEnabled()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-on", "ENABLED");

        var cut = Render<ComputeEnvironmentDetail>(ctx, "ce-on");

        Assert.Equal("ENABLED", cut.Find("[data-testid=ce-state]").TextContent);
        Assert.DoesNotContain(Buttons(cut), b => b == "Delete");
        Assert.Contains("Disable", Buttons(cut));
        var refused = await ctx.ComputeEnvironments.DeleteAsync("ce-on");
        Assert.Equal("Cannot delete compute environment ce-on: disable it first.", refused.Error?.Message);
        Assert.NotNull(await ctx.ComputeEnvironments.GetAsync("ce-on"));
    }

    [Fact]
    public async Task ComputeEnvironment_ShowsDeleteOnceDisabled_WhenDisableIsClicked()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-toggle", "ENABLED");
        var cut = Render<ComputeEnvironmentDetail>(ctx, "ce-toggle");

        await cut.Button("Disable").ClickAsync(new MouseEventArgs());

        cut.WaitForAssertion(() => Assert.Equal("DISABLED", cut.Find("[data-testid=ce-state]").TextContent));
        Assert.Contains("Delete", Buttons(cut));
        Assert.Contains(Shown(ctx), m => m == "Compute environment ce-toggle is DISABLED.");
    }

    [Fact]
    public async Task ComputeEnvironment_RefusesDeleteNamingTheQueue_WhenDisabledButUsedByAQueue()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-used", "ENABLED");
        await CreateQueueAsync(ctx, "q-user", "ENABLED", "ce-used");
        Assert.Null((await ctx.ComputeEnvironments.SetStateAsync("ce-used", ResourceState.Disabled)).Error);
        var cut = Render<ComputeEnvironmentDetail>(ctx, "ce-used");

        await cut.ConfirmAsync(cut.Button("Delete"));

        var message = Assert.Single(Shown(ctx));
        Assert.Contains("job queue q-user", message, StringComparison.Ordinal);
        Assert.Contains("ce-used", message, StringComparison.Ordinal);
        Assert.NotNull(await ctx.ComputeEnvironments.GetAsync("ce-used"));
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task ComputeEnvironment_IsDeleted_WhenDisabledAndUnused()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-off", "DISABLED");
        var cut = Render<ComputeEnvironmentDetail>(ctx, "ce-off");

        var dialog = await cut.ConfirmAsync(cut.Button("Delete"), confirm: false);
        Assert.Contains("Delete compute environment ce-off?", dialog.TextContent, StringComparison.Ordinal);
        Assert.Contains("arn:aws:batch:us-east-1:000000000000:compute-environment/ce-off", dialog.TextContent, StringComparison.Ordinal);
        Assert.NotNull(await ctx.ComputeEnvironments.GetAsync("ce-off"));

        await cut.ConfirmAsync(cut.Button("Delete"));

        Assert.Null(await ctx.ComputeEnvironments.GetAsync("ce-off"));
        Assert.Equal("/compute-environments", new Uri(ctx.Navigation.Uri).AbsolutePath);
        Assert.Contains(Shown(ctx), m => m == "Compute environment ce-off deleted.");
    }

    [Fact]
    public async Task JobQueue_OffersNoDelete_WhenEnabled()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-a", "ENABLED");
        await CreateQueueAsync(ctx, "q-on", "ENABLED", "ce-a");

        var cut = Render<JobQueueDetail>(ctx, "q-on");

        Assert.Contains("Disable", Buttons(cut));
        Assert.DoesNotContain("Delete", Buttons(cut));
        Assert.Equal("Cannot delete job queue q-on: disable it first.", (await ctx.JobQueues.DeleteAsync("q-on")).Error?.Message);
        Assert.NotNull(await ctx.JobQueues.GetAsync("q-on"));
    }

    [Fact]
    public async Task JobQueue_IsDeleted_WhenDisabled()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await CreateEnvironmentAsync(ctx, "ce-a", "ENABLED");
        await CreateQueueAsync(ctx, "q-off", "DISABLED", "ce-a");
        var cut = Render<JobQueueDetail>(ctx, "q-off");

        var dialog = await cut.ConfirmAsync(cut.Button("Delete"), confirm: false);
        Assert.Contains("Delete job queue q-off?", dialog.TextContent, StringComparison.Ordinal);
        Assert.Contains("No job waits in it.", dialog.TextContent, StringComparison.Ordinal);
        Assert.NotNull(await ctx.JobQueues.GetAsync("q-off"));

        await cut.ConfirmAsync(cut.Button("Delete"));

        Assert.Null(await ctx.JobQueues.GetAsync("q-off"));
        Assert.Equal("/job-queues", new Uri(ctx.Navigation.Uri).AbsolutePath);
        Assert.Contains(Shown(ctx), m => m == "Job queue q-off deleted.");
    }

    [Fact]
    public async Task JobDefinition_DeregisterMarksRevisionInactive_AndNextRegistrationNeverReusesItsNumber()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await RegisterAsync(ctx, "jd-rev", "busybox:1");
        await RegisterAsync(ctx, "jd-rev", "busybox:2");
        var cut = Render<JobDefinitionDetail>(ctx, "jd-rev");
        var latest = cut.FindAll("[data-testid=revision]")[0];
        Assert.Contains("Revision 2", latest.TextContent, StringComparison.Ordinal);

        var dialog = await cut.ConfirmAsync(latest.QuerySelectorAll("button").Single(b => b.TextContent.Trim() == "Deregister"), confirm: false);
        Assert.Contains("Deregister jd-rev:2?", dialog.TextContent, StringComparison.Ordinal);
        Assert.Equal(JobDefinitionStatus.Active, (await ctx.JobDefinitions.ResolveAsync("jd-rev:2")).Value?.Status);

        await cut.ConfirmAsync(cut.FindAll("[data-testid=revision]")[0].QuerySelectorAll("button").Single(b => b.TextContent.Trim() == "Deregister"));

        Assert.Equal(JobDefinitionStatus.Inactive, (await ctx.JobDefinitions.ResolveAsync("jd-rev:2")).Value?.Status);
        Assert.Equal(JobDefinitionStatus.Active, (await ctx.JobDefinitions.ResolveAsync("jd-rev:1")).Value?.Status);
        Assert.Contains(Shown(ctx), m => m == "Revision 2 of jd-rev is INACTIVE.");
        cut.WaitForAssertion(() =>
        {
            var revisions = cut.FindAll("[data-testid=revision]");
            Assert.Contains("INACTIVE", revisions[0].TextContent, StringComparison.Ordinal);
            Assert.DoesNotContain(revisions[0].QuerySelectorAll("button"), b => b.TextContent.Trim() == "Deregister");
            Assert.Contains(revisions[1].QuerySelectorAll("button"), b => b.TextContent.Trim() == "Deregister");
        });

        var next = await RegisterAsync(ctx, "jd-rev", "busybox:3");

        Assert.Equal(3, next.Revision);
        Assert.Equal([3, 2, 1], (await ctx.JobDefinitions.RevisionsAsync("jd-rev")).Select(d => d.Revision));
        cut.WaitForAssertion(() => Assert.Contains("Revision 3", cut.FindAll("[data-testid=revision]")[0].TextContent, StringComparison.Ordinal));
    }

    private static IRenderedComponent<ContainerFragment> Render<TPage>(PortalTestContext ctx, string name)
        where TPage : IComponent =>
        ctx.Bunit.Render(builder =>
        {
            builder.OpenComponent<MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<MudDialogProvider>(1);
            builder.CloseComponent();
            builder.OpenComponent<TPage>(2);
            builder.AddAttribute(3, "Name", name);
            builder.CloseComponent();
        });

    private static List<string> Buttons(IRenderedComponent<ContainerFragment> cut) =>
        [.. cut.FindAll("button").Select(b => b.TextContent.Trim())];

    private static List<string> Shown(PortalTestContext ctx) =>
        [.. ctx.Bunit.Services.GetRequiredService<ISnackbar>().ShownSnackbars.Select(s => s.Message ?? "")];

    private static async Task CreateEnvironmentAsync(PortalTestContext ctx, string name, string state)
    {
        var result = await ctx.ComputeEnvironments.CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = name,
            Type = "UNMANAGED",
            State = state,
            UnmanagedvCpus = 4,
        });
        Assert.Null(result.Error);
    }

    private static async Task CreateQueueAsync(PortalTestContext ctx, string name, string state, string environment)
    {
        var result = await ctx.JobQueues.CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = name,
            Priority = 1,
            State = state,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = environment }],
        });
        Assert.Null(result.Error);
    }

    private static async Task<JobDefinition> RegisterAsync(PortalTestContext ctx, string name, string image)
    {
        var container = new ContainerProperties { Image = image, Command = ["true"] };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "64");
        var result = await ctx.JobDefinitions.RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = name,
            Type = "container",
            ContainerProperties = container,
        });
        Assert.Null(result.Error);
        return result.Value!;
    }
}
