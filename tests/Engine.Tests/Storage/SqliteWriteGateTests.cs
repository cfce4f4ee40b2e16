using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>The engine's write transactions on SQLite take turns inside the process (see <see cref="SqliteWriteGate"/>).</summary>
public sealed class SqliteWriteGateTests
{
    // Well under the gate's own wait (the connection's 30 s timeout), after which a transaction goes ahead without a turn.
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Transaction_GetsItsTurn_WhenTheOneBeforeWasDisposedWithoutCommitOrRollback()
    {
        await using var engine = await EngineHarness.CreateAsync();
        var factory = engine.Get<IDbContextFactory<BatchDbContext>>();
        await using var first = await factory.CreateDbContextAsync();
        await using (await first.Database.BeginTransactionAsync())
        {
            // Left without commit or rollback, as an exception would leave it.
        }

        await using var second = await factory.CreateDbContextAsync();
        await using var tx = await second.Database.BeginTransactionAsync().WaitAsync(Soon);
        await tx.CommitAsync();
    }

    [Fact]
    public async Task Transaction_WaitsForTheTurn_UntilTheOneBeforeCommits()
    {
        await using var engine = await EngineHarness.CreateAsync();
        var factory = engine.Get<IDbContextFactory<BatchDbContext>>();
        await using var first = await factory.CreateDbContextAsync();
        await using var holding = await first.Database.BeginTransactionAsync();

        await using var second = await factory.CreateDbContextAsync();
        var waiting = second.Database.BeginTransactionAsync();
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted, "the second write transaction started while the first held the turn");

        await holding.CommitAsync();
        await using var tx = await waiting.WaitAsync(Soon);
        await tx.CommitAsync();
    }

    [Fact]
    public async Task SaveChanges_TakesATurn_EvenForOneStatement()
    {
        await using var engine = await EngineHarness.CreateAsync();
        var factory = engine.Get<IDbContextFactory<BatchDbContext>>();
        await using (var used = await factory.CreateDbContextAsync())
        {
            Assert.Equal(AutoTransactionBehavior.Always, used.Database.AutoTransactionBehavior);
            used.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
        }

        // The pool gives contexts back as they were made, not as the last user left them.
        await using var again = await factory.CreateDbContextAsync();
        Assert.Equal(AutoTransactionBehavior.Always, again.Database.AutoTransactionBehavior);
    }
}
