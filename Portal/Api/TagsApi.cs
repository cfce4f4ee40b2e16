using BatchPortal.Portal.Access;
using BatchPortal.Engine.Access;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Portal.Api;

/// <summary>
/// The tag routes. The ARN arrives percent-encoded in the path (<c>arn%3Aaws%3Abatch%3A...%2Fname</c>); ASP.NET Core
/// leaves <c>%2F</c> encoded in route values, so it is unescaped here.
/// </summary>
internal static class TagsApi
{
    public static async Task<IResult> ListAsync(string resourceArn, HttpContext http)
    {
        var result = await http.Service<TagService>().ListAsync(Uri.UnescapeDataString(resourceArn), http.RequestAborted);
        return BatchApi.Reply(result, tags => new { tags });
    }

    public static async Task<IResult> TagAsync(string resourceArn, HttpContext http)
    {
        if (http.Denied(AccessPolicy.TaggingOf(Uri.UnescapeDataString(resourceArn)), "TagResource") is { } denied)
        {
            return denied;
        }

        var request = await AwsRequest.ReadAsync(http.Request, 64 * 1024, "TagResource", http.RequestAborted);
        if (request.Error is { } error)
        {
            return AwsErrorResult.From(error);
        }

        var input = request.Value!.Bind<TagRequest>();
        if (input.Error is { } bindError)
        {
            return AwsErrorResult.From(bindError);
        }

        var result = await http.Service<TagService>().TagAsync(Uri.UnescapeDataString(resourceArn), input.Value!.Tags, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    public static async Task<IResult> UntagAsync(string resourceArn, HttpContext http)
    {
        if (http.Denied(AccessPolicy.TaggingOf(Uri.UnescapeDataString(resourceArn)), "UntagResource") is { } denied)
        {
            return denied;
        }

        var keys = http.Request.Query["tagKeys"].Where(k => k is not null).Select(k => k!).ToList();
        var result = await http.Service<TagService>().UntagAsync(Uri.UnescapeDataString(resourceArn), keys, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    private sealed class TagRequest
    {
        public Dictionary<string, string>? Tags { get; set; }
    }
}
