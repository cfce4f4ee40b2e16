using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Access;

/// <summary>Issue #12's table of who may do what, row by row: every role against every permission.</summary>
public sealed class AccessPolicyTests
{
    // Viewer, Operator, Admin: written out, not derived from the policy's own order.
    private static readonly Dictionary<Permission, (bool Viewer, bool Operator, bool Admin)> Table = new()
    {
        [Permission.Read] = (true, true, true),
        [Permission.SubmitJob] = (false, true, true),
        [Permission.StopJob] = (false, true, true),
        [Permission.TagJob] = (false, true, true),
        [Permission.RegisterJobDefinition] = (false, true, true),
        [Permission.DeregisterJobDefinition] = (false, true, true),
        [Permission.RunSchedule] = (false, true, true),
        [Permission.PauseSchedule] = (false, true, true),
        [Permission.RegisterPrivilegedJobDefinition] = (false, false, true),
        [Permission.ManageSchedules] = (false, false, true),
        [Permission.ManageComputeEnvironments] = (false, false, true),
        [Permission.ManageJobQueues] = (false, false, true),
        [Permission.ManageDockerEndpoints] = (false, false, true),
        [Permission.ManageUsers] = (false, false, true),
    };

    public static TheoryData<Role, Permission, bool> Rows()
    {
        var rows = new TheoryData<Role, Permission, bool>();
        foreach (var (permission, (viewer, op, admin)) in Table)
        {
            rows.Add(Role.Viewer, permission, viewer);
            rows.Add(Role.Operator, permission, op);
            rows.Add(Role.Admin, permission, admin);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Allows_FollowsTheTable(Role role, Permission permission, bool allowed) =>
        Assert.Equal(allowed, AccessPolicy.Allows(role, permission));

    [Fact]
    public void Table_CoversEveryPermission() =>
        Assert.Equal(Enum.GetValues<Permission>().Order(), Table.Keys.Order());

    [Theory]
    [InlineData(true, null, null, "privileged: true")]
    [InlineData(null, "/", null, "mounts host path /")]
    [InlineData(null, null, "root", "user root")]
    [InlineData(null, null, "0:0", "user 0:0")]
    public void PrivilegesOf_NamesWhatIsRootOnTheHost(bool? privileged, string? hostPath, string? user, string named)
    {
        var container = new ContainerProperties
        {
            Image = "busybox",
            Privileged = privileged,
            User = user,
            Volumes = hostPath is null ? [] : [new Volume { Name = "host", Host = new Host { SourcePath = hostPath } }],
        };

        Assert.Contains(AccessPolicy.PrivilegesOf(container), p => p.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public void PrivilegesOf_IsEmpty_ForAnOrdinaryContainer()
    {
        var container = new ContainerProperties
        {
            Image = "busybox",
            Privileged = false,
            User = "1000",
            Volumes = [new Volume { Name = "scratch" }],
        };

        Assert.Empty(AccessPolicy.PrivilegesOf(container));
    }
}
