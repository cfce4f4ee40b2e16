using Polly;
using Polly.Retry;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// The engine's Docker calls, tried again with backoff when the engine does not answer. Every call here is safe to
/// repeat (a container's name is its attempt's, so a create that is tried again finds the first). A call that keeps
/// failing throws as before; a failure that may have reached the engine once stays marked so, whatever the later tries
/// said, so that a caller never takes "not done" for granted. Health probes and log streams are not retried here: a
/// probe reports what it sees, and a stream is resumed from what is stored by its reader.
/// </summary>
internal sealed class ResilientContainerRuntime : IContainerRuntime
{
    private readonly IContainerRuntime _inner;
    private readonly ResiliencePipeline _pipeline;

    public ResilientContainerRuntime(IContainerRuntime inner, int retries, TimeProvider time)
    {
        _inner = inner;
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ContainerRuntimeUnavailableException>(),
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(200),
                UseJitter = true,
            });
        }

        _pipeline = builder.Build();
    }

    public string Endpoint => _inner.Endpoint;

    public Task<HostInfo> GetHostInfoAsync(CancellationToken ct) => _inner.GetHostInfoAsync(ct);

    public Task EnsureImageAsync(string image, CancellationToken ct) => RunAsync(c => _inner.EnsureImageAsync(image, c), ct);

    public Task<bool> HasImageAsync(string image, CancellationToken ct) => RunAsync(c => _inner.HasImageAsync(image, c), ct);

    public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct) => RunAsync(c => _inner.FindAttemptContainerAsync(jobId, attempt, c), ct);

    public Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct) => RunAsync(_inner.ListManagedAsync, ct);

    public Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct) => RunAsync(c => _inner.CreateAndStartAsync(spec, c), ct);

    public Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct) => RunAsync(c => _inner.WaitAsync(containerId, c), ct);

    public Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct) => RunAsync(c => _inner.InspectAsync(containerId, c), ct);

    public IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, CancellationToken ct) =>
        _inner.ReadLogsAsync(containerId, sinceNanos, follow, ct);

    public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct) => RunAsync(async c => { await _inner.StopAsync(containerId, grace, c); return true; }, ct);

    public Task RemoveAsync(string containerId, CancellationToken ct) => RunAsync(async c => { await _inner.RemoveAsync(containerId, c); return true; }, ct);

    private async Task RunAsync(Func<CancellationToken, Task> call, CancellationToken ct) =>
        await RunAsync(async c => { await call(c); return true; }, ct);

    private async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var mayHaveReached = false;
        try
        {
            return await _pipeline.ExecuteAsync(
                async c =>
                {
                    try
                    {
                        return await call(c);
                    }
                    catch (ContainerRuntimeUnavailableException ex)
                    {
                        mayHaveReached |= ex.MayHaveReachedEngine;
                        throw;
                    }
                },
                ct);
        }
        catch (ContainerRuntimeUnavailableException ex) when (mayHaveReached && !ex.MayHaveReachedEngine)
        {
            throw new ContainerRuntimeUnavailableException(ex.Endpoint, ex.Error, ex, mayHaveReachedEngine: true);
        }
    }
}
