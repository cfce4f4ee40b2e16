using BatchPortal.Engine.Domain;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>The Engine's field errors, looked up by the field an input stands for.</summary>
public sealed class FormErrors
{
    private IReadOnlyList<FieldError> _errors = [];

    public bool Any => _errors.Count > 0;

    public IReadOnlyList<FieldError> All => _errors;

    public void Set(IReadOnlyList<FieldError> errors) => _errors = errors;

    public void Clear() => _errors = [];

    public bool Has(string field) => _errors.Any(e => e.Field == field || e.Field.StartsWith(field + "[", StringComparison.Ordinal));

    public string? For(string field) =>
        string.Join(" ", _errors.Where(e => e.Field == field || e.Field.StartsWith(field + "[", StringComparison.Ordinal)).Select(e => e.Message)) is { Length: > 0 } s ? s : null;
}
