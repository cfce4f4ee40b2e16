using System.Text.Json;

namespace BatchPortal.Api.Tests.Support;

/// <summary>Reading members of AWS-shaped JSON in assertions, with the whole element in the failure message.</summary>
public static class JsonAssert
{
    public static JsonElement Member(this JsonElement element, string name)
    {
        Assert.True(
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out _),
            $"Expected member '{name}' in {element}");
        return element.GetProperty(name);
    }

    public static string Str(this JsonElement element, string name)
    {
        var value = element.Member(name);
        Assert.True(value.ValueKind == JsonValueKind.String, $"Expected '{name}' to be a string in {element}");
        return value.GetString()!;
    }

    public static long Number(this JsonElement element, string name)
    {
        var value = element.Member(name);
        Assert.True(value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _), $"Expected '{name}' to be an integer in {element}");
        return value.GetInt64();
    }

    public static bool Bool(this JsonElement element, string name)
    {
        var value = element.Member(name);
        Assert.True(value.ValueKind is JsonValueKind.True or JsonValueKind.False, $"Expected '{name}' to be true or false in {element}");
        return value.GetBoolean();
    }

    public static JsonElement[] Items(this JsonElement element, string name)
    {
        var value = element.Member(name);
        Assert.True(value.ValueKind == JsonValueKind.Array, $"Expected '{name}' to be a list in {element}");
        return [.. value.EnumerateArray()];
    }

    public static string? OptionalStr(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool Has(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;
}
