namespace BatchPortal.Portal.Components.Shared;

/// <summary>One editable name/value row (a tag, an environment variable, a parameter).</summary>
public sealed class NameValue
{
    public string? Name { get; set; }

    public string? Value { get; set; }

    public static Dictionary<string, string> ToDictionary(IEnumerable<NameValue> rows) =>
        rows.Where(r => !string.IsNullOrWhiteSpace(r.Name)).GroupBy(r => r.Name!.Trim()).ToDictionary(g => g.Key, g => g.Last().Value ?? string.Empty);

    public static List<NameValue> From(IEnumerable<KeyValuePair<string, string>> pairs) =>
        [.. pairs.Select(p => new NameValue { Name = p.Key, Value = p.Value })];
}
