using BatchPortal.Engine.Access;
using BatchPortal.Portal.Components.Pages.Audit;
using BatchPortal.Portal.Components.Pages.ComputeEnvironments;
using BatchPortal.Portal.Components.Pages.Users;
using Bunit;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components.Pages.Access;

/// <summary>The pages of sign-in: a user's keys, the audit trail, and buttons shown by role.</summary>
public class AccessPagesTests
{
    private static readonly Actor Admin = new("tester", Role.Admin, ActorVia.Console);

    [Fact]
    public async Task UserPage_ShowsANewKeysSecretOnce_AndListsTheKey()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var users = ctx.Engine.GetRequiredService<UserService>();
        EngineOk(await users.CreateAsync("uma", "uma-password-1", Role.Operator, Admin));

        var cut = ctx.Bunit.Render<UserDetail>(p => p.Add(x => x.UserName, "uma"));
        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll("[data-testid=create-key]")));
        cut.InputLabelled("What the key is for (optional)").Change("laptop");
        await cut.InvokeAsync(() => cut.Find("[data-testid=create-key]").Click());

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=key-row]")));
        var keyId = cut.Find("[data-testid=new-key-id]").TextContent;
        var secret = cut.Find("[data-testid=new-key-secret]").TextContent;
        var credential = await users.CredentialAsync(keyId);
        Assert.Equal(secret, credential!.SecretAccessKey);
        Assert.Contains("laptop", cut.Find("[data-testid=key-row]").TextContent, StringComparison.Ordinal);

        await ctx.Bunit.DisposeComponentsAsync();
        var again = ctx.Bunit.Render<UserDetail>(p => p.Add(x => x.UserName, "uma"));
        again.WaitForAssertion(() => Assert.Single(again.FindAll("[data-testid=key-row]")));
        Assert.Empty(again.FindAll("[data-testid=new-key-secret]"));
        Assert.DoesNotContain(secret, again.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserPage_OfSomeoneElse_IsOnlyAnAdmins()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var users = ctx.Engine.GetRequiredService<UserService>();
        EngineOk(await users.CreateAsync("wendy", "wendy-password", Role.Admin, Admin));
        ctx.SignIn("vic", Role.Viewer);

        var cut = ctx.Bunit.Render<UserDetail>(p => p.Add(x => x.UserName, "wendy"));

        cut.WaitForAssertion(() => Assert.Equal("Only an Admin sees another user's page.", cut.Find("[data-testid=user-missing]").TextContent.Trim()));
        Assert.Empty(cut.FindAll("[data-testid=create-key]"));
    }

    [Fact]
    public async Task AuditPage_ListsChangesNewestFirst_WithWhoAndFromWhere()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var audit = ctx.Engine.GetRequiredService<AuditTrail>();
        await audit.RecordAsync(new Actor("ops-bot", Role.Operator, ActorVia.ApiKey, "BPAKOPSBOT0000000000"), "CancelJob", "job-1", "not needed");
        await audit.RecordAsync(Admin, "DeleteJobQueue", "old-queue");

        var cut = ctx.RenderPage<AuditPage>();

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=audit-row]").Count));
        var rows = cut.FindAll("[data-testid=audit-row]");
        Assert.Equal("DeleteJobQueue", rows[0].QuerySelector("[data-testid=audit-row-action]")!.TextContent);
        Assert.Contains("API key BPAKOPSBOT0000000000", rows[1].TextContent, StringComparison.Ordinal);
        Assert.Contains("ops-bot", rows[1].TextContent, StringComparison.Ordinal);
        Assert.NotNull(rows[1].QuerySelector("a[href='/jobs/job-1']"));
    }

    [Theory]
    [InlineData(Role.Viewer, false)]
    [InlineData(Role.Operator, false)]
    [InlineData(Role.Admin, true)]
    public async Task ComputeEnvironments_ShowCreate_OnlyToAnAdmin(Role role, bool shown)
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        ctx.SignIn("someone", role);

        var cut = ctx.RenderPage<ComputeEnvironmentList>();

        cut.WaitForAssertion(() => Assert.Equal(shown, cut.FindAll("[data-testid=create-ce]").Count == 1));
    }

    [Fact]
    public async Task JobPage_SaysWhoSubmittedTheJob_AndFromWhere()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await new BatchPortal.Portal.Tests.Components.Pages.Jobs.BoardData(ctx).QueueAsync("q");
        var job = EngineOk(await ctx.Engine.GetRequiredService<BatchPortal.Engine.Jobs.JobService>().SubmitAsync(
            new BatchPortal.Engine.Jobs.SubmitJobRequest { JobName = "by-key", JobQueue = "q", JobDefinition = "def" },
            new Actor("ci-bot", Role.Operator, ActorVia.ApiKey, "BPAKCIBOT00000000000")));

        var cut = ctx.Bunit.Render(builder =>
        {
            builder.OpenComponent<MudBlazor.MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<BatchPortal.Portal.Components.Pages.Jobs.JobDetail>(1);
            builder.AddAttribute(2, "JobId", job.Id);
            builder.CloseComponent();
        });

        cut.WaitForAssertion(() => Assert.Equal("ci-bot (API key BPAKCIBOT00000000000)", cut.Find("[data-testid=submitted-by]").TextContent));
    }

    private static T EngineOk<T>(BatchPortal.Engine.Domain.Result<T> result)
    {
        Assert.Null(result.Error);
        return result.Value!;
    }
}
