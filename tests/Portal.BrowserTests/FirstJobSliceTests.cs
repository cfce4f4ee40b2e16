using Microsoft.Playwright;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>The newcomer's path (issue #2): the three wizards, a submission, and the job watched to SUCCEEDED live.</summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class FirstJobSliceTests(BrowserFixture fixture)
{
    private const string TestImage = "batchportal/busybox:latest";
    private static readonly TimeSpan JobDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Wizards_SubmitAndWatch_JobSucceedsLiveWithItsOutput()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var ceName = $"ce-{suffix}";
        var queueName = $"queue-{suffix}";
        var definitionName = $"hello-{suffix}";
        await using var context = await fixture.Browser.NewContextAsync();

        // Create compute environment
        var page = await fixture.OpenAsync(context, "/compute-environments/new");
        await page.Locator("#ce-name").FillAsync(ceName);
        await page.GetByTestId("create").ClickAsync();
        await page.WaitForURLAsync($"**/compute-environments/{ceName}");
        await Assertions.Expect(page.Locator("#page-title")).ToHaveTextAsync(ceName);

        // Create job queue, connected to it
        page = await fixture.OpenAsync(context, "/job-queues/new");
        await page.Locator("#queue-name").FillAsync(queueName);
        await page.GetByTestId("ce-select").ClickAsync();
        await page.GetByText($"{ceName} (ENABLED").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connected-ce")).ToContainTextAsync(ceName);
        await page.GetByTestId("create").ClickAsync();
        await page.WaitForURLAsync($"**/job-queues/{queueName}");

        // Create job definition: the command typed space delimited, previewed as JSON
        page = await fixture.OpenAsync(context, "/job-definitions/new");
        await page.Locator("#jd-name").FillAsync(definitionName);
        await page.Locator("#jd-image").FillAsync(TestImage);
        await page.Locator("#jd-command").FillAsync("sh -c \"echo hello from batchportal; echo to-stderr >&2\"");
        await Assertions.Expect(page.GetByTestId("command-json-result"))
            .ToHaveTextAsync("[\"sh\",\"-c\",\"echo hello from batchportal; echo to-stderr >&2\"]");
        await page.Locator("#jd-vcpus").FillAsync("1");
        await page.Locator("#jd-memory").FillAsync("64");
        await page.GetByTestId("create").ClickAsync();
        await page.WaitForURLAsync($"**/job-definitions/{definitionName}");

        // Submit, then watch the job page without reloading it
        page = await fixture.OpenAsync(context, $"/jobs/new?queue={queueName}&definition={definitionName}");
        await page.Locator("#job-name").FillAsync($"first-job-{suffix}");
        await page.GetByTestId("submit").ClickAsync();
        await page.WaitForURLAsync("**/jobs/*-*");
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.EvaluateAsync("() => window.__sameDocument = true");

        await Assertions.Expect(page.GetByTestId("job-status").First)
            .ToHaveAttributeAsync("data-status", "SUCCEEDED", new() { Timeout = (float)JobDeadline.TotalMilliseconds });

        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the job page was reloaded");
        var history = await page.GetByTestId("history-row").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.status)");
        Assert.Equal(["SUBMITTED", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], history);
        await Assertions.Expect(page.GetByTestId("status-reason")).ToHaveTextAsync("Essential container in task exited");
        await Assertions.Expect(page.GetByTestId("exit-code")).ToHaveTextAsync("0");
        await Assertions.Expect(page.GetByTestId("log-output")).ToContainTextAsync("hello from batchportal");
        await Assertions.Expect(page.GetByTestId("log-output")).ToContainTextAsync("to-stderr");
    }
}
