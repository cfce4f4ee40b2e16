using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace BatchPortal.Engine.Storage.Migrations
{
    /// <inheritdoc />
    public partial class JobNameIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Name COLLATE NOCASE, which EF cannot say for SQLite: SQLite uses the index for LIKE 'prefix%' (case-insensitive)
            // and for NOCASE comparisons only when the index column is NOCASE. See BatchDbContext.
            migrationBuilder.Sql("CREATE INDEX \"IX_Jobs_ParentJobId_Name_Seq\" ON \"Jobs\" (\"ParentJobId\", \"Name\" COLLATE NOCASE, \"Seq\");");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_ParentJobId_Seq",
                table: "Jobs",
                columns: new[] { "ParentJobId", "Seq" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Jobs_ParentJobId_Name_Seq",
                table: "Jobs");

            migrationBuilder.DropIndex(
                name: "IX_Jobs_ParentJobId_Seq",
                table: "Jobs");
        }
    }
}
