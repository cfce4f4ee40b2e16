using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// Runs a read-check-write of a resource again when another writer saved it in between (its version moved): the request
/// is a change to make ("set max vCPUs to 64"), so it is read and checked again on what is there now.
/// </summary>
public static class OnConflict
{
    public const int MaxTries = 5;

    public static async Task<T> RetryAsync<T>(Func<Task<T>> readCheckWrite)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await readCheckWrite();
            }
            catch (DbUpdateConcurrencyException) when (tries < MaxTries)
            {
            }
        }
    }
}
