using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace BatchPortal.Engine.Storage.Migrations
{
    /// <inheritdoc />
    public partial class EngineCore : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "Version",
                table: "Schedules",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "Nanos",
                table: "LogEvents",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AlterColumn<string>(
                name: "Parameters",
                table: "Jobs",
                type: "TEXT",
                nullable: true,
                oldClrType: typeof(string),
                oldType: "TEXT");

            migrationBuilder.AlterColumn<string>(
                name: "Container",
                table: "Jobs",
                type: "TEXT",
                nullable: true,
                oldClrType: typeof(string),
                oldType: "TEXT");

            migrationBuilder.AddColumn<bool>(
                name: "WaitFailed",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "WaitsFor",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "Version",
                table: "JobQueues",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "Version",
                table: "JobDefinitions",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "DockerEndpoint",
                table: "JobAttempts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "HostUnreachableSince",
                table: "JobAttempts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "LaunchUncertain",
                table: "JobAttempts",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "LogBytes",
                table: "JobAttempts",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "LogCursorNanos",
                table: "JobAttempts",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<bool>(
                name: "LogCut",
                table: "JobAttempts",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "PlacedAt",
                table: "JobAttempts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "Version",
                table: "ComputeEnvironments",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "EngineSettings",
                columns: table => new
                {
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Value = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_EngineSettings", x => x.Name);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_Status_WaitFailed",
                table: "Jobs",
                columns: new[] { "Status", "WaitFailed" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_Status_WaitsFor",
                table: "Jobs",
                columns: new[] { "Status", "WaitsFor" });

            migrationBuilder.CreateIndex(
                name: "IX_JobAttempts_LogCursorNanos",
                table: "JobAttempts",
                column: "LogCursorNanos");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "EngineSettings");

            migrationBuilder.DropIndex(
                name: "IX_Jobs_Status_WaitFailed",
                table: "Jobs");

            migrationBuilder.DropIndex(
                name: "IX_Jobs_Status_WaitsFor",
                table: "Jobs");

            migrationBuilder.DropIndex(
                name: "IX_JobAttempts_LogCursorNanos",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "Version",
                table: "Schedules");

            migrationBuilder.DropColumn(
                name: "Nanos",
                table: "LogEvents");

            migrationBuilder.DropColumn(
                name: "WaitFailed",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "WaitsFor",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "Version",
                table: "JobQueues");

            migrationBuilder.DropColumn(
                name: "Version",
                table: "JobDefinitions");

            migrationBuilder.DropColumn(
                name: "DockerEndpoint",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "HostUnreachableSince",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "LaunchUncertain",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "LogBytes",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "LogCursorNanos",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "LogCut",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "PlacedAt",
                table: "JobAttempts");

            migrationBuilder.DropColumn(
                name: "Version",
                table: "ComputeEnvironments");

            migrationBuilder.AlterColumn<string>(
                name: "Parameters",
                table: "Jobs",
                type: "TEXT",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldNullable: true);

            migrationBuilder.AlterColumn<string>(
                name: "Container",
                table: "Jobs",
                type: "TEXT",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldNullable: true);
        }
    }
}
