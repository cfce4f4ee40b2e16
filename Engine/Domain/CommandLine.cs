using System.Text;
using System.Text.Json;

namespace BatchPortal.Engine.Domain;

/// <summary>
/// The console's two ways to write a command: "Space delimited" (split on spaces, with "double" or 'single' quotes keeping
/// spaces together, as a shell would) and "JSON" (an array of strings).
/// </summary>
public static class CommandLine
{
    public static Result<List<string>> SplitSpaceDelimited(string? text)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        var inArg = false;
        char? quote = null;
        foreach (var ch in text ?? string.Empty)
        {
            if (quote is { } q)
            {
                if (ch == q)
                {
                    quote = null;
                }
                else
                {
                    current.Append(ch);
                }
            }
            else if (ch is '"' or '\'')
            {
                quote = ch;
                inArg = true;
            }
            else if (char.IsWhiteSpace(ch))
            {
                if (inArg)
                {
                    args.Add(current.ToString());
                    current.Clear();
                    inArg = false;
                }
            }
            else
            {
                current.Append(ch);
                inArg = true;
            }
        }

        if (quote is { } open)
        {
            return new ValidationFailed("command", $"Command has an unclosed {open} quote.");
        }

        if (inArg)
        {
            args.Add(current.ToString());
        }

        return args;
    }

    public static Result<List<string>> ParseJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new List<string>();
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                return new ValidationFailed("command", "Command JSON must be an array of strings, e.g. [\"echo\", \"hello world\"].");
            }

            var args = new List<string>();
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    return new ValidationFailed("command", $"Command JSON must be an array of strings; element {args.Count + 1} is a {item.ValueKind.ToString().ToLowerInvariant()}.");
                }

                args.Add(item.GetString()!);
            }

            return args;
        }
        catch (JsonException ex)
        {
            return new ValidationFailed("command", $"Command is not valid JSON: {ex.Message}");
        }
    }

    // Shown to people and sent as JSON, never embedded in HTML unencoded: '>' and '&' stay readable.
    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ToJson(IEnumerable<string> args) => JsonSerializer.Serialize(args, Readable);

    /// <summary>Writes arguments back as space-delimited text, quoting those that need it.</summary>
    public static string ToSpaceDelimited(IEnumerable<string> args) => string.Join(' ', args.Select(Quote));

    private static string Quote(string arg)
    {
        if (arg.Length > 0 && !arg.Any(c => char.IsWhiteSpace(c) || c is '"' or '\''))
        {
            return arg;
        }

        if (!arg.Contains('"', StringComparison.Ordinal))
        {
            return $"\"{arg}\"";
        }

        if (!arg.Contains('\'', StringComparison.Ordinal))
        {
            return $"'{arg}'";
        }

        // Both quote kinds: there are no escapes, so write adjacent quoted runs ("it's" then '"x"'), which the splitter
        // joins back into one argument.
        var text = new StringBuilder();
        char? open = null;
        foreach (var ch in arg)
        {
            var quote = ch == '"' ? '\'' : ch == '\'' ? '"' : open ?? '"';
            if (open != quote)
            {
                if (open is { } close)
                {
                    text.Append(close);
                }

                text.Append(quote);
                open = quote;
            }

            text.Append(ch);
        }

        return text.Append(open!.Value).ToString();
    }
}
