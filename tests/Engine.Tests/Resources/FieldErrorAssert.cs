using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Resources;

internal static class FieldErrorAssert
{
    /// <summary>Exactly one error, on <paramref name="field"/>, whose message names each of <paramref name="mentions"/>.</summary>
    public static FieldError Single(IReadOnlyList<FieldError> errors, string field, params string[] mentions)
    {
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Message, StringComparison.Ordinal);
        }

        return error;
    }

    public static void None(IReadOnlyList<FieldError> errors) =>
        Assert.True(errors.Count == 0, "Expected no errors, got: " + string.Join(" | ", errors.Select(e => $"{e.Field}: {e.Message}")));
}
