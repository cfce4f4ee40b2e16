using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Domain;

public class RetryPolicyTests
{
    private static Job JobWith(int? attempts, params EvaluateOnExit[] rules) =>
        TestJobs.New(new RetryStrategy { Attempts = attempts, EvaluateOnExit = [.. rules] });

    private static EvaluateOnExit Rule(string action, string? onExitCode = null, string? onReason = null, string? onStatusReason = null) =>
        new() { Action = action, OnExitCode = onExitCode, OnReason = onReason, OnStatusReason = onStatusReason };

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(3, 4)]
    public void ShouldRetry_ReturnsFalse_WhenAttemptsAreExhausted(int attempts, int attempt)
    {
        var job = JobWith(attempts, Rule("RETRY", onExitCode: "*"));

        Assert.False(RetryPolicy.ShouldRetry(job, attempt, exitCode: 1, reason: null, statusReason: "Essential container in task exited"));
    }

    [Fact]
    public void ShouldRetry_ReturnsFalse_WhenJobHasNoRetryStrategy()
    {
        Assert.False(RetryPolicy.ShouldRetry(TestJobs.New(), 1, exitCode: 1, reason: null, statusReason: null));
    }

    [Fact]
    public void ShouldRetry_ReturnsTrue_WhenAttemptsRemainAndThereIsNoEvaluateOnExit()
    {
        var job = JobWith(3);

        Assert.True(RetryPolicy.ShouldRetry(job, 1, exitCode: 1, reason: null, statusReason: null));
        Assert.True(RetryPolicy.ShouldRetry(job, 2, exitCode: 1, reason: null, statusReason: null));
    }

    [Fact]
    public void ShouldRetry_ReturnsTrue_WhenNoEvaluateOnExitEntryMatches()
    {
        var job = JobWith(2, Rule("EXIT", onExitCode: "2"));

        Assert.True(RetryPolicy.ShouldRetry(job, 1, exitCode: 1, reason: null, statusReason: null));
    }

    [Theory]
    [InlineData("EXIT", "RETRY", false)]
    [InlineData("RETRY", "EXIT", true)]
    public void ShouldRetry_FollowsFirstMatchingEntry_WhenSeveralMatch(string first, string second, bool expected)
    {
        var job = JobWith(3, Rule(first, onExitCode: "1"), Rule(second, onExitCode: "1*"));

        Assert.Equal(expected, RetryPolicy.ShouldRetry(job, 1, exitCode: 1, reason: null, statusReason: null));
    }

    [Fact]
    public void ShouldRetry_SkipsEntriesThatDoNotMatch_BeforeTheFirstThatDoes()
    {
        var job = JobWith(3, Rule("RETRY", onExitCode: "2"), Rule("EXIT", onExitCode: "1"));

        Assert.False(RetryPolicy.ShouldRetry(job, 1, exitCode: 1, reason: null, statusReason: null));
    }

    [Theory]
    [InlineData("13", 13, true)]
    [InlineData("13", 137, false)]
    [InlineData("13*", 137, true)]
    [InlineData("13*", 13, true)]
    [InlineData("13*", 213, false)]
    [InlineData("*", 0, true)]
    public void ShouldRetry_MatchesExitCodeExactlyOrByTrailingStar_WhenOnExitCodeIsGiven(string pattern, int exitCode, bool matches)
    {
        var job = JobWith(2, Rule("EXIT", onExitCode: pattern));

        // EXIT on a match; no match means retry.
        Assert.Equal(!matches, RetryPolicy.ShouldRetry(job, 1, exitCode, reason: null, statusReason: null));
    }

    [Fact]
    public void ShouldRetry_DoesNotMatchAnExitCodePattern_WhenThereIsNoExitCode()
    {
        var job = JobWith(2, Rule("EXIT", onExitCode: "1*"));

        Assert.True(RetryPolicy.ShouldRetry(job, 1, exitCode: null, reason: "CannotPullContainerError: x", statusReason: "Task failed to start"));
    }

    [Theory]
    [InlineData("CannotPullContainerError*", "CannotPullContainerError: no such image", true)]
    [InlineData("CannotPullContainerError", "CannotPullContainerError: no such image", false)]
    [InlineData("OutOfMemoryError*", "CannotPullContainerError: no such image", false)]
    [InlineData("cannotpull*", "CannotPullContainerError: no such image", false)]
    public void ShouldRetry_MatchesReasonByTrailingStar_WhenOnReasonIsGiven(string pattern, string reason, bool matches)
    {
        var job = JobWith(2, Rule("EXIT", onReason: pattern));

        Assert.Equal(!matches, RetryPolicy.ShouldRetry(job, 1, exitCode: null, reason, statusReason: null));
    }

    [Theory]
    [InlineData("Host*", "Host EC2 (instance i-1) terminated.", true)]
    [InlineData("Essential container in task exited", "Essential container in task exited", true)]
    [InlineData("Essential*", "Task failed to start", false)]
    public void ShouldRetry_MatchesStatusReasonByTrailingStar_WhenOnStatusReasonIsGiven(string pattern, string statusReason, bool matches)
    {
        var job = JobWith(2, Rule("EXIT", onStatusReason: pattern));

        Assert.Equal(!matches, RetryPolicy.ShouldRetry(job, 1, exitCode: 1, reason: null, statusReason));
    }

    [Theory]
    [InlineData(1, "OutOfMemoryError: killed", false)]
    [InlineData(1, "something else", true)]
    [InlineData(2, "OutOfMemoryError: killed", true)]
    public void ShouldRetry_AppliesEntryOnlyWhenAllItsConditionsMatch(int exitCode, string reason, bool expected)
    {
        var job = JobWith(2, Rule("EXIT", onExitCode: "1", onReason: "OutOfMemoryError*", onStatusReason: "Essential*"));

        Assert.Equal(expected, RetryPolicy.ShouldRetry(job, 1, exitCode, reason, "Essential container in task exited"));
    }

    [Theory]
    [InlineData("retry", true)]
    [InlineData("Retry", true)]
    [InlineData("exit", false)]
    [InlineData("eXiT", false)]
    public void ShouldRetry_ReadsActionCaseInsensitively(string action, bool expected)
    {
        var job = JobWith(2, Rule(action, onExitCode: "*"));

        Assert.Equal(expected, RetryPolicy.ShouldRetry(job, 1, exitCode: 1, reason: null, statusReason: null));
    }

    [Theory]
    [InlineData(null, "anything", true)]
    [InlineData(null, null, true)]
    [InlineData("*", null, true)]
    [InlineData("abc", null, false)]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "abcd", false)]
    [InlineData("ab*", "abcd", true)]
    public void Matches_TreatsMissingPatternAsAnyAndTrailingStarAsPrefix(string? pattern, string? value, bool expected)
    {
        Assert.Equal(expected, RetryPolicy.Matches(pattern, value));
    }
}
