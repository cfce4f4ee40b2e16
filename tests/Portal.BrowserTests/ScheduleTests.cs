using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>A schedule made in the browser, its next runs previewed, and a Run now watched to SUCCEEDED live.</summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class ScheduleTests(BrowserFixture fixture)
{
    private const string TestImage = "batchportal/busybox:latest";
    private static readonly TimeSpan JobDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task CreateAndRunNow_ShowsNextRunsThenTheJobSucceedingLive()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (queue, definition, name) = ($"queue-{suffix}", $"tick-{suffix}", $"hourly-{suffix}");
        await CreateTargetAsync(queue, definition, $"ce-{suffix}");
        await using var context = await fixture.Browser.NewContextAsync();

        // The form: the preview follows the expression as it is typed.
        var page = await fixture.OpenAsync(context, "/schedules/new");
        await page.Locator("#schedule-name").FillAsync(name);
        await page.Locator("#schedule-expression").FillAsync("rate(1 hour)");
        await Assertions.Expect(page.GetByTestId("schedule-description")).ToHaveTextAsync("every hour, UTC");
        await Assertions.Expect(page.GetByTestId("next-run")).ToHaveCountAsync(10);
        await page.GetByTestId("schedule-queue").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = queue, Exact = true }).ClickAsync();
        await page.GetByTestId("schedule-definition").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = $"{definition} (latest)", Exact = true }).ClickAsync();
        await page.GetByTestId("save").ClickAsync();
        await page.WaitForURLAsync($"**/schedules/{name}");

        // The schedule's page: Run now, then the job in "Jobs it started" without a reload.
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("schedule-when")).ToHaveTextAsync("every hour, UTC");
        await page.EvaluateAsync("() => window.__sameDocument = true");

        // The "saved" snackbar sits over the page's actions, Run now among them, for several seconds: close it as a user would.
        await page.GetByRole(AriaRole.Alert).Filter(new() { HasText = $"Schedule {name} saved." }).GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();
        await page.GetByTestId("run-now").ClickAsync();

        var row = page.GetByTestId("schedule-job");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.GetByTestId("job-status"))
            .ToHaveAttributeAsync("data-status", "SUCCEEDED", new() { Timeout = (float)JobDeadline.TotalMilliseconds });
        await Assertions.Expect(row).ToContainTextAsync("scheduled-");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the schedule page was reloaded");
    }

    /// <summary>The compute environment, queue and job definition the schedule targets, made through the engine.</summary>
    private async Task CreateTargetAsync(string queue, string definition, string computeEnvironment)
    {
        var services = fixture.Portal.Services;
        Ok(await services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = computeEnvironment,
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = 4 },
        }));
        Ok(await services.GetRequiredService<JobQueueService>().CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = queue,
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = computeEnvironment }],
        }));
        Ok(await services.GetRequiredService<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = definition,
            Type = "container",
            ContainerProperties = new ContainerProperties
            {
                Image = TestImage,
                Command = ["echo", "tick"],
                ResourceRequirements =
                [
                    new ResourceRequirement { Type = "VCPU", Value = "1" },
                    new ResourceRequirement { Type = "MEMORY", Value = "64" },
                ],
            },
        }));
    }

    private static void Ok<T>(Result<T> result) => Assert.True(result.IsSuccess, result.Error?.Message);
}
