using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace BatchPortal.Engine.Storage.Migrations
{
    /// <inheritdoc />
    public partial class JobListIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Jobs_QueueName_ParentJobId_Seq",
                table: "Jobs",
                columns: new[] { "QueueName", "ParentJobId", "Seq" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_QueueName_ParentJobId_Status_Seq",
                table: "Jobs",
                columns: new[] { "QueueName", "ParentJobId", "Status", "Seq" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Jobs_QueueName_ParentJobId_Seq",
                table: "Jobs");

            migrationBuilder.DropIndex(
                name: "IX_Jobs_QueueName_ParentJobId_Status_Seq",
                table: "Jobs");
        }
    }
}
