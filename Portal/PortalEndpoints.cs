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

    /// <summary>An attempt's log as plain text, for the job page's "Download".</summary>
    public static WebApplication MapLogDownload(this WebApplication app)
    {
        app.MapGet("/jobs/{jobId}/attempts/{attempt:int}/log.txt", async (string jobId, int attempt, BatchPortal.Engine.Storage.LogStore logs, HttpContext http) =>
        {
            http.Response.ContentType = "text/plain; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{jobId.Replace(':', '-')}-attempt-{attempt}.log\"";
            long after = 0;
            while (true)
            {
                var lines = await logs.ReadAsync(jobId, attempt, after, 5_000, http.RequestAborted);
                if (lines.Count == 0)
                {
                    break;
                }

                foreach (var line in lines)
                {
                    await http.Response.WriteAsync($"{line.Timestamp:O} {line.Stream} {line.Message}\n", http.RequestAborted);
                }

                after = lines[^1].Id;
            }
        }).RequireAuthorization();
        return app;
    }

    /// <summary>
    /// <c>/healthz</c>: 200 while the portal runs and every Docker engine that an enabled compute environment runs on
    /// answers; 503 when one of those does not (jobs cannot start or be followed there), with what is known of each.
    /// </summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        // Healthy or not, and which compute environments are hit: for a load balancer or a monitor, and readable by
        // anyone who reaches it, so it names no Docker endpoint (a URI with a host, a port, a socket path) and no error
        // text. The console's banner and the compute environment pages show the endpoints to those who may see them.
        app.MapGet("/healthz", async (DockerHealth docker, HttpContext http) =>
        {
            var down = new List<string>();
            foreach (var (endpoint, environments) in await docker.EnvironmentsByEndpointAsync(http.RequestAborted))
            {
                if (!(await docker.GetAsync(endpoint, http.RequestAborted)).Reachable)
                {
                    down.AddRange(environments);
                }
            }

            down.Sort(StringComparer.Ordinal);
            var body = new
            {
                status = down.Count == 0 ? "ok" : "degraded",
                reason = down.Count == 0 ? null : $"The Docker engine of compute environment(s) {string.Join(", ", down)} does not answer.",
            };
            return down.Count == 0 ? Results.Json(body) : Results.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }
}
