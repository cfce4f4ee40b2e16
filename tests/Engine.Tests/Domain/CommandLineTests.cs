using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Domain;

public class CommandLineTests
{
    public static TheoryData<string?, string[]> SplitCases => new()
    {
        { null, [] },
        { "", [] },
        { "   ", [] },
        { "echo hello", ["echo", "hello"] },
        { "  echo \t hello  ", ["echo", "hello"] },
        { "echo \"hello world\"", ["echo", "hello world"] },
        { "echo 'hello world'", ["echo", "hello world"] },
        { "sh -c 'echo \"quoted\" $HOME'", ["sh", "-c", "echo \"quoted\" $HOME"] },
        { "echo \"it's\"", ["echo", "it's"] },
        { "pre\"fix suf\"fix", ["prefix suffix"] },
        { "echo \"\" x", ["echo", "", "x"] },
        { "echo Ref::name", ["echo", "Ref::name"] },
    };

    public static TheoryData<string[]> RoundTripCases()
    {
        var data = new TheoryData<string[]>();
        data.Add([]);
        data.Add(["echo", "hello"]);
        data.Add(["echo", "hello world"]);
        data.Add(["sh", "-c", "echo \"quoted\" && exit 3"]);
        data.Add(["echo", "it's"]);
        data.Add(["echo", ""]);
        data.Add(["printf", "%s\t%s", "a b"]);
        data.Add(["echo", "both 'single' and \"double\""]);
        data.Add(["echo", "it's a \"test\""]);
        data.Add(["x'\"y"]);
        return data;
    }

    [Theory]
    [MemberData(nameof(SplitCases))]
    public void SplitSpaceDelimited_SplitsOnWhitespaceAndKeepsQuotedSpans(string? text, string[] expected)
    {
        var result = CommandLine.SplitSpaceDelimited(text);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(expected, result.Value);
    }

    [Theory]
    [InlineData("echo \"oops", "\"")]
    [InlineData("echo 'oops", "'")]
    [InlineData("sh -c 'echo \"x\"", "'")]
    public void SplitSpaceDelimited_FailsOnCommandField_WhenAQuoteIsNotClosed(string text, string quote)
    {
        var result = CommandLine.SplitSpaceDelimited(text);

        var error = Assert.IsType<ValidationFailed>(result.Error);
        var field = Assert.Single(error.Errors);
        Assert.Equal("command", field.Field);
        Assert.Contains($"unclosed {quote} quote", field.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseJson_ReturnsTheStrings_WhenJsonIsAnArrayOfStrings()
    {
        var result = CommandLine.ParseJson("[\"sh\", \"-c\", \"echo 'hi there'\"]");

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(["sh", "-c", "echo 'hi there'"], result.Value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("[]")]
    public void ParseJson_ReturnsNoArguments_WhenJsonIsEmpty(string? json)
    {
        var result = CommandLine.ParseJson(json);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Empty(result.Value!);
    }

    [Theory]
    [InlineData("{\"cmd\": \"echo\"}", "must be an array of strings")]
    [InlineData("\"echo hello\"", "must be an array of strings")]
    [InlineData("[\"echo\", 3]", "element 2 is a number")]
    [InlineData("[\"echo\", null]", "element 2")]
    [InlineData("[\"echo\", [\"nested\"]]", "element 2")]
    [InlineData("[\"echo\", ", "not valid JSON")]
    [InlineData("echo hello", "not valid JSON")]
    public void ParseJson_FailsOnCommandFieldNamingTheProblem_WhenJsonIsNotAnArrayOfStrings(string json, string problem)
    {
        var result = CommandLine.ParseJson(json);

        var error = Assert.IsType<ValidationFailed>(result.Error);
        var field = Assert.Single(error.Errors);
        Assert.Equal("command", field.Field);
        Assert.Contains(problem, field.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void ToSpaceDelimited_ReadsBackToTheSameArguments_WhenSplitAgain(string[] args)
    {
        var text = CommandLine.ToSpaceDelimited(args);
        var result = CommandLine.SplitSpaceDelimited(text);

        Assert.True(result.IsSuccess, $"'{text}' did not split: {result.Error?.Message}");
        Assert.Equal(args, result.Value);
    }

    [Fact]
    public void ToSpaceDelimited_LeavesPlainArgumentsUnquoted()
    {
        Assert.Equal("echo hello Ref::name", CommandLine.ToSpaceDelimited(["echo", "hello", "Ref::name"]));
    }

    [Fact]
    public void ToJson_WritesAJsonArrayThatParsesBack()
    {
        string[] args = ["echo", "a \"b\"", "c'd"];

        var result = CommandLine.ParseJson(CommandLine.ToJson(args));

        Assert.Equal(args, result.Value);
    }
}
