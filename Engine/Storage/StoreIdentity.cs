using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>A setting of the database itself, kept as a named value.</summary>
public sealed class EngineSetting
{
    public required string Name { get; init; }

    public required string Value { get; set; }
}

/// <summary>
/// This database's own id, made once with it. Every container carries it as a label, so that reconciliation removes a
/// container whose job it does not know only when this database made it (not one of another portal on the same engine).
/// </summary>
public sealed class StoreIdentity(IDbContextFactory<BatchDbContext> dbFactory)
{
    public const string SettingName = "store-id";
    private string? _id;

    public string Id => _id ?? throw new InvalidOperationException("The store's id is read when the database is initialized; it has not been.");

    /// <summary>Reads the id, making it when the database has none yet.</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var setting = await db.EngineSettings.FirstOrDefaultAsync(s => s.Name == SettingName, ct);
        if (setting is null)
        {
            setting = new EngineSetting { Name = SettingName, Value = Guid.NewGuid().ToString("N") };
            db.EngineSettings.Add(setting);
            await db.SaveChangesAsync(ct);
        }

        _id = setting.Value;
    }
}
