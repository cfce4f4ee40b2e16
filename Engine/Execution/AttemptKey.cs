namespace BatchPortal.Engine.Execution;

/// <summary>How the execution classes name one attempt of a job in their per-attempt maps (launches, stops, watches, log locks).</summary>
internal static class AttemptKey
{
    public static string Of(string jobId, int attempt) => $"{jobId}#{attempt}";
}
