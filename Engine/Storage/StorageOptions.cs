using System.ComponentModel.DataAnnotations;

namespace BatchPortal.Engine.Storage;

/// <summary>Where the portal keeps its state (section <c>Engine:Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Engine:Storage";

    /// <summary>The SQLite file; a relative path is taken from the content root (the repository root under <c>dotnet run</c>).</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Engine:Storage:DatabasePath is required (e.g. data/batchportal.db).")]
    public string DatabasePath { get; set; } = "data/batchportal.db";
}
