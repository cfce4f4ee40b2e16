using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>
/// Each wizard driven in the browser at depth, then its resource found on the list page with its key figures and on its
/// detail page with its settings and JSON view.
/// </summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class WizardTests(BrowserFixture fixture)
{
    private const string TestImage = "batchportal/busybox:latest";

    [Fact]
    public async Task ComputeEnvironmentWizard_CreatesUnmanagedEnvironment_ShownInListAndDetail()
    {
        var ceName = $"ce-{Suffix()}";
        await using var context = await fixture.Browser.NewContextAsync();

        await CreateEnvironmentAsync(context, ceName);

        var page = await fixture.OpenAsync(context, "/compute-environments");
        var row = page.GetByTestId("ce-row").Filter(new() { HasText = ceName });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.GetByRole(AriaRole.Cell)).ToHaveTextAsync([Exactly(ceName), Exactly("UNMANAGED"), Exactly("ENABLED"), Exactly("VALID"), Exactly("—"), Exactly("— / — / 4"), new Regex(".+")]);

        await row.GetByRole(AriaRole.Link, new() { Name = ceName, Exact = true }).ClickAsync();
        await page.WaitForURLAsync($"**/compute-environments/{ceName}");
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("ce-state")).ToHaveTextAsync("ENABLED");
        await Assertions.Expect(page.Locator("dd").Filter(new() { HasText = "vCPUs" })).ToHaveTextAsync("4 vCPUs");
        await Assertions.Expect(page.Locator("dd").Filter(new() { HasText = "team=" })).ToHaveTextAsync("team=batch");
        await OpenJsonViewAsync(page);
        var json = page.GetByTestId("json-view-text");
        await Assertions.Expect(json).ToContainTextAsync($"\"computeEnvironmentName\": \"{ceName}\"");
        await Assertions.Expect(json).ToContainTextAsync("\"type\": \"UNMANAGED\"");
        await Assertions.Expect(json).ToContainTextAsync("\"team\": \"batch\"");
    }

    [Fact]
    public async Task JobQueueWizard_CreatesQueueWithPriorityAndTimeLimitAction_ShownInListAndDetail()
    {
        var suffix = Suffix();
        var (ceName, queueName) = ($"ce-{suffix}", $"queue-{suffix}");
        await using var context = await fixture.Browser.NewContextAsync();
        await CreateEnvironmentAsync(context, ceName);

        var page = await fixture.OpenAsync(context, "/job-queues/new");
        await page.Locator("#queue-name").FillAsync(queueName);
        await page.Locator("#queue-priority").FillAsync("7");
        await page.GetByTestId("ce-select").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = $"{ceName} (ENABLED, max 4 vCPUs)", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("connected-ce")).ToContainTextAsync(ceName);
        await page.GetByTestId("add-time-limit").ClickAsync();
        await page.GetByLabel("Max time in RUNNABLE (s)").FillAsync("900");
        await page.GetByTestId("create").ClickAsync();
        await page.WaitForURLAsync($"**/job-queues/{queueName}");

        page = await fixture.OpenAsync(context, "/job-queues");
        var row = page.GetByTestId("queue-row").Filter(new() { HasText = queueName });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.GetByRole(AriaRole.Cell)).ToHaveTextAsync([queueName, "7", "ENABLED", "VALID", ceName]);

        await row.GetByRole(AriaRole.Link, new() { Name = queueName, Exact = true }).ClickAsync();
        await page.WaitForURLAsync($"**/job-queues/{queueName}");
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("dd").First).ToHaveTextAsync("7");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = ceName, Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("CANCEL after 900 s in RUNNABLE with MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE")).ToBeVisibleAsync();
        await OpenJsonViewAsync(page);
        var json = page.GetByTestId("json-view-text");
        await Assertions.Expect(json).ToContainTextAsync($"\"jobQueueName\": \"{queueName}\"");
        await Assertions.Expect(json).ToContainTextAsync("\"priority\": 7");
        await Assertions.Expect(json).ToContainTextAsync("\"maxTimeSeconds\": 900");
    }

    [Fact]
    public async Task JobDefinitionWizard_RegistersRetryConditionAndEnvironment_ShownInListAndDetail()
    {
        var definitionName = $"jd-{Suffix()}";
        await using var context = await fixture.Browser.NewContextAsync();

        var page = await fixture.OpenAsync(context, "/job-definitions/new");
        await page.Locator("#jd-name").FillAsync(definitionName);
        await page.Locator("#jd-image").FillAsync(TestImage);
        await page.Locator("#jd-command").FillAsync("echo hello");
        await page.Locator("#jd-attempts").FillAsync("3");
        await page.GetByTestId("add-condition").ClickAsync();
        await page.GetByLabel("On exit code").FillAsync("137");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add environment variable" }).ClickAsync();
        await page.GetByTestId("jd-environment").GetByRole(AriaRole.Textbox, new() { Name = "Key 1" }).FillAsync("GREETING");
        await page.GetByTestId("jd-environment").GetByRole(AriaRole.Textbox, new() { Name = "Value 1" }).FillAsync("hello");
        await page.GetByTestId("create").ClickAsync();
        await page.WaitForURLAsync($"**/job-definitions/{definitionName}");

        page = await fixture.OpenAsync(context, "/job-definitions");
        var row = page.GetByTestId("definition-row").Filter(new() { HasText = definitionName });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.GetByRole(AriaRole.Cell)).ToHaveTextAsync([definitionName, "1", TestImage, "2", "2000", "ACTIVE"]);

        await row.GetByRole(AriaRole.Link, new() { Name = definitionName, Exact = true }).ClickAsync();
        await page.WaitForURLAsync($"**/job-definitions/{definitionName}");
        await BrowserFixture.WaitInteractiveAsync(page);
        var revision = page.GetByTestId("revision");
        await Assertions.Expect(revision).ToHaveCountAsync(1);
        await Assertions.Expect(revision).ToContainTextAsync("Revision 1");
        await Assertions.Expect(revision.Locator("dd").Filter(new() { HasText = "GREETING" })).ToHaveTextAsync("GREETING=hello");
        await Assertions.Expect(revision.Locator("dd").Filter(new() { HasText = "exit code" })).ToHaveTextAsync("RETRY on exit code 137, reason *, status reason *");
        await OpenJsonViewAsync(page);
        var json = page.GetByTestId("json-view-text");
        await Assertions.Expect(json).ToContainTextAsync($"\"image\": \"{TestImage}\"");
        await Assertions.Expect(json).ToContainTextAsync("\"attempts\": 3");
        await Assertions.Expect(json).ToContainTextAsync("\"onExitCode\": \"137\"");
        await Assertions.Expect(json).ToContainTextAsync("\"name\": \"GREETING\"");
    }

    private static Regex Exactly(string text) => new($"^{Regex.Escape(text)}$");

    private static string Suffix() => Guid.NewGuid().ToString("N")[..8];

    /// <summary>The compute environment wizard: Unmanaged, capacity 4, tag team=batch.</summary>
    private async Task CreateEnvironmentAsync(IBrowserContext context, string ceName)
    {
        var page = await fixture.OpenAsync(context, "/compute-environments/new");
        await page.Locator("#ce-name").FillAsync(ceName);
        await page.GetByRole(AriaRole.Radio, new() { Name = "Unmanaged", Exact = true }).CheckAsync();
        await page.Locator("#ce-capacity").FillAsync("4");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add tag" }).ClickAsync();
        await page.GetByTestId("ce-tags").GetByRole(AriaRole.Textbox, new() { Name = "Key 1" }).FillAsync("team");
        await page.GetByTestId("ce-tags").GetByRole(AriaRole.Textbox, new() { Name = "Value 1" }).FillAsync("batch");
        await page.GetByTestId("create").ClickAsync();
        await page.WaitForURLAsync($"**/compute-environments/{ceName}");
        await page.CloseAsync();
    }

    private static async Task OpenJsonViewAsync(IPage page)
    {
        await page.GetByTestId("json-view").GetByText("JSON", new() { Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("json-view-text")).ToBeVisibleAsync();
    }
}
