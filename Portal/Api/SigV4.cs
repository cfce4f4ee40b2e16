using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Portal.Access;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace BatchPortal.Portal.Api;

/// <summary>Who may call the AWS-compatible APIs (section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// Without sign-in (<c>Auth:Mode</c> <c>None</c>) and with no key here (the default), any credentials are accepted, as
    /// local emulators do, and the caller is the local user (an Admin: only on loopback addresses). Otherwise every
    /// request to <c>/v1</c> and the Logs API must carry a valid SigV4 signature made with one of these keys or with a
    /// key a user made on their page, and acts with the key's role (its user's).
    /// </summary>
    public List<AccessKey> AccessKeys { get; set; } = [];

    /// <summary>The largest request body the API hashes for a signature (the largest operation takes 256 KiB).</summary>
    [Range(1024, 64 * 1024 * 1024, ErrorMessage = "Api:MaxBodyBytes must be between 1 KiB and 64 MiB.")]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>How far a request's X-Amz-Date may be from the portal's clock (AWS allows 5 minutes).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Api:MaxClockSkew must be between 1 second and 1 hour.")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    public sealed class AccessKey
    {
        [Required(AllowEmptyStrings = false, ErrorMessage = "Api:AccessKeys:N:AccessKeyId is required.")]
        public string AccessKeyId { get; set; } = "";

        [Required(AllowEmptyStrings = false, ErrorMessage = "Api:AccessKeys:N:SecretAccessKey is required.")]
        public string SecretAccessKey { get; set; } = "";

        /// <summary>What the key may do: Viewer, Operator or Admin. No default: a key is given its role on purpose.</summary>
        [Required(ErrorMessage = "Api:AccessKeys:N:Role is required: Viewer, Operator or Admin.")]
        public Role? Role { get; set; }
    }
}

/// <summary>
/// Checks the access keys at start: each with an id, a secret and a role, no id twice. (Data annotations on the keys'
/// own members are not checked for the items of a list.)
/// </summary>
internal sealed class ApiOptionsValidation : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.AccessKeys.Count; i++)
        {
            var key = options.AccessKeys[i];
            if (string.IsNullOrWhiteSpace(key.AccessKeyId))
            {
                failures.Add($"Api:AccessKeys:{i}:AccessKeyId is required.");
            }

            if (string.IsNullOrWhiteSpace(key.SecretAccessKey))
            {
                failures.Add($"Api:AccessKeys:{i}:SecretAccessKey is required (an empty secret would sign anything).");
            }

            if (key.Role is null)
            {
                failures.Add($"Api:AccessKeys:{i}:Role is required: Viewer, Operator or Admin.");
            }
        }

        failures.AddRange(options.AccessKeys
            .Where(k => !string.IsNullOrWhiteSpace(k.AccessKeyId))
            .GroupBy(k => k.AccessKeyId, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .Select(g => $"Api:AccessKeys names access key {g.Key} {g.Count()} times."));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Checks AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
/// on API requests when access keys are configured. A request signed with an unknown key gets 403
/// UnrecognizedClientException; one whose signature does not match gets 403 InvalidSignatureException.
/// </summary>
internal static class SigV4
{
    private const string Algorithm = "AWS4-HMAC-SHA256";

    public static WebApplication UseSigV4(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var options = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value;
            var signIn = http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.Mode != AuthMode.None;
            if ((options.AccessKeys.Count == 0 && !signIn) || !IsApiRequest(http.Request))
            {
                await next(http);
                return;
            }

            var region = http.RequestServices.GetRequiredService<IOptions<BatchOptions>>().Value.Region;
            var failure = await VerifyAsync(http, options, region, http.RequestServices.GetRequiredService<TimeProvider>());
            if (failure is not null)
            {
                await failure.ExecuteAsync(http);
                return;
            }

            await next(http);
        });
        return app;
    }

    internal static bool IsApiRequest(HttpRequest request) =>
        request.Path.StartsWithSegments("/v1")
        || (HttpMethods.IsPost(request.Method) && request.Headers["X-Amz-Target"].ToString().StartsWith("Logs_20140328.", StringComparison.Ordinal));

    internal static async Task<AwsErrorResult?> VerifyAsync(HttpContext http, ApiOptions options, string region, TimeProvider time)
    {
        var request = http.Request;
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            return Denied("MissingAuthenticationTokenException", "Request is missing an AWS Signature Version 4 Authorization header; this portal requires signed requests.");
        }

        var parts = authorization[(Algorithm.Length + 1)..]
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("Credential", out var credential) || !parts.TryGetValue("SignedHeaders", out var signedHeaders) || !parts.TryGetValue("Signature", out var signature))
        {
            return Denied("IncompleteSignatureException", "Authorization header must name Credential, SignedHeaders and Signature.");
        }

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            return Denied("IncompleteSignatureException", $"Credential '{credential}' must be <access key>/<date>/<region>/<service>/aws4_request.");
        }

        // A key from configuration, or one a user made (with sign-in on): it acts with its role, or its user's.
        var configured = options.AccessKeys.FirstOrDefault(k => k.AccessKeyId == scope[0]);
        var key = configured is not null
            ? new ApiCredential(new Actor(configured.AccessKeyId, configured.Role!.Value, ActorVia.ApiKey, configured.AccessKeyId), configured.SecretAccessKey)
            : await http.RequestServices.GetRequiredService<UserService>().CredentialAsync(scope[0], http.RequestAborted);
        if (key is null)
        {
            return Denied("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var amzDate = request.Headers["X-Amz-Date"].ToString();
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return Denied("IncompleteSignatureException", "X-Amz-Date must be given as yyyyMMddTHHmmssZ.");
        }

        // The scope binds the signature to a day, a region and a service; the signed headers must cover the host (a
        // signature made for another server is no good here) and the date (else an old one could be replayed).
        var headerNames = signedHeaders.Split(';');
        if (!headerNames.Contains("host") || !headerNames.Contains("x-amz-date"))
        {
            return Denied("IncompleteSignatureException", $"SignedHeaders '{signedHeaders}' must include host and x-amz-date.");
        }

        if (scope[1] != amzDate[..8])
        {
            return Denied("InvalidSignatureException", $"Credential scope date {scope[1]} is not the day of X-Amz-Date {amzDate}.");
        }

        if (scope[2] != region)
        {
            return Denied("InvalidSignatureException", $"Credential scope region {scope[2]} is not this portal's region {region} (Engine:Aws:Region).");
        }

        var service = request.Path.StartsWithSegments("/v1") ? "batch" : "logs";
        if (scope[3] != service)
        {
            return Denied("InvalidSignatureException", $"Credential scope service {scope[3]} is not {service}.");
        }

        if (request.ContentLength > options.MaxBodyBytes)
        {
            return new AwsErrorResult(StatusCodes.Status413PayloadTooLarge, "ClientException", $"The request body ({request.ContentLength} bytes) is over the API's limit of {options.MaxBodyBytes} bytes (Api:MaxBodyBytes).");
        }

        if ((time.GetUtcNow() - signedAt).Duration() > options.MaxClockSkew)
        {
            return Denied("InvalidSignatureException", $"Signature expired: {amzDate} is more than {options.MaxClockSkew.TotalMinutes:0} minutes from the server's time.");
        }

        request.EnableBuffering();
        string payloadHash;
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[16 * 1024];
            int read;
            long total = 0;
            while ((read = await request.Body.ReadAsync(buffer, http.RequestAborted)) > 0)
            {
                total += read;
                if (total > options.MaxBodyBytes)
                {
                    return new AwsErrorResult(StatusCodes.Status413PayloadTooLarge, "ClientException", $"The request body is over the API's limit of {options.MaxBodyBytes} bytes (Api:MaxBodyBytes).");
                }

                sha.AppendData(buffer, 0, read);
            }

            payloadHash = Convert.ToHexStringLower(sha.GetHashAndReset());
            request.Body.Position = 0;
        }

        var canonicalHeaders = new StringBuilder();
        foreach (var name in headerNames)
        {
            var value = name == "host" ? request.Host.Value : string.Join(",", request.Headers[name].Select(v => v ?? string.Empty));
            canonicalHeaders.Append(name).Append(':').Append(CollapseSpaces(value ?? string.Empty)).Append('\n');
        }

        var rawTarget = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/";
        var rawPath = rawTarget.Split('?', 2)[0];
        var canonicalRequest = string.Join('\n',
            request.Method,
            CanonicalPath(rawPath),
            CanonicalQuery(request.Query),
            canonicalHeaders.ToString(),
            signedHeaders,
            payloadHash);
        var stringToSign = string.Join('\n',
            Algorithm,
            amzDate,
            string.Join('/', scope[1..]),
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));
        var signingKey = Hmac(Encoding.UTF8.GetBytes("AWS4" + key.SecretAccessKey), scope[1]);
        signingKey = Hmac(signingKey, scope[2]);
        signingKey = Hmac(signingKey, scope[3]);
        signingKey = Hmac(signingKey, "aws4_request");
        var expected = Convert.ToHexStringLower(Hmac(signingKey, stringToSign));
        if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            http.SetCaller(key.Actor);
            return null;
        }

        return Denied("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
    }

    /// <summary>Every path segment as the client sent it, URI-encoded once more (all services but S3 double-encode).</summary>
    private static string CanonicalPath(string rawPath)
    {
        if (string.IsNullOrEmpty(rawPath))
        {
            return "/";
        }

        return string.Join('/', rawPath.Split('/').Select(UriEncode));
    }

    private static string CanonicalQuery(IQueryCollection query) =>
        string.Join('&', query
            .SelectMany(q => q.Value.Select(v => (Key: UriEncode(q.Key), Value: UriEncode(v ?? string.Empty))))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));

    private static string UriEncode(string value)
    {
        var result = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                result.Append(c);
            }
            else
            {
                result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return result.ToString();
    }

    private static string CollapseSpaces(string value) =>
        string.Join(' ', value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static AwsErrorResult Denied(string type, string message) => new(StatusCodes.Status403Forbidden, type, message);
}
