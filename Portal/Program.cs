using BatchPortal.Engine;
using BatchPortal.Engine.Notifications;
using BatchPortal.Portal;
using BatchPortal.Portal.Access;
using BatchPortal.Portal.Api;
using BatchPortal.Portal.Components;
using Microsoft.AspNetCore.DataProtection;
using MudBlazor.Services;

// appsettings*.json are read once, at start, where every option is validated; the portal does not reload them while it
// runs. A reloading file source watches the whole content root with inotify (the repository's root under `dotnet run`:
// about 1,900 folders with bin/, obj/ and node_modules/), and the database under data/ is written on every status
// change: each commit woke the watcher's thread, about a tenth of a core under load. Given first, so that a later
// command-line argument (--hostBuilder:reloadConfigOnChange=true) still overrides it.
var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);

// Requests must name one of these hosts (ASP.NET Core's host filter; more in appsettings.json's AllowedHosts), plus the
// addresses the portal listens on (ListenHosts): a foreign name pointed at this machine (DNS rebinding) is refused.
if (string.IsNullOrWhiteSpace(builder.Configuration["AllowedHosts"]))
{
    builder.Configuration["AllowedHosts"] = "localhost;127.0.0.1;[::1]";
}

// Serve _content/* (MudBlazor) from the build output in every environment, not only Development.
builder.WebHost.UseStaticWebAssets();

builder.AddBatchEngine();
builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ApiOptions>, ApiOptionsValidation>();
builder.Services.AddOptions<ApiThrottleOptions>().BindConfiguration(ApiThrottleOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.AddPortalSignIn();
builder.Services.AddSingleton<Microsoft.Extensions.Options.IPostConfigureOptions<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>, ListenHosts>();
// Blazor circuits and antiforgery tokens are protected with keys kept beside the database: a restart (or a second
// process on the same folder) reads the same keys, so open pages and forms keep working.
var databasePath = builder.Configuration["Engine:Storage:DatabasePath"] is { Length: > 0 } configuredPath ? configuredPath : "data/batchportal.db";
var dataFolder = Path.GetDirectoryName(Path.IsPathRooted(databasePath) ? databasePath : Path.Combine(builder.Environment.ContentRootPath, databasePath))!;
builder.Services.AddDataProtection()
    .SetApplicationName("BatchPortal")
    .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataFolder, "keys")));
// Snackbars bottom left: the page's action buttons are top right and the forms' submit buttons bottom right.
builder.Services.AddMudServices(o => o.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomLeft);
builder.Services.AddSingleton<BatchPortal.Portal.Components.Pages.Dashboard.SampleSetup>();
builder.Services.AddSingleton<BatchPortal.Portal.Components.Shared.SharedReads>();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();

var app = builder.Build();
app.UseListenGuard();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/Error", createScopeForErrors: true);
}

app.UseApiRequestGuard();
app.UseSigV4();
app.UseApiThrottle();
app.UseLogsApi();
app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.MapStaticAssets();
app.UsePortalAssets();
app.MapBatchApi();
app.MapAccountEndpoints();
app.MapHub<JobEventHub>("/hubs/jobs").RequireAuthorization();
app.MapHealth();
app.MapLogDownload();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();

/// <summary>The entry point; public so tests can host the portal with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
