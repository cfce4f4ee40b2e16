namespace BatchPortal.Engine.Domain;

/// <summary>
/// A resource written as compare-and-set: the store bumps <see cref="Version"/> on every save and writes only when the row
/// still has the version that was read, so an edit and the dispatcher's own write (desired vCPUs) cannot overwrite each
/// other unseen. The loser sees a concurrency error and reads again.
/// </summary>
public interface IVersioned
{
    long Version { get; set; }
}
