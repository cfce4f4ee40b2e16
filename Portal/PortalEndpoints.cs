using BatchPortal.Engine.Execution;
using Microsoft.Extensions.FileProviders;

namespace BatchPortal.Portal;

internal static class PortalEndpoints
{
    /// <summary>The portal's own stylesheet, logo and favicon from <c>wwwroot-assets/</c>, at <c>/assets</c>.</summary>
    public static WebApplication UsePortalAssets(this WebApplication app)
    {
        var folder = new[]
            {
                Path.Combine(AppContext.BaseDirectory, "wwwroot-assets"),
                Path.Combine(app.Environment.ContentRootPath, "wwwroot-assets"),
            }
            .FirstOrDefault(Directory.Exists);
        if (folder is not null)
        {
            app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(folder), RequestPath = "/assets" });
        }

        return app;
    }

    /// <summary><c>/healthz</c>: 200 while the portal runs, with what it knows of each Docker engine.</summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapGet("/healthz", (DockerHealth docker) => TypedResults.Ok(new
        {
            status = "ok",
            docker = docker.All.Select(h => new { endpoint = h.Endpoint, reachable = h.Reachable, error = h.Error, version = h.Host?.ServerVersion }),
        }));
        return app;
    }
}
