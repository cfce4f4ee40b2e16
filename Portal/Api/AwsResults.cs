using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using BatchPortal.Engine.Domain;

namespace BatchPortal.Portal.Api;

/// <summary>The JSON the AWS SDKs send and read: camelCase members, nulls left out, epoch-millisecond times.</summary>
internal static class AwsJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNameCaseInsensitive = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static long? Millis(DateTimeOffset? t) => t?.ToUnixTimeMilliseconds();
}

/// <summary>
/// An error as the SDKs parse it: HTTP 400 (client) or 500 (server), the code in both the <c>x-amzn-ErrorType</c> header
/// and the body's <c>__type</c>, and a <c>message</c> that names the problem.
/// </summary>
internal sealed class AwsErrorResult(int status, string type, string message) : IResult
{
    public int StatusCode { get; } = status;

    public string Type { get; } = type;

    public string Message { get; } = message;

    public static AwsErrorResult Client(string message) => new(StatusCodes.Status400BadRequest, "ClientException", message);

    public static AwsErrorResult From(BatchError error) =>
        error is AccessDenied ? new(StatusCodes.Status403Forbidden, "AccessDeniedException", error.Message) : Client(error.Message);

    public static AwsErrorResult Server(string message) => new(StatusCodes.Status500InternalServerError, "ServerException", message);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        httpContext.Response.Headers["x-amzn-ErrorType"] = Type;
        httpContext.Response.ContentType = "application/json";
        var body = new JsonObject { ["__type"] = Type, ["message"] = Message };
        await httpContext.Response.WriteAsync(body.ToJsonString(AwsJson.Options));
    }
}

/// <summary>A 200 with an AWS-shaped JSON body.</summary>
internal sealed class AwsOkResult(object body) : IResult
{
    public object Body { get; } = body;

    public static AwsOkResult Empty { get; } = new(new JsonObject());

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(httpContext.Response.Body, Body, Body.GetType(), AwsJson.Options);
    }
}
