using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace BatchPortal.Engine.Storage.Migrations
{
    /// <inheritdoc />
    public partial class JobPropagateTagsAndPriority : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "PropagateTags",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "SchedulingPriority",
                table: "Jobs",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "PropagateTags",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "SchedulingPriority",
                table: "Jobs");
        }
    }
}
