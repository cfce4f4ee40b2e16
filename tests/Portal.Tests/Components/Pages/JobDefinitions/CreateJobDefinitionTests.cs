using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Pages.JobDefinitions;
using Bunit;

namespace BatchPortal.Portal.Tests.Components.Pages.JobDefinitions;

public class CreateJobDefinitionTests
{
    private const string Preview = "[data-testid=command-json-result]";

    [Fact]
    public async Task Render_ShowsConsoleDefaults_WhenOpened()
    {
        await using var ctx = await PortalTestContext.CreateAsync();

        var cut = ctx.RenderPage<CreateJobDefinition>();

        Assert.Equal("amazonlinux", cut.ValueOf("#jd-image"));
        Assert.Equal("2", cut.ValueOf("#jd-vcpus"));
        Assert.Equal("2000", cut.ValueOf("#jd-memory"));
        Assert.Equal("1", cut.ValueOf("#jd-attempts"));
        Assert.Equal("[]", cut.Find(Preview).TextContent);
        Assert.Equal("Create a job definition", cut.Find("#page-title").TextContent);
    }

    [Theory]
    [InlineData("echo \"hello world\"", """["echo","hello world"]""")]
    [InlineData("echo hello world", """["echo","hello","world"]""")]
    [InlineData("sh -c 'echo \"hi\"; exit 3'", """["sh","-c","echo \"hi\"; exit 3"]""")]
    [InlineData("  ls   -la  ", """["ls","-la"]""")]
    public async Task CommandText_UpdatesJsonResult_WhenTyped(string typed, string json)
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateJobDefinition>();

        cut.Find("#jd-command").Input(typed);

        Assert.Equal(json, cut.Find(Preview).TextContent);
        Assert.False(cut.IsInvalid("#jd-command"));
    }

    [Fact]
    public async Task CommandText_ShowsErrorAndKeepsJsonResult_WhenQuoteIsUnclosed()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateJobDefinition>();
        cut.Find("#jd-command").Input("echo hi");

        cut.Find("#jd-command").Input("echo \"hi");

        Assert.Contains("Command has an unclosed \" quote.", cut.FieldText("#jd-command"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#jd-command"));
        Assert.Equal("""["echo","hi"]""", cut.Find(Preview).TextContent);
    }

    [Fact]
    public async Task CommandJson_RewritesJsonResultAndSpaceDelimitedText_WhenArrayIsTyped()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateJobDefinition>();

        cut.Button("JSON").Click();
        cut.Find("#jd-command-json").Input("""[ "echo",   "hello world" ]""");

        Assert.Equal("""["echo","hello world"]""", cut.Find(Preview).TextContent);

        cut.Button("Space delimited").Click();

        Assert.Equal("echo \"hello world\"", cut.ValueOf("#jd-command"));
        Assert.Equal(["echo", "hello world"], cut.FindComponent<CreateJobDefinition>().Instance.ToRequest().ContainerProperties!.Command);
    }

    [Theory]
    [InlineData("""["echo",""", "Command is not valid JSON")]
    [InlineData("""{"cmd": "echo"}""", "Command JSON must be an array of strings")]
    [InlineData("""["sleep", 5]""", "element 2 is a number")]
    public async Task Create_ShowsCommandErrorAndRegistersNothing_WhenJsonIsInvalid(string typed, string error)
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateJobDefinition>();
        cut.Find("#jd-name").Input("jd-bad-json");
        cut.Button("JSON").Click();
        cut.Find("#jd-command-json").Input("""["echo","ok"]""");

        cut.Find("#jd-command-json").Input(typed);
        await cut.ClickCreateAsync();

        Assert.Contains(error, cut.FieldText("#jd-command-json"), StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#jd-command-json"));
        Assert.Equal("""["echo","ok"]""", cut.Find(Preview).TextContent);
        Assert.Empty(await ctx.JobDefinitions.ListAsync(includeInactive: true));
        Assert.Equal("/", new Uri(ctx.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Create_RefusesReservedEnvironmentVariableInline_WhenNameStartsWithAwsBatch()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateJobDefinition>();
        cut.Find("#jd-name").Input("jd-env");
        cut.Button("Add environment variable").Click();
        cut.InputLabelled("Key").Change("AWS_BATCH_JOB_ID");
        cut.InputLabelled("Value").Change("mine");

        await cut.ClickCreateAsync();

        const string Error = "Environment variable AWS_BATCH_JOB_ID: names that start with AWS_BATCH are reserved for the variables Batch sets.";
        Assert.Contains(cut.FindAll("p"), p => p.TextContent.Trim() == Error);
        Assert.Empty(await ctx.JobDefinitions.ListAsync(includeInactive: true));

        cut.InputLabelled("Key").Change("MY_JOB_ID");

        Assert.DoesNotContain(cut.FindAll("p"), p => p.TextContent.Contains("AWS_BATCH", StringComparison.Ordinal));

        await cut.ClickCreateAsync();

        Assert.Equal("/job-definitions/jd-env", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var saved = Assert.Single(await ctx.JobDefinitions.ListAsync());
        var variable = Assert.Single(saved.ContainerProperties.Environment);
        Assert.Equal(("MY_JOB_ID", "mine"), (variable.Name, variable.Value));
    }

    [Fact]
    public async Task Create_ShowsNameErrorAndRegistersNothing_WhenNameIsEmpty()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var cut = ctx.RenderPage<CreateJobDefinition>();

        await cut.ClickCreateAsync();

        Assert.Contains("Job definition name is required.", cut.FieldText("#jd-name"), StringComparison.Ordinal);
        Assert.Empty(await ctx.JobDefinitions.ListAsync(includeInactive: true));
    }

    [Fact]
    public async Task Create_RegistersRevisionsOneAndTwo_WhenSameNameIsSubmittedTwice()
    {
        await using var ctx = await PortalTestContext.CreateAsync();

        await SubmitAsync(ctx, "busybox:latest", "echo one");
        await ctx.Bunit.DisposeComponentsAsync();
        ctx.Navigation.NavigateTo("/job-definitions/new");
        await SubmitAsync(ctx, "busybox:1.36", "echo two");

        Assert.Equal("/job-definitions/jd-twice", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var revisions = await ctx.JobDefinitions.RevisionsAsync("jd-twice");
        Assert.Equal([2, 1], revisions.Select(d => d.Revision));
        Assert.Equal(["busybox:1.36", "busybox:latest"], revisions.Select(d => d.ContainerProperties.Image));
        Assert.Equal(["echo", "two"], revisions[0].ContainerProperties.Command);

        static async Task SubmitAsync(PortalTestContext ctx, string image, string command)
        {
            var before = (await ctx.JobDefinitions.RevisionsAsync("jd-twice")).Count;
            var cut = ctx.RenderPage<CreateJobDefinition>();
            cut.Find("#jd-name").Input("jd-twice");
            cut.Find("#jd-image").Input(image);
            cut.Find("#jd-command").Input(command);
            await cut.ClickCreateAsync();
            Assert.Equal("/job-definitions/jd-twice", new Uri(ctx.Navigation.Uri).AbsolutePath);
            Assert.Equal(before + 1, (await ctx.JobDefinitions.RevisionsAsync("jd-twice")).Count);
        }
    }

    [Fact]
    public async Task Render_PrefillsFormFromRevision_WhenFromQueryParameterIsGiven()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var container = new ContainerProperties
        {
            Image = "busybox:latest",
            Command = ["sh", "-c", "echo hi there"],
            Environment = [new EnvironmentVariable { Name = "GREETING", Value = "hello" }],
        };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "512");
        var source = await ctx.JobDefinitions.RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = "jd-base",
            Type = "container",
            ContainerProperties = container,
            RetryStrategy = new RetryStrategy { Attempts = 3 },
            Timeout = new JobTimeout { AttemptDurationSeconds = 120 },
        });
        Assert.Null(source.Error);
        ctx.Navigation.NavigateTo("/job-definitions/new?from=jd-base:1");

        var cut = ctx.RenderPage<CreateJobDefinition>();

        cut.WaitForAssertion(() => Assert.Equal("jd-base", cut.FindComponent<CreateJobDefinition>().Instance.Name));
        Assert.Equal("Create a revision of jd-base", cut.Find("#page-title").TextContent);
        Assert.Equal("busybox:latest", cut.ValueOf("#jd-image"));
        Assert.Equal("sh -c \"echo hi there\"", cut.ValueOf("#jd-command"));
        Assert.Equal("""["sh","-c","echo hi there"]""", cut.Find(Preview).TextContent);
        Assert.Equal("1", cut.ValueOf("#jd-vcpus"));
        Assert.Equal("512", cut.ValueOf("#jd-memory"));
        Assert.Equal("3", cut.ValueOf("#jd-attempts"));
        Assert.Equal("hello", cut.InputLabelled("Value").GetAttribute("value"));

        await cut.ClickCreateAsync();

        Assert.Equal("/job-definitions/jd-base", new Uri(ctx.Navigation.Uri).AbsolutePath);
        var revision2 = (await ctx.JobDefinitions.ResolveAsync("jd-base:2")).Value;
        Assert.NotNull(revision2);
        Assert.Equal(["sh", "-c", "echo hi there"], revision2.ContainerProperties.Command);
        Assert.Equal(512, revision2.ContainerProperties.EffectiveMemoryMiB);
        Assert.Equal(3, revision2.RetryStrategy?.Attempts);
        Assert.Equal(120, revision2.Timeout?.AttemptDurationSeconds);
        Assert.Equal("GREETING", Assert.Single(revision2.ContainerProperties.Environment).Name);
    }

    // Regression: "Create revision" rebuilt the definition from the form's fields alone, so a revision silently lost the
    // volumes, mount points, user, ulimits, retry conditions and tags of the revision it started from.
    [Fact]
    public async Task Create_KeepsSettingsTheFormDoesNotShow_WhenCreatingRevision()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var container = new ContainerProperties
        {
            Image = "busybox:latest",
            Command = ["cat", "/data/in.txt"],
            User = "nobody",
            ReadonlyRootFilesystem = true,
            Volumes = [new Volume { Name = "data", Host = new Host { SourcePath = "/srv/data" } }],
            MountPoints = [new MountPoint { SourceVolume = "data", ContainerPath = "/data", ReadOnly = true }],
            Ulimits = [new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 2048 }],
        };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "256");
        var source = await ctx.JobDefinitions.RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = "jd-full",
            Type = "container",
            ContainerProperties = container,
            RetryStrategy = new RetryStrategy
            {
                Attempts = 2,
                EvaluateOnExit = [new EvaluateOnExit { OnExitCode = "137", Action = "RETRY" }],
            },
            PropagateTags = true,
            SchedulingPriority = 5,
            Tags = new() { ["team"] = "batch" },
        });
        Assert.Null(source.Error);
        ctx.Navigation.NavigateTo("/job-definitions/new?from=jd-full:1");
        var cut = ctx.RenderPage<CreateJobDefinition>();
        cut.WaitForAssertion(() => Assert.Equal("busybox:latest", cut.ValueOf("#jd-image")));

        cut.Find("#jd-memory").Change("512");
        await cut.ClickCreateAsync();

        var revision2 = (await ctx.JobDefinitions.ResolveAsync("jd-full:2")).Value;
        Assert.NotNull(revision2);
        var c = revision2.ContainerProperties;
        Assert.Equal(512, c.EffectiveMemoryMiB);
        Assert.Equal("nobody", c.User);
        Assert.True(c.ReadonlyRootFilesystem);
        Assert.Equal(("data", "/srv/data"), (Assert.Single(c.Volumes).Name, c.Volumes[0].Host?.SourcePath));
        Assert.Equal(("data", "/data", true), (Assert.Single(c.MountPoints).SourceVolume, c.MountPoints[0].ContainerPath, c.MountPoints[0].ReadOnly));
        Assert.Equal(("nofile", 1024, 2048), (Assert.Single(c.Ulimits).Name, c.Ulimits[0].SoftLimit, c.Ulimits[0].HardLimit));
        Assert.Equal("137", Assert.Single(revision2.RetryStrategy!.EvaluateOnExit).OnExitCode);
        Assert.True(revision2.PropagateTags);
        Assert.Equal(5, revision2.SchedulingPriority);
        Assert.Equal("batch", revision2.Tags.GetValueOrDefault("team"));
    }
}
