using System.Globalization;
using System.Text;

namespace BatchPortal.Benchmarks;

/// <summary>One line of the results table. <see cref="Verdict"/> is PASS or MISS against a target, or "info" without one.</summary>
internal sealed record Row(string Scenario, string Figure, string Value, string Baseline, string Target, string Verdict);

internal static class Report
{
    public static string Ms(double ms) => ms >= 10_000 ? $"{ms / 1000:0.0} s" : $"{ms:0} ms";

    public static string Ratio(double ratio) => ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    public static string Verdict(bool pass) => pass ? "PASS" : "MISS";

    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string Table(IEnumerable<Row> rows)
    {
        var header = new Row("Scenario", "Figure", "Value", "Docker (same run)", "Target", "Verdict");
        var all = rows.Prepend(header).ToList();
        var widths = new[]
        {
            all.Max(r => r.Scenario.Length), all.Max(r => r.Figure.Length), all.Max(r => r.Value.Length),
            all.Max(r => r.Baseline.Length), all.Max(r => r.Target.Length), all.Max(r => r.Verdict.Length),
        };
        var text = new StringBuilder();
        void Line(Row r) => text.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Scenario.PadRight(widths[0])} | {r.Figure.PadRight(widths[1])} | {r.Value.PadRight(widths[2])} | {r.Baseline.PadRight(widths[3])} | {r.Target.PadRight(widths[4])} | {r.Verdict.PadRight(widths[5])} |");
        Line(all[0]);
        text.AppendLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var row in all.Skip(1))
        {
            Line(row);
        }

        return text.ToString();
    }
}
