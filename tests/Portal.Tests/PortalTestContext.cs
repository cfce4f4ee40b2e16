using Bunit.TestDoubles;
using BatchPortal.Engine.Access;
using BatchPortal.Portal.Access;
using Microsoft.Extensions.Options;
using BatchPortal.Engine;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MudBlazor;
using MudBlazor.Services;
using BatchPortal.Portal.Components.Shared;

namespace BatchPortal.Portal.Tests;

/// <summary>
/// A bUnit context wired to the real engine services over a fresh SQLite file, with Docker replaced by
/// <see cref="FakeContainerRuntimeFactory"/>. The engine host is built but never started: no dispatcher, Hangfire server
/// or health loop runs, so the only work is what a test's clicks cause.
/// </summary>
public sealed class PortalTestContext : IAsyncDisposable
{
    private readonly string _databasePath;
    private readonly IHost _engine;

    private readonly BunitAuthorizationContext _authorization;

    private PortalTestContext(string databasePath, IHost engine, BunitContext bunit, BunitAuthorizationContext authorization)
    {
        _authorization = authorization;
        _databasePath = databasePath;
        _engine = engine;
        Bunit = bunit;
    }

    public BunitContext Bunit { get; }

    /// <summary>The fake Docker hosts: what images they have.</summary>
    public FakeContainerRuntimeFactory Runtime { get; private init; } = default!;

    public IServiceProvider Engine => _engine.Services;

    public ComputeEnvironmentService ComputeEnvironments => Engine.GetRequiredService<ComputeEnvironmentService>();

    public JobQueueService JobQueues => Engine.GetRequiredService<JobQueueService>();

    public JobDefinitionService JobDefinitions => Engine.GetRequiredService<JobDefinitionService>();

    public NavigationManager Navigation => Bunit.Services.GetRequiredService<NavigationManager>();

    public static async Task<PortalTestContext> CreateAsync()
    {
        var databasePath = Path.Combine(Path.GetTempPath(), $"batchportal-portal-tests-{Guid.NewGuid():N}.db");

        // DisableDefaults: no appsettings.json, environment variables or console logging leak in from the machine.
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration["Engine:Storage:DatabasePath"] = databasePath;
        var runtime = new FakeContainerRuntimeFactory();
        builder.Services.AddSingleton<IContainerRuntimeFactory>(runtime);
        builder.AddBatchEngine();
        var engine = builder.Build();

        try
        {
            var dbFactory = engine.Services.GetRequiredService<IDbContextFactory<BatchDbContext>>();
            await using (var db = await dbFactory.CreateDbContextAsync())
            {
                await db.Database.MigrateAsync();
            }
        }
        catch
        {
            engine.Dispose();
            DeleteDatabase(databasePath);
            throw;
        }

        var bunit = new BunitContext();
        bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        bunit.Services.AddMudServices();
        bunit.Services.AddSingleton<SharedReads>();

        // The console's user: an Admin unless a test signs in someone else (SignIn).
        var authorization = bunit.AddAuthorization();
        authorization.SetAuthorized("tester");
        authorization.SetRoles(nameof(Role.Admin));
        bunit.Services.AddSingleton(Options.Create(new AuthOptions()));
        bunit.Services.AddScoped<ConsoleAccess>();
        foreach (var type in new[]
        {
            typeof(ComputeEnvironmentService), typeof(JobQueueService), typeof(JobDefinitionService), typeof(JobService),
            typeof(JobQueries), typeof(JobStatistics), typeof(JobStateMachine), typeof(LogStore), typeof(DockerHealth), typeof(IContainerRuntimeFactory), typeof(JobEventBroadcaster),
            typeof(IJobEventPublisher), typeof(Arns), typeof(IOptions<DockerOptions>), typeof(TimeProvider), typeof(UserService), typeof(AuditTrail),
        })
        {
            bunit.Services.AddSingleton(type, engine.Services.GetRequiredService(type));
        }

        return new PortalTestContext(databasePath, engine, bunit, authorization) { Runtime = runtime };
    }

    /// <summary>The console's user from now on: a name and a role, as a sign-in would give.</summary>
    public void SignIn(string userName, Role role)
    {
        _authorization.SetAuthorized(userName);
        _authorization.SetRoles(role.ToString());
    }

    /// <summary>
    /// Renders <typeparamref name="TComponent"/> beside a <see cref="MudPopoverProvider"/>, as the layout does: without the
    /// provider MudSelect's items never appear. Find the page itself with <c>FindComponent&lt;TComponent&gt;()</c>.
    /// Only one provider may be live per context: call <c>Bunit.DisposeComponentsAsync()</c> before rendering a second page.
    /// </summary>
    public IRenderedComponent<ContainerFragment> RenderPage<TComponent>(params (string Name, object? Value)[] parameters)
        where TComponent : IComponent =>
        Bunit.Render(builder =>
        {
            builder.OpenComponent<MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<MudDialogProvider>(1);
            builder.CloseComponent();
            builder.OpenComponent<TComponent>(2);
            foreach (var (name, value) in parameters)
            {
                builder.AddAttribute(3, name, value);
            }

            builder.CloseComponent();
        });

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Bunit.DisposeAsync();
        }
        finally
        {
            _engine.Dispose();
            DeleteDatabase(_databasePath);
        }
    }

    private static void DeleteDatabase(string path)
    {
        // Pooled SQLite connections keep the file open.
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(path + suffix);
        }
    }
}
