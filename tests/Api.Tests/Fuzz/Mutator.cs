using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BatchPortal.Api.Tests.Fuzz;

/// <summary>One request body to send: what was changed, and the bytes.</summary>
public sealed record Mutation(string What, byte[] Body);

/// <summary>
/// Derives malformed variants of a valid JSON body: members dropped, values of the wrong type or out of range, unknown
/// members, broken JSON and UTF-8, deep nesting and oversized bodies. Everything random comes from the given
/// <see cref="Random"/>, so a seed reproduces a run.
/// </summary>
public static class Mutator
{
    private const string RawMarker = "__raw_json_marker__";

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Values put in place of a member: (label, JSON node or raw JSON text).</summary>
    private static readonly (string Label, Func<JsonNode?>? Node, string? Raw)[] Replacements =
    [
        ("string", () => JsonValue.Create("x"), null),
        ("empty string", () => JsonValue.Create(string.Empty), null),
        ("blank string", () => JsonValue.Create("   "), null),
        ("huge string", () => JsonValue.Create(new string('h', 70_000)), null),
        ("control characters", () => JsonValue.Create("a\u0000b\u001fc\nd"), null),
        ("non-ASCII", () => JsonValue.Create("名前-ü-😀"), null),
        ("numeric string", () => JsonValue.Create("12"), null),
        ("negative numeric string", () => JsonValue.Create("-9999999999999999999999"), null),
        ("ARN without a name", () => JsonValue.Create("arn:aws:batch:us-east-1:000000000000:job-queue/"), null),
        ("ARN with a bad revision", () => JsonValue.Create("arn:aws:batch:us-east-1:000000000000:job-definition/x:y"), null),
        ("zero", () => JsonValue.Create(0), null),
        ("negative", () => JsonValue.Create(-1), null),
        ("int32 overflow", null, "2147483648"),
        ("int64 overflow", null, "-9223372036854775809"),
        ("huge number", null, "1e308"),
        ("fraction", () => JsonValue.Create(1.5), null),
        ("true", () => JsonValue.Create(true), null),
        ("false", () => JsonValue.Create(false), null),
        ("null", () => null, null),
        ("empty array", () => new JsonArray(), null),
        ("mixed array", () => new JsonArray(JsonValue.Create("x"), JsonValue.Create(1), null, new JsonObject()), null),
        ("empty object", () => new JsonObject(), null),
        ("nested object", () => new JsonObject { ["x"] = new JsonObject { ["y"] = new JsonArray() } }, null),
        ("lone surrogate", null, "\"\\ud800\""),
        ("reversed surrogates", null, "\"\\udc00\\ud800\""),
        ("nesting deeper than allowed", null, new string('[', 100) + new string(']', 100)),
    ];

    public static IEnumerable<Mutation> Mutate(Func<JsonObject> valid, Random random, int oversizeBytes, double replacementShare = 1.0)
    {
        yield return new("valid", Utf8(valid()));

        foreach (var path in Paths(valid()))
        {
            var dropped = valid();
            Remove(dropped, path);
            yield return new($"drop {Show(path)}", Utf8(dropped));

            foreach (var (label, node, raw) in Replacements)
            {
                if (random.NextDouble() >= replacementShare)
                {
                    continue;
                }

                var changed = valid();
                if (node is not null)
                {
                    Set(changed, path, node());
                    yield return new($"{Show(path)} = {label}", Utf8(changed));
                }
                else
                {
                    Set(changed, path, JsonValue.Create(RawMarker));
                    yield return new($"{Show(path)} = {label}", Encoding.UTF8.GetBytes(changed.ToJsonString(Relaxed).Replace($"\"{RawMarker}\"", raw, StringComparison.Ordinal)));
                }
            }

            if (Get(valid(), path) is JsonObject)
            {
                var extended = valid();
                ((JsonObject)Get(extended, path)!)["bogusMember"] = JsonValue.Create(1);
                yield return new($"unknown member in {Show(path)}", Utf8(extended));
            }
        }

        var root = valid();
        root["bogusMember"] = new JsonObject { ["nested"] = new JsonArray(JsonValue.Create(1)) };
        yield return new("unknown member at the root", Utf8(root));

        var text = valid().ToJsonString(Relaxed);
        yield return new("empty body", []);
        yield return new("whitespace body", "  \n\t "u8.ToArray());
        foreach (var other in new[] { "null", "[]", "[{}]", "\"text\"", "42", "true", "{", "}", "{}{}", "{\"a\":}", "{'single':'quotes'}", "{\"a\":1,}" })
        {
            yield return new($"body {other}", Encoding.UTF8.GetBytes(other));
        }

        for (var i = 0; i < 6; i++)
        {
            var cut = random.Next(1, text.Length - 1);
            yield return new($"truncated at {cut}", Encoding.UTF8.GetBytes(text[..cut]));
        }

        yield return new("trailing garbage", Encoding.UTF8.GetBytes(text + "garbage"));
        yield return new("comment", Encoding.UTF8.GetBytes("/* comment */" + text));
        yield return new("byte order mark", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]);
        yield return new("duplicate members", Encoding.UTF8.GetBytes("{" + text[1..^1] + "," + text[1..]));
        yield return new("NaN", Encoding.UTF8.GetBytes(text[..^1] + ",\"x\":NaN}"));

        // Invalid UTF-8: a stray continuation byte, an overlong encoding, a cut multi-byte sequence, a bare 0xFF.
        var bytes = Encoding.UTF8.GetBytes(text);
        var quote = Array.IndexOf(bytes, (byte)'"', 2);
        foreach (var (label, bad) in new (string, byte[])[] { ("continuation byte", [0x80]), ("overlong", [0xC0, 0xAF]), ("cut sequence", [0xE2, 0x82]), ("0xFF", [0xFF]) })
        {
            yield return new($"invalid UTF-8 ({label}) in a string", [.. bytes[..(quote + 1)], .. bad, .. bytes[(quote + 1)..]]);
            var at = random.Next(0, bytes.Length);
            yield return new($"invalid UTF-8 ({label}) at {at}", [.. bytes[..at], .. bad, .. bytes[at..]]);
        }

        yield return new("nesting 100 000 deep", Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000)));
        yield return new("objects nested 33 deep", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 33)) + "1" + new string('}', 33)));
        yield return new("objects nested 31 deep", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 31)) + "1" + new string('}', 31)));

        // Over the operation's size limit, but otherwise valid: the padding sits in an unknown member.
        var big = valid();
        big["padding"] = new string('p', oversizeBytes + 1024);
        yield return new($"body over {oversizeBytes / 1024} KiB", Utf8(big));
    }

    /// <summary>Every member and array element, depth first, as paths of names and indexes.</summary>
    public static List<object[]> Paths(JsonNode node)
    {
        var paths = new List<object[]>();
        Walk(node, [], paths);
        return paths;
    }

    public static JsonNode? Get(JsonNode root, object[] path)
    {
        JsonNode? node = root;
        foreach (var segment in path)
        {
            node = segment is string name ? node![name] : node![(int)segment];
        }

        return node;
    }

    private static void Walk(JsonNode node, object[] at, List<object[]> paths)
    {
        if (node is JsonObject obj)
        {
            foreach (var (name, child) in obj)
            {
                object[] path = [.. at, name];
                paths.Add(path);
                if (child is not null)
                {
                    Walk(child, path, paths);
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                object[] path = [.. at, i];
                paths.Add(path);
                if (array[i] is { } child)
                {
                    Walk(child, path, paths);
                }
            }
        }
    }

    private static void Set(JsonNode root, object[] path, JsonNode? value)
    {
        var parent = Get(root, path[..^1])!;
        if (path[^1] is string name)
        {
            parent[name] = value;
        }
        else
        {
            parent[(int)path[^1]] = value;
        }
    }

    private static void Remove(JsonNode root, object[] path)
    {
        var parent = Get(root, path[..^1])!;
        if (path[^1] is string name)
        {
            ((JsonObject)parent).Remove(name);
        }
        else
        {
            ((JsonArray)parent).RemoveAt((int)path[^1]);
        }
    }

    private static string Show(object[] path) => string.Join('.', path.Select(p => p is int i ? $"[{i}]" : (string)p)).Replace(".[", "[", StringComparison.Ordinal);

    private static byte[] Utf8(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString(Relaxed));
}
