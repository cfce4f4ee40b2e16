using BatchPortal.Engine.Domain;
using MudBlazor;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>The Engine's field errors, looked up by the field an input stands for.</summary>
public sealed class FormErrors
{
    private IReadOnlyList<FieldError> _errors = [];

    public bool Any => _errors.Count > 0;

    public IReadOnlyList<FieldError> All => _errors;

    public void Set(IReadOnlyList<FieldError> errors) => _errors = errors;

    public void Clear() => _errors = [];

    /// <summary>
    /// Shows what a save returned: field errors inline, any other error (a name taken meanwhile, a resource in use) as a
    /// message. True when it succeeded.
    /// </summary>
    public bool Accept<T>(Result<T> result, ISnackbar snackbar)
    {
        switch (result.Error)
        {
            case ValidationFailed failed:
                Set(failed.Errors);
                return false;
            case { } error:
                snackbar.Add(error.Message, Severity.Error);
                return false;
            default:
                Clear();
                return true;
        }
    }

    public bool Has(string field) => _errors.Any(e => e.Field == field || e.Field.StartsWith(field + "[", StringComparison.Ordinal));

    public string? For(string field) =>
        string.Join(" ", _errors.Where(e => e.Field == field || e.Field.StartsWith(field + "[", StringComparison.Ordinal)).Select(e => e.Message)) is { Length: > 0 } s ? s : null;
}
