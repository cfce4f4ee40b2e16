using AngleSharp.Dom;
using BatchPortal.Portal.Components.Pages.JobDefinitions;
using Bunit;
using Bunit.Rendering;

namespace BatchPortal.Portal.Tests.Components.Pages.JobDefinitions;

/// <summary>The wizard's retry conditions, security and file-system settings, tags, and its JSON view.</summary>
public class CreateJobDefinitionDepthTests
{
    [Fact]
    public async Task Create_ShowsExitCodeErrorAndRegistersNothing_WhenRetryPatternIsNotDigits()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-retry");
        cut.Find("[data-testid=add-condition]").Click();
        var exitCode = "#" + cut.InputLabelled("On exit code").Id;
        cut.Find(exitCode).Change("abc");

        await cut.ClickCreateAsync();

        Assert.Contains("Condition 1: exit code pattern 'abc' may contain only digits and end with *.", cut.FieldText(exitCode), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid(exitCode));
        await AssertNothingRegisteredAsync(ctx);
    }

    [Fact]
    public async Task Create_RefusesUlimit_WhenSoftLimitExceedsHardLimit()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-ulimit");
        cut.Button("Add ulimit").Click();
        cut.InputLabelled("Soft limit").Change("8192");
        cut.InputLabelled("Hard limit").Change("4096");

        await cut.ClickCreateAsync();

        AssertError(cut, "Ulimit nofile: the soft limit (8192) must be between 0 and the hard limit (4096).");
        await AssertNothingRegisteredAsync(ctx);
    }

    [Fact]
    public async Task Create_RefusesVolume_WhenSourcePathIsRelative()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-volume");
        cut.Button("Add volume").Click();
        cut.InputLabelled("Name").Change("data");
        cut.InputLabelled("Source path").Change("srv/data");

        await cut.ClickCreateAsync();

        AssertError(cut, "Volume data: the source path 'srv/data' must be an absolute path on the Docker host.");
        await AssertNothingRegisteredAsync(ctx);
    }

    [Fact]
    public async Task Create_RefusesMountPoint_WhenContainerPathIsMissing()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-mount");
        cut.Button("Add volume").Click();
        cut.InputLabelled("Name").Change("data");
        cut.InputLabelled("Source path").Change("/srv/data");
        cut.Button("Add mount point").Click();
        cut.Pick("[role=combobox][aria-label='Source volume']", "data");

        await cut.ClickCreateAsync();

        AssertError(cut, "Mount point container path '' must be an absolute path.");
        await AssertNothingRegisteredAsync(ctx);
    }

    [Fact]
    public async Task Create_RefusesUserInline_WhenUserIsNotANameOrUid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-user");
        cut.Find("#jd-user").Change("bad user!");

        await cut.ClickCreateAsync();

        Assert.Contains("User 'bad user!' must be a user name or uid, optionally with :group or :gid.", cut.FieldText("#jd-user"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#jd-user"));
        await AssertNothingRegisteredAsync(ctx);
    }

    [Fact]
    public async Task Create_RegistersEverySetting_WhenFullDefinitionIsValid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-full");
        cut.Find("#jd-image").Input("busybox:1.36");
        cut.Find("#jd-command").Input("cat /data/in.txt");
        cut.Find("#jd-attempts").Change("3");
        cut.Find("[data-testid=add-condition]").Click();
        cut.InputLabelled("On exit code").Change("13*");
        cut.Pick("[role=combobox][aria-label='Action']", "Exit");
        cut.Button("Add volume").Click();
        cut.InputLabelled("Name").Change("data");
        cut.InputLabelled("Source path").Change("/srv/data");
        cut.Button("Add mount point").Click();
        cut.InputLabelled("Container path").Change("/data");
        cut.Pick("[role=combobox][aria-label='Source volume']", "data");
        Checkbox(cut, "Read only").Change(true);
        cut.Button("Add ulimit").Click();
        cut.InputLabelled("Soft limit").Change("2048");
        cut.InputLabelled("Hard limit").Change("8192");
        cut.Find("#jd-user").Change("1000:1000");
        cut.Find("[data-testid=jd-privileged]").Change(true);
        cut.Find("[data-testid=jd-readonly]").Change(true);
        cut.Button("Add tag").Click();
        cut.Find("[data-testid=jd-tags] input[aria-label='Key 1']").Change("team");
        cut.Find("[data-testid=jd-tags] input[aria-label='Value 1']").Change("batch");
        cut.Button("Add environment variable").Click();
        cut.Find("[data-testid=jd-environment] input[aria-label='Key 1']").Change("GREETING");
        cut.Find("[data-testid=jd-environment] input[aria-label='Value 1']").Change("hello");

        await cut.ClickCreateAsync();

        Assert.Equal("/job-definitions/jd-full", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = (await ctx.JobDefinitions.ResolveAsync("jd-full:1")).Value;
        Assert.NotNull(saved);
        var c = saved.ContainerProperties;
        Assert.Equal("busybox:1.36", c.Image);
        Assert.Equal(["cat", "/data/in.txt"], c.Command);
        Assert.Equal(3, saved.RetryStrategy?.Attempts);
        var rule = Assert.Single(saved.RetryStrategy!.EvaluateOnExit);
        Assert.Equal(("13*", "EXIT"), (rule.OnExitCode, rule.Action));
        Assert.Equal(("data", "/srv/data"), (Assert.Single(c.Volumes).Name, c.Volumes[0].Host?.SourcePath));
        Assert.Equal(("data", "/data", true), (Assert.Single(c.MountPoints).SourceVolume, c.MountPoints[0].ContainerPath, c.MountPoints[0].ReadOnly));
        Assert.Equal(("nofile", 2048, 8192), (Assert.Single(c.Ulimits).Name, c.Ulimits[0].SoftLimit, c.Ulimits[0].HardLimit));
        Assert.Equal("1000:1000", c.User);
        Assert.True(c.Privileged);
        Assert.True(c.ReadonlyRootFilesystem);
        Assert.Equal(("GREETING", "hello"), (Assert.Single(c.Environment).Name, c.Environment[0].Value));
        Assert.Equal("batch", saved.Tags.GetValueOrDefault("team"));
    }

    [Fact]
    public async Task JsonView_ShowsDefinitionAndLoadsEditedJsonIntoForm()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-json");
        cut.Find("#jd-image").Input("busybox:latest");
        cut.Find("#jd-command").Input("echo hi");
        cut.Find("[data-testid=add-condition]").Click();
        cut.InputLabelled("On exit code").Change("137");

        cut.Button("JSON view").Click();

        var json = JsonText(cut);
        Assert.Contains("\"jobDefinitionName\": \"jd-json\"", json, StringComparison.Ordinal);
        Assert.Contains("\"containerProperties\"", json, StringComparison.Ordinal);
        Assert.Contains("\"image\": \"busybox:latest\"", json, StringComparison.Ordinal);
        Assert.Contains("\"retryStrategy\"", json, StringComparison.Ordinal);
        Assert.Contains("\"onExitCode\": \"137\"", json, StringComparison.Ordinal);

        cut.Find("#jd-json").Change(json.Replace("busybox:latest", "alpine:3.20", StringComparison.Ordinal));
        cut.Find("[data-testid=json-to-form]").Click();

        Assert.Equal("alpine:3.20", cut.ValueOf("#jd-image"));
        Assert.Equal("137", cut.InputLabelled("On exit code").GetAttribute("value"));
        await AssertNothingRegisteredAsync(ctx);
    }

    [Fact]
    public async Task Create_FromJsonView_ShowsErrorAndRegistersNothing_WhenJsonIsInvalid()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-json-bad");
        cut.Button("JSON view").Click();
        cut.Find("#jd-json").Change("{ \"jobDefinitionName\": \"jd-json-bad\", ");

        await cut.ClickCreateAsync();

        Assert.Contains("The JSON cannot be read", cut.FieldText("#jd-json"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#jd-json"));
        await AssertNothingRegisteredAsync(ctx);
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Create_FromJsonView_ShowsFieldErrorsAndRegistersNothing_WhenJsonBreaksARule()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = Open(ctx, "jd-json-rule");
        cut.Button("JSON view").Click();
        cut.Find("#jd-json").Change(JsonText(cut).Replace("\"image\": \"amazonlinux\"", "\"image\": \"\"", StringComparison.Ordinal));

        await cut.ClickCreateAsync();

        Assert.Contains("containerProperties.image: Container image is required.", cut.Find("[data-testid=json-errors]").TextContent, StringComparison.Ordinal);
        await AssertNothingRegisteredAsync(ctx);
    }

    private static IRenderedComponent<ContainerFragment> Open(PortalTestContext ctx, string name)
    {
        var cut = ctx.RenderPage<CreateJobDefinition>();
        cut.Find("#jd-name").Input(name);
        return cut;
    }

    private static string JsonText(IRenderedComponent<ContainerFragment> cut)
    {
        var editor = cut.Find("#jd-json");
        return editor.GetAttribute("value") is { Length: > 0 } value ? value : editor.TextContent;
    }

    private static IElement Checkbox(IRenderedComponent<ContainerFragment> cut, string label) =>
        cut.FindAll("label").Single(l => l.TextContent.Trim() == label).QuerySelector("input[type=checkbox]")
            ?? throw new InvalidOperationException($"No checkbox labelled '{label}'.");

    private static void AssertError(IRenderedComponent<ContainerFragment> cut, string error) =>
        Assert.Contains(cut.FindAll("p"), p => p.TextContent.Trim() == error);

    private static async Task AssertNothingRegisteredAsync(PortalTestContext ctx) =>
        Assert.Empty(await ctx.JobDefinitions.ListAsync(includeInactive: true));
}
