using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace BatchPortal.Engine.Storage.Migrations
{
    /// <inheritdoc />
    public partial class EngineCoreData : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The Jobs table was rebuilt (Container and Parameters became nullable, for array children), and EF made
            // its indexes again from the model: the name index must be NOCASE once more (see JobNameIndexes).
            migrationBuilder.Sql("DROP INDEX IF EXISTS \"IX_Jobs_ParentJobId_Name_Seq\";");
            migrationBuilder.Sql("CREATE INDEX \"IX_Jobs_ParentJobId_Name_Seq\" ON \"Jobs\" (\"ParentJobId\", \"Name\" COLLATE NOCASE, \"Seq\");");

            // What each waiting job waits for, counted from the edges as the store now keeps it (DependencyRelease). A
            // dependency that does not exist counts as waiting, unless it is a child of an array that failed unspawned.
            migrationBuilder.Sql(@"
UPDATE ""Jobs"" SET
  ""WaitsFor"" = (SELECT COUNT(*) FROM ""JobDependencyEdges"" e LEFT JOIN ""Jobs"" d ON d.""Id"" = e.""DependsOnJobId""
                WHERE e.""JobId"" = ""Jobs"".""Id"" AND (d.""Id"" IS NULL OR d.""Status"" NOT IN ('Succeeded', 'Failed'))),
  ""WaitFailed"" = EXISTS (SELECT 1 FROM ""JobDependencyEdges"" e LEFT JOIN ""Jobs"" d ON d.""Id"" = e.""DependsOnJobId""
                WHERE e.""JobId"" = ""Jobs"".""Id"" AND (d.""Status"" = 'Failed'
                  OR (d.""Id"" IS NULL AND instr(e.""DependsOnJobId"", ':') > 0 AND EXISTS (SELECT 1 FROM ""Jobs"" p
                      WHERE p.""Id"" = substr(e.""DependsOnJobId"", 1, instr(e.""DependsOnJobId"", ':') - 1) AND p.""Status"" = 'Failed'))))
WHERE ""Status"" IN ('Submitted', 'Pending') AND NOT (""ArraySize"" IS NOT NULL AND ""ChildrenSpawned"" = 1);");
            migrationBuilder.Sql(@"
UPDATE ""Jobs"" SET
  ""WaitsFor"" = (SELECT COUNT(*) FROM ""Jobs"" c WHERE c.""ParentJobId"" = ""Jobs"".""Id"" AND c.""Status"" NOT IN ('Succeeded', 'Failed')),
  ""WaitFailed"" = EXISTS (SELECT 1 FROM ""Jobs"" c WHERE c.""ParentJobId"" = ""Jobs"".""Id"" AND c.""Status"" = 'Failed')
WHERE ""Status"" = 'Pending' AND ""ArraySize"" IS NOT NULL AND ""ChildrenSpawned"" = 1;");

            // Stored logs get their Docker time (milliseconds were all that was kept) and their attempt's totals.
            migrationBuilder.Sql(@"UPDATE ""LogEvents"" SET ""Nanos"" = ""Timestamp"" * 1000000;");
            migrationBuilder.Sql(@"
UPDATE ""JobAttempts"" SET
  ""LogBytes"" = COALESCE((SELECT SUM(length(CAST(l.""Message"" AS BLOB))) FROM ""LogEvents"" l WHERE l.""JobId"" = ""JobAttempts"".""JobId"" AND l.""Attempt"" = ""JobAttempts"".""Number""), 0),
  ""LogCursorNanos"" = COALESCE((SELECT MAX(l.""Nanos"") FROM ""LogEvents"" l WHERE l.""JobId"" = ""JobAttempts"".""JobId"" AND l.""Attempt"" = ""JobAttempts"".""Number""), 0),
  ""DockerEndpoint"" = (SELECT c.""DockerEndpoint"" FROM ""ComputeEnvironments"" c WHERE c.""Name"" = ""JobAttempts"".""ComputeEnvironmentName"");");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Counters and totals are derived data: nothing to undo.
        }
    }
}
