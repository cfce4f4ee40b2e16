using System.Text.Json;
using BatchPortal.Engine.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace BatchPortal.Engine.Storage;

public sealed class BatchDbContext : DbContext
{
    public BatchDbContext(DbContextOptions<BatchDbContext> options)
        : base(options)
    {
        // Every SaveChanges in a transaction, also a single statement's: on SQLite a transaction takes its turn at the
        // write lock in order (SqliteWriteGate), and a bare statement would wait for the lock by sleeping and trying
        // again, behind writers that never leave a gap. Kept by the context pool for every context it hands out.
        Database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
    }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public DbSet<ComputeEnvironment> ComputeEnvironments => Set<ComputeEnvironment>();

    public DbSet<JobQueue> JobQueues => Set<JobQueue>();

    public DbSet<JobDefinition> JobDefinitions => Set<JobDefinition>();

    public DbSet<Job> Jobs => Set<Job>();

    public DbSet<JobAttempt> JobAttempts => Set<JobAttempt>();

    public DbSet<JobStatusChange> JobStatusChanges => Set<JobStatusChange>();

    public DbSet<LogEvent> LogEvents => Set<LogEvent>();

    public DbSet<JobDependencyEdge> JobDependencyEdges => Set<JobDependencyEdge>();

    public DbSet<Schedule> Schedules => Set<Schedule>();

    public DbSet<EngineSetting> EngineSettings => Set<EngineSetting>();

    public DbSet<Access.AuditEntry> AuditEntries => Set<Access.AuditEntry>();

    public DbSet<Access.PortalUser> Users => Set<Access.PortalUser>();

    public DbSet<Access.ApiKey> ApiKeys => Set<Access.ApiKey>();

    /// <summary>
    /// The setting that changes, to a new random value, with every change of a job queue or a job definition (tags
    /// included), in the transaction that makes it. A submission that read it before it resolved its queue and its
    /// definition, and finds it unchanged in its write, was checked against what is stored (see <c>SubmitCatalog</c>).
    /// Random rather than counted: two changes at once, on any database, cannot leave it as one of them found it.
    /// </summary>
    public const string CatalogTokenName = "catalog-token";

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        if (BumpVersions())
        {
            SetCatalogToken(EngineSettings.Find(CatalogTokenName));
        }

        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (BumpVersions())
        {
            SetCatalogToken(await EngineSettings.FindAsync([CatalogTokenName], cancellationToken));
        }

        return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>
    /// Every modified resource moves its version; the concurrency token makes the UPDATE match the version read. Returns
    /// whether a job queue or a job definition is added, changed or removed.
    /// </summary>
    private bool BumpVersions()
    {
        // (Writers that turn automatic change detection off write jobs and logs, never resources.)
        var catalogChanged = false;
        foreach (var entry in ChangeTracker.Entries<IVersioned>())
        {
            if (entry.State == EntityState.Modified)
            {
                entry.Entity.Version++;
            }

            catalogChanged |= entry.Entity is JobQueue or JobDefinition && entry.State is EntityState.Added or EntityState.Modified or EntityState.Deleted;
        }

        return catalogChanged;
    }

    private void SetCatalogToken(EngineSetting? setting)
    {
        var token = Guid.NewGuid().ToString("N");
        if (setting is null)
        {
            EngineSettings.Add(new EngineSetting { Name = CatalogTokenName, Value = token });
        }
        else
        {
            setting.Value = token;
        }
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite cannot order or compare DateTimeOffset stored as text; epoch milliseconds sort and match AWS's wire format.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<EpochMillisecondsConverter>();
        configurationBuilder.Properties<JobStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<ResourceState>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<ResourceStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<ComputeEnvironmentType>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<JobDefinitionStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<MissedRunPolicy>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<OverlapPolicy>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<Access.Role>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<Access.ActorVia>().HaveConversion<string>().HaveMaxLength(16);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        // Appended in time order and read newest first by Id; no other index, so that a submission's entry costs little.
        modelBuilder.Entity<Access.AuditEntry>(e =>
        {
            e.Property(x => x.Actor).HasMaxLength(Access.Actor.MaxNameLength);
            e.Property(x => x.Action).HasMaxLength(64);
            e.Property(x => x.Target).HasMaxLength(512);
            e.Property(x => x.Detail).HasMaxLength(Access.AuditEntry.MaxDetailLength);
            e.Ignore(x => x.Source);
        });

        modelBuilder.Entity<Access.PortalUser>(e =>
        {
            e.HasKey(x => x.UserName);
            // User names compare without case, as people type them (the migration creates the column COLLATE NOCASE).
            e.Property(x => x.UserName).HasMaxLength(Access.PortalUser.MaxUserNameLength).UseCollation("NOCASE");
            e.HasMany(x => x.ApiKeys).WithOne().HasForeignKey(k => k.UserName).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<Access.ApiKey>(e =>
        {
            e.HasKey(x => x.AccessKeyId);
            e.Property(x => x.UserName).UseCollation("NOCASE");
            e.HasIndex(x => x.UserName);
        });

        modelBuilder.Entity<ComputeEnvironment>(e =>
        {
            e.HasIndex(x => x.Name).IsUnique();
            e.Property(x => x.Version).IsConcurrencyToken();
            e.Property(x => x.ComputeResources).AsJson();
            e.Property(x => x.Tags).AsJson();
        });

        modelBuilder.Entity<JobQueue>(e =>
        {
            e.HasIndex(x => x.Name).IsUnique();
            e.Property(x => x.Version).IsConcurrencyToken();
            e.Property(x => x.ComputeEnvironmentOrder).AsJson();
            e.Property(x => x.JobStateTimeLimitActions).AsJson();
            e.Property(x => x.Tags).AsJson();
        });

        modelBuilder.Entity<JobDefinition>(e =>
        {
            e.HasIndex(x => new { x.Name, x.Revision }).IsUnique();
            e.Property(x => x.Version).IsConcurrencyToken();
            e.Property(x => x.ContainerProperties).AsJson();
            e.Property(x => x.Parameters).AsJson();
            e.Property(x => x.RetryStrategy).AsJson();
            e.Property(x => x.Timeout).AsJson();
            e.Property(x => x.PlatformCapabilities).AsJson();
            e.Property(x => x.Tags).AsJson();
        });

        modelBuilder.Entity<Job>(e =>
        {
            e.HasKey(x => x.Seq);
            e.HasAlternateKey(x => x.Id);
            e.Property(x => x.Version).IsConcurrencyToken();

            // Null on array children, which share their parent's (JobQueries fills them in).
            e.Property(x => x.Container).AsJson().IsRequired(false);
            e.Property(x => x.Parameters).AsJson().IsRequired(false);
            e.Property(x => x.RetryStrategy).AsJson();
            e.Property(x => x.Timeout).AsJson();
            e.Property(x => x.Tags).AsJson();
            e.Property(x => x.DependsOn).AsJson();
            e.HasIndex(x => new { x.ParentJobId, x.Status });
            e.HasIndex(x => new { x.ScheduleName, x.ScheduledFireTime }).IsUnique();
            e.HasMany(x => x.Attempts).WithOne().HasForeignKey(a => a.JobId).HasPrincipalKey(x => x.Id);
            e.HasIndex(x => new { x.Status, x.Seq });
            e.HasIndex(x => new { x.QueueName, x.Status, x.Seq });

            // The jobs page and ListJobs list top-level jobs (ParentJobId null) of one queue newest first, with or without a
            // status: without these, SQLite sorted and counted every row of the queue (100 ms at 60,000 jobs, per open board).
            e.HasIndex(x => new { x.QueueName, x.ParentJobId, x.Seq });
            e.HasIndex(x => new { x.QueueName, x.ParentJobId, x.Status, x.Seq });

            // Across all queues: the unfiltered jobs page (newest top-level jobs) reads the first 50 entries of
            // (ParentJobId, Seq) instead of sorting 100,000 rows; "name starts with" is a range of (ParentJobId, Name).
            // The migration (JobNameIndexes) creates the Name column of that index COLLATE NOCASE, which EF cannot
            // express for SQLite: only then does SQLite turn LIKE 'prefix%' (which ignores ASCII case) and the
            // NOCASE comparison of AWS's JOB_NAME filter into that range. A migration that rebuilds the Jobs table
            // must create it so again (as EngineCoreData does after EngineCore rebuilt the table).
            e.HasIndex(x => new { x.ParentJobId, x.Seq });
            e.HasIndex(x => new { x.ParentJobId, x.Name, x.Seq });
            e.HasIndex(x => x.CreatedAt);
            e.HasIndex(x => new { x.Status, x.StoppedAt });

            // A dispatch pass reads the PENDING jobs whose wait is over, or one of whose dependencies failed: these lead
            // to them without reading the ones that still wait.
            e.HasIndex(x => new { x.Status, x.WaitsFor });
            e.HasIndex(x => new { x.Status, x.WaitFailed });
        });

        modelBuilder.Entity<JobAttempt>(e =>
        {
            e.HasIndex(x => new { x.JobId, x.Number }).IsUnique();
            e.HasIndex(x => x.LogStreamName);

            // DescribeLogStreams with orderBy LastEventTime: the latest Docker time stored of each attempt.
            e.HasIndex(x => x.LogCursorNanos);
        });
        modelBuilder.Entity<JobStatusChange>(e => e.HasIndex(x => x.JobId));
        modelBuilder.Entity<Schedule>(e =>
        {
            e.HasIndex(x => x.Name).IsUnique();
            e.Property(x => x.Version).IsConcurrencyToken();
            e.Property(x => x.Parameters).AsJson();
            e.Property(x => x.Overrides).AsJson();
            e.Property(x => x.RetryStrategy).AsJson();
            e.Property(x => x.Timeout).AsJson();
        });
        modelBuilder.Entity<JobDependencyEdge>(e =>
        {
            e.HasIndex(x => x.JobId);
            e.HasIndex(x => x.DependsOnJobId);
        });
        modelBuilder.Entity<LogEvent>(e => e.HasIndex(x => new { x.JobId, x.Attempt, x.Id }));
        modelBuilder.Entity<EngineSetting>(e => e.HasKey(x => x.Name));
    }

    private sealed class EpochMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.ToUnixTimeMilliseconds(),
        v => DateTimeOffset.FromUnixTimeMilliseconds(v));
}

internal static class JsonColumnExtensions
{
    /// <summary>Stores a settings object (AWS's nested shapes) as one JSON text column, compared by value.</summary>
    public static PropertyBuilder<T> AsJson<T>(this PropertyBuilder<T> property)
    {
        var comparer = new ValueComparer<T>(
            (a, b) => JsonSerializer.Serialize(a, BatchDbContext.Json) == JsonSerializer.Serialize(b, BatchDbContext.Json),
            v => JsonSerializer.Serialize(v, BatchDbContext.Json).GetHashCode(StringComparison.Ordinal),
            v => JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(v, BatchDbContext.Json), BatchDbContext.Json)!);
        property.HasConversion(
            v => JsonSerializer.Serialize(v, BatchDbContext.Json),
            s => JsonSerializer.Deserialize<T>(s, BatchDbContext.Json)!,
            comparer);
        return property;
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the portal.</summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<BatchDbContext>
{
    public BatchDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<BatchDbContext>().UseSqlite("Data Source=design.db").Options);
}
