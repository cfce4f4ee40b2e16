namespace BatchPortal.Engine.Domain;

/// <summary>
/// An expected failure, returned rather than thrown. The console shows <see cref="Message"/>; the AWS API maps every
/// one of these to HTTP 400 <c>ClientException</c>.
/// </summary>
public abstract record BatchError(string Message);

/// <summary>One bad input, named by the field it came from (the AWS member path, e.g. <c>computeResources.maxvCpus</c>).</summary>
public sealed record FieldError(string Field, string Message);

public sealed record ValidationFailed(IReadOnlyList<FieldError> Errors)
    : BatchError(string.Join(" ", Errors.Select(e => e.Message)))
{
    public ValidationFailed(string field, string message) : this([new FieldError(field, message)])
    {
    }

    public string? For(string field) => Errors.FirstOrDefault(e => e.Field == field)?.Message;
}

public sealed record ResourceNotFound(string Kind, string Name) : BatchError($"{Kind} {Name} does not exist.");

/// <summary>The request is well formed but conflicts with the current state (a name taken, a resource in use).</summary>
public sealed record ResourceConflict(string Reason) : BatchError(Reason);

/// <summary>The caller's role does not hold what the operation takes (AWS's 403 AccessDeniedException at the API).</summary>
public sealed record AccessDenied(string Reason) : BatchError(Reason);

/// <summary>The value of an operation that can fail with a <see cref="BatchError"/>.</summary>
public readonly record struct Result<T>
{
    private Result(T? value, BatchError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public BatchError? Error { get; }

    public bool IsSuccess => Error is null;

    public static Result<T> Ok(T value) => new(value, null);

    public static Result<T> Fail(BatchError error) => new(default, error);

    public static implicit operator Result<T>(T value) => Ok(value);

    public static implicit operator Result<T>(BatchError error) => Fail(error);
}
