using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace BatchPortal.Engine.Storage.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ComputeEnvironments",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StatusReason = table.Column<string>(type: "TEXT", nullable: true),
                    ServiceRole = table.Column<string>(type: "TEXT", nullable: true),
                    ComputeResources = table.Column<string>(type: "TEXT", nullable: true),
                    UnmanagedvCpus = table.Column<int>(type: "INTEGER", nullable: true),
                    DockerEndpoint = table.Column<string>(type: "TEXT", nullable: true),
                    Uuid = table.Column<string>(type: "TEXT", nullable: false),
                    Tags = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ComputeEnvironments", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobDefinitions",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Revision = table.Column<int>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Type = table.Column<string>(type: "TEXT", nullable: false),
                    ContainerProperties = table.Column<string>(type: "TEXT", nullable: false),
                    Parameters = table.Column<string>(type: "TEXT", nullable: false),
                    RetryStrategy = table.Column<string>(type: "TEXT", nullable: true),
                    Timeout = table.Column<string>(type: "TEXT", nullable: true),
                    PropagateTags = table.Column<bool>(type: "INTEGER", nullable: false),
                    SchedulingPriority = table.Column<int>(type: "INTEGER", nullable: true),
                    PlatformCapabilities = table.Column<string>(type: "TEXT", nullable: false),
                    Tags = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobDefinitions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobDependencyEdges",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<string>(type: "TEXT", nullable: false),
                    DependsOnJobId = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobDependencyEdges", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobQueues",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StatusReason = table.Column<string>(type: "TEXT", nullable: true),
                    Priority = table.Column<int>(type: "INTEGER", nullable: false),
                    ComputeEnvironmentOrder = table.Column<string>(type: "TEXT", nullable: false),
                    JobStateTimeLimitActions = table.Column<string>(type: "TEXT", nullable: false),
                    Tags = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobQueues", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Jobs",
                columns: table => new
                {
                    Seq = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Id = table.Column<string>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    QueueName = table.Column<string>(type: "TEXT", nullable: false),
                    JobDefinitionName = table.Column<string>(type: "TEXT", nullable: false),
                    JobDefinitionRevision = table.Column<int>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StatusReason = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    StoppedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Container = table.Column<string>(type: "TEXT", nullable: false),
                    Parameters = table.Column<string>(type: "TEXT", nullable: false),
                    RetryStrategy = table.Column<string>(type: "TEXT", nullable: true),
                    Timeout = table.Column<string>(type: "TEXT", nullable: true),
                    Tags = table.Column<string>(type: "TEXT", nullable: false),
                    AttemptCount = table.Column<int>(type: "INTEGER", nullable: false),
                    ComputeEnvironmentName = table.Column<string>(type: "TEXT", nullable: true),
                    ExitCode = table.Column<int>(type: "INTEGER", nullable: true),
                    ContainerReason = table.Column<string>(type: "TEXT", nullable: true),
                    LogStreamName = table.Column<string>(type: "TEXT", nullable: true),
                    IsCancelled = table.Column<bool>(type: "INTEGER", nullable: false),
                    IsTerminated = table.Column<bool>(type: "INTEGER", nullable: false),
                    TerminationReason = table.Column<string>(type: "TEXT", nullable: true),
                    ArraySize = table.Column<int>(type: "INTEGER", nullable: true),
                    ArrayIndex = table.Column<int>(type: "INTEGER", nullable: true),
                    ParentJobId = table.Column<string>(type: "TEXT", nullable: true),
                    ChildrenSpawned = table.Column<bool>(type: "INTEGER", nullable: false),
                    DependsOn = table.Column<string>(type: "TEXT", nullable: false),
                    RunnableSince = table.Column<long>(type: "INTEGER", nullable: true),
                    TimedOut = table.Column<bool>(type: "INTEGER", nullable: false),
                    ScheduleName = table.Column<string>(type: "TEXT", nullable: true),
                    ScheduledFireTime = table.Column<long>(type: "INTEGER", nullable: true),
                    Version = table.Column<long>(type: "INTEGER", nullable: false),
                    Vcpus = table.Column<double>(type: "REAL", nullable: false),
                    MemoryMiB = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Jobs", x => x.Seq);
                    table.UniqueConstraint("AK_Jobs_Id", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobStatusChanges",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<string>(type: "TEXT", nullable: false),
                    From = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    To = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    At = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobStatusChanges", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "LogEvents",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<string>(type: "TEXT", nullable: false),
                    Attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    Stream = table.Column<string>(type: "TEXT", nullable: false),
                    Timestamp = table.Column<long>(type: "INTEGER", nullable: false),
                    Message = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LogEvents", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Schedules",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Description = table.Column<string>(type: "TEXT", nullable: true),
                    Expression = table.Column<string>(type: "TEXT", nullable: false),
                    TimeZone = table.Column<string>(type: "TEXT", nullable: false),
                    StartDate = table.Column<long>(type: "INTEGER", nullable: true),
                    EndDate = table.Column<long>(type: "INTEGER", nullable: true),
                    Enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    JobQueue = table.Column<string>(type: "TEXT", nullable: false),
                    JobDefinition = table.Column<string>(type: "TEXT", nullable: false),
                    JobName = table.Column<string>(type: "TEXT", nullable: false),
                    Parameters = table.Column<string>(type: "TEXT", nullable: false),
                    Overrides = table.Column<string>(type: "TEXT", nullable: true),
                    RetryStrategy = table.Column<string>(type: "TEXT", nullable: true),
                    Timeout = table.Column<string>(type: "TEXT", nullable: true),
                    MissedRunPolicy = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    OverlapPolicy = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LastFireTime = table.Column<long>(type: "INTEGER", nullable: true),
                    LastRunNote = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Schedules", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobAttempts",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<string>(type: "TEXT", nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    ComputeEnvironmentName = table.Column<string>(type: "TEXT", nullable: false),
                    ContainerId = table.Column<string>(type: "TEXT", nullable: true),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    StoppedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ExitCode = table.Column<int>(type: "INTEGER", nullable: true),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    StatusReason = table.Column<string>(type: "TEXT", nullable: true),
                    LogStreamName = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobAttempts", x => x.Id);
                    table.ForeignKey(
                        name: "FK_JobAttempts_Jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "Jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ComputeEnvironments_Name",
                table: "ComputeEnvironments",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JobAttempts_JobId_Number",
                table: "JobAttempts",
                columns: new[] { "JobId", "Number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JobAttempts_LogStreamName",
                table: "JobAttempts",
                column: "LogStreamName");

            migrationBuilder.CreateIndex(
                name: "IX_JobDefinitions_Name_Revision",
                table: "JobDefinitions",
                columns: new[] { "Name", "Revision" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JobDependencyEdges_DependsOnJobId",
                table: "JobDependencyEdges",
                column: "DependsOnJobId");

            migrationBuilder.CreateIndex(
                name: "IX_JobDependencyEdges_JobId",
                table: "JobDependencyEdges",
                column: "JobId");

            migrationBuilder.CreateIndex(
                name: "IX_JobQueues_Name",
                table: "JobQueues",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_CreatedAt",
                table: "Jobs",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_ParentJobId_Status",
                table: "Jobs",
                columns: new[] { "ParentJobId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_QueueName_Status_Seq",
                table: "Jobs",
                columns: new[] { "QueueName", "Status", "Seq" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_ScheduleName_ScheduledFireTime",
                table: "Jobs",
                columns: new[] { "ScheduleName", "ScheduledFireTime" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_Status_Seq",
                table: "Jobs",
                columns: new[] { "Status", "Seq" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_Status_StoppedAt",
                table: "Jobs",
                columns: new[] { "Status", "StoppedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_JobStatusChanges_JobId",
                table: "JobStatusChanges",
                column: "JobId");

            migrationBuilder.CreateIndex(
                name: "IX_LogEvents_JobId_Attempt_Id",
                table: "LogEvents",
                columns: new[] { "JobId", "Attempt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Schedules_Name",
                table: "Schedules",
                column: "Name",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ComputeEnvironments");

            migrationBuilder.DropTable(
                name: "JobAttempts");

            migrationBuilder.DropTable(
                name: "JobDefinitions");

            migrationBuilder.DropTable(
                name: "JobDependencyEdges");

            migrationBuilder.DropTable(
                name: "JobQueues");

            migrationBuilder.DropTable(
                name: "JobStatusChanges");

            migrationBuilder.DropTable(
                name: "LogEvents");

            migrationBuilder.DropTable(
                name: "Schedules");

            migrationBuilder.DropTable(
                name: "Jobs");
        }
    }
}
