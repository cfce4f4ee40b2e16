using Microsoft.Net.Http.Headers;

namespace BatchPortal.Portal.Api;

/// <summary>
/// Keeps other web sites from driving the API through a developer's browser. A page on any site may send a POST to
/// <c>http://localhost:5080/v1/...</c> without asking (a "simple" request: <c>text/plain</c>, a form, multipart), and
/// without sign-in that is an Admin's call. So an API request is refused, before anything reads it, when
/// <list type="bullet">
/// <item>it carries an <c>Origin</c> that is not the portal's own, or the browser marks it <c>Sec-Fetch-Site: cross-site</c>
/// (403 AccessDeniedException). AWS's clients (the CLI, the SDKs) send no Origin; the console calls the engine on the
/// server, not through the API;</item>
/// <item>it has a body whose Content-Type is not JSON (<c>application/json</c> for Batch, <c>application/x-amz-json-1.1</c>
/// for Logs): 400 ClientException naming the type. None of the JSON types can be sent cross-site without a preflight,
/// which the portal never answers.</item>
/// </list>
/// Foreign <c>Host</c> names (DNS rebinding) are refused for every request by the host filter (<c>AllowedHosts</c>).
/// </summary>
internal static class ApiRequestGuard
{
    private static readonly string[] JsonTypes = ["application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1"];

    public static WebApplication UseApiRequestGuard(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            if (SigV4.IsApiRequest(http.Request) && Refusal(http.Request) is { } refusal)
            {
                await refusal.ExecuteAsync(http);
                return;
            }

            await next(http);
        });
        return app;
    }

    internal static AwsErrorResult? Refusal(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsOwnOrigin(origin, request))
        {
            return new AwsErrorResult(StatusCodes.Status403Forbidden, "AccessDeniedException", $"Requests from another site (Origin {origin}) are refused: the API is for AWS clients and for this portal ({request.Scheme}://{request.Host}).");
        }

        if (string.Equals(request.Headers["Sec-Fetch-Site"].ToString(), "cross-site", StringComparison.OrdinalIgnoreCase))
        {
            return new AwsErrorResult(StatusCodes.Status403Forbidden, "AccessDeniedException", "Requests a browser marks as cross-site (Sec-Fetch-Site: cross-site) are refused.");
        }

        if (HasBody(request) && !IsJson(request.ContentType))
        {
            var given = string.IsNullOrEmpty(request.ContentType) ? "none" : $"'{request.ContentType}'";
            return AwsErrorResult.Client($"Content-Type {given} is not accepted: send application/json (the Batch API) or application/x-amz-json-1.1 (the Logs API).");
        }

        return null;
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && JsonTypes.Any(t => string.Equals(parsed.MediaType.Value, t, StringComparison.OrdinalIgnoreCase));

    private static bool IsOwnOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
}
