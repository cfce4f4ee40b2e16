using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BatchPortal.Engine.Domain;

namespace BatchPortal.Portal.Api;

/// <summary>A request body, read within AWS's size limit and parsed strictly, with errors that name the member.</summary>
internal sealed class AwsRequest(JsonElement body)
{
    public JsonElement Body { get; } = body;

    public static async Task<Result<AwsRequest>> ReadAsync(HttpRequest request, int maxBytes, string operation, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes)
        {
            return Too(operation, maxBytes, request.ContentLength.Value);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
            {
                return Too(operation, maxBytes, buffer.Length);
            }
        }

        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
        {
            return new ValidationFailed("body", "The request body is not valid UTF-8.");
        }

        if (buffer.Length == 0 || Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).Trim().Length == 0)
        {
            return new AwsRequest(JsonDocument.Parse("{}").RootElement.Clone());
        }

        try
        {
            using var doc = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 32 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new ValidationFailed("body", $"The request body must be a JSON object, not {Describe(doc.RootElement.ValueKind)}.");
            }

            return new AwsRequest(doc.RootElement.Clone());
        }
        catch (JsonException ex)
        {
            return new ValidationFailed("body", $"The request body is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>Binds the body to <typeparamref name="T"/>; a member of the wrong type is named in the error.</summary>
    public Result<T> Bind<T>()
        where T : new()
    {
        try
        {
            // AWS reads a member set to null as a member left out, and the SDKs never send null inside a list. Without
            // this, null would replace a list's empty default (or sit in it) and reach the engine, which answered 500.
            var node = JsonNode.Parse(Body.GetRawText());
            if (WithoutNulls(node, "$") is { } nullInList)
            {
                return new ValidationFailed(nullInList, $"Invalid value for {nullInList}: a list cannot contain null.");
            }

            return node.Deserialize<T>(AwsJson.Options) ?? new T();
        }
        catch (JsonException ex)
        {
            var member = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "the request" : ex.Path.TrimStart('$', '.');
            return new ValidationFailed(member, $"Invalid value for {member}: {Expected(ex)}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // Text that is JSON but not Unicode (a lone surrogate such as "\ud800"), or a member named twice.
            return new ValidationFailed("body", $"The request body cannot be read: {ex.Message}");
        }
    }

    /// <summary>Removes null-valued members everywhere; returns the path of a null list element, which cannot be removed.</summary>
    private static string? WithoutNulls(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Where(p => p.Value is null).Select(p => p.Key).ToList())
                {
                    obj.Remove(name);
                }

                foreach (var (name, child) in obj)
                {
                    if (WithoutNulls(child, $"{path}.{name}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is null)
                    {
                        return $"{path}[{i}]"[2..];
                    }

                    if (WithoutNulls(array[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static string Expected(JsonException ex)
    {
        var m = ex.Message;
        return m.Contains("Int32", StringComparison.Ordinal) || m.Contains("Int64", StringComparison.Ordinal) ? "expected an integer."
            : m.Contains("Boolean", StringComparison.Ordinal) ? "expected true or false."
            : m.Contains("System.String", StringComparison.Ordinal) ? "expected a string."
            : m.Contains("List`1", StringComparison.Ordinal) ? "expected a list."
            : m.Contains("Dictionary`2", StringComparison.Ordinal) ? "expected an object of string values."
            : m.Contains("Double", StringComparison.Ordinal) ? "expected a number."
            : "it does not have the expected type or shape.";
    }

    private static ValidationFailed Too(string operation, int maxBytes, long actual) =>
        new("body", $"The {operation} request is {actual} bytes; the limit is {maxBytes / 1024} KiB.");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
