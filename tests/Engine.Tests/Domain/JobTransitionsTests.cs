using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Domain;

public class JobTransitionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    // Written out here rather than read from JobTransitions, so that a move added to or dropped from the engine's
    // table fails a case below.
    private static readonly HashSet<(JobStatus, JobStatus)> ExpectedLegal =
    [
        (JobStatus.Submitted, JobStatus.Pending),
        (JobStatus.Submitted, JobStatus.Runnable),
        (JobStatus.Submitted, JobStatus.Failed),
        (JobStatus.Pending, JobStatus.Runnable),
        (JobStatus.Pending, JobStatus.Failed),
        (JobStatus.Pending, JobStatus.Succeeded),
        (JobStatus.Runnable, JobStatus.Starting),
        (JobStatus.Runnable, JobStatus.Failed),
        (JobStatus.Starting, JobStatus.Running),
        (JobStatus.Starting, JobStatus.Runnable),
        (JobStatus.Starting, JobStatus.Failed),
        (JobStatus.Running, JobStatus.Succeeded),
        (JobStatus.Running, JobStatus.Failed),
        (JobStatus.Running, JobStatus.Runnable),
    ];

    /// <summary>Every (from, to) pair of statuses, 7 × 7, with whether the move is legal.</summary>
    public static TheoryData<JobStatus, JobStatus, bool> AllPairs()
    {
        var data = new TheoryData<JobStatus, JobStatus, bool>();
        foreach (var from in Enum.GetValues<JobStatus>())
        {
            foreach (var to in Enum.GetValues<JobStatus>())
            {
                data.Add(from, to, ExpectedLegal.Contains((from, to)));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void TryTransition_AppliesLegalMovesAndRefusesIllegalOnes_ForEveryPairOfStatuses(JobStatus from, JobStatus to, bool legal)
    {
        var job = TestJobs.In(from);

        var result = JobTransitions.TryTransition(job, from, to, "because", Now);

        Assert.Equal(legal, JobTransitions.IsLegal(from, to));
        if (legal)
        {
            Assert.Equal(TransitionOutcome.Applied, result.Outcome);
            Assert.True(result.IsApplied);
            Assert.Equal((from, to), (result.From, result.To));
            Assert.Equal(to, job.Status);
            Assert.Equal("because", job.StatusReason);
            Assert.Equal(to.IsFinal() ? Now : (DateTimeOffset?)null, job.StoppedAt);
        }
        else
        {
            Assert.Equal(TransitionOutcome.Illegal, result.Outcome);
            Assert.False(result.IsApplied);
            Assert.Equal((from, to), (result.From, result.To));
            Assert.Equal(from, job.Status);
            Assert.Equal("setup", job.StatusReason);
        }
    }

    [Fact]
    public void All_ListsExactlyTheLegalMoves()
    {
        Assert.Equal(ExpectedLegal.Order(), JobTransitions.All.Order());
    }

    [Fact]
    public void TryTransition_ReturnsNotAppliedWithActualStatus_WhenJobIsNotInExpectedState()
    {
        var job = TestJobs.In(JobStatus.Starting);

        var result = JobTransitions.TryTransition(job, JobStatus.Runnable, JobStatus.Starting, "placed", Now);

        Assert.Equal(TransitionOutcome.NotApplied, result.Outcome);
        Assert.Equal(JobStatus.Starting, result.From);
        Assert.Equal(JobStatus.Starting, job.Status);
        Assert.Equal("setup", job.StatusReason);
    }

    [Fact]
    public void TryTransition_ReturnsIllegal_WhenMoveIsIllegalEvenIfJobIsElsewhere()
    {
        var job = TestJobs.In(JobStatus.Running);

        var result = JobTransitions.TryTransition(job, JobStatus.Succeeded, JobStatus.Running, null, Now);

        Assert.Equal(TransitionOutcome.Illegal, result.Outcome);
        Assert.Equal(JobStatus.Running, job.Status);
    }

    [Fact]
    public void TryTransition_LeavesStoppedAtUnset_WhenMovingToANonFinalState()
    {
        var job = TestJobs.In(JobStatus.Running);

        JobTransitions.TryTransition(job, JobStatus.Running, JobStatus.Runnable, "retry", Now);

        Assert.Null(job.StoppedAt);
    }
}
