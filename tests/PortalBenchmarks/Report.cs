using System.Globalization;
using System.Text;

namespace BatchPortal.PortalBenchmarks;

/// <summary>
/// One line of the results table: our figure, moto's figure for the same work in the same run (when there is one),
/// the target and PASS / MISS (or "info" where DESIGN.md sets no target).
/// </summary>
internal sealed record Row(string Scenario, string Figure, string Value, string Moto, string VersusMoto, string Target, string Verdict);

/// <summary>Latencies of one measured operation, in milliseconds.</summary>
internal sealed class Samples
{
    private readonly List<double> _values = [];
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _values.Count;
            }
        }
    }

    public void Add(double ms)
    {
        lock (_gate)
        {
            _values.Add(ms);
        }
    }

    /// <summary>Nearest-rank percentile (p in 0..100).</summary>
    public double P(double p)
    {
        double[] sorted;
        lock (_gate)
        {
            sorted = [.. _values.Order()];
        }

        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public double Max => P(100);

    public string Summary => Count == 0 ? "n/a" : $"p50 {Report.Ms(P(50))} / p95 {Report.Ms(P(95))}";

    public string SummaryWithMax => Count == 0 ? "n/a" : $"p50 {Report.Ms(P(50))} / p95 {Report.Ms(P(95))} / p99 {Report.Ms(P(99))} / max {Report.Ms(Max)}";
}

internal static class Report
{
    public static string Ms(double ms) =>
        double.IsNaN(ms) ? "n/a"
        : ms >= 10_000 ? $"{(ms / 1000).ToString("0.0", CultureInfo.InvariantCulture)} s"
        : ms >= 100 ? $"{ms.ToString("0", CultureInfo.InvariantCulture)} ms"
        : $"{ms.ToString("0.0", CultureInfo.InvariantCulture)} ms";

    public static string Num(double value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string Verdict(bool pass) => pass ? "PASS" : "MISS";

    /// <summary>How many times faster BatchPortal is than moto: a ratio of times (lower is better) or of rates (higher is better).</summary>
    public static string Faster(double ours, double moto, bool higherIsBetter)
    {
        if (double.IsNaN(ours) || double.IsNaN(moto) || ours <= 0 || moto <= 0)
        {
            return "n/a";
        }

        var ratio = higherIsBetter ? ours / moto : moto / ours;
        return ratio >= 1
            ? $"{ratio.ToString("0.0", CultureInfo.InvariantCulture)}× faster"
            : $"{(1 / ratio).ToString("0.0", CultureInfo.InvariantCulture)}× slower";
    }

    public static string Table(IEnumerable<Row> rows)
    {
        var header = new Row("Scenario", "Figure", "BatchPortal", "moto (same run)", "vs moto", "Target", "Verdict");
        var all = rows.Prepend(header).ToList();
        var widths = new[]
        {
            all.Max(r => r.Scenario.Length), all.Max(r => r.Figure.Length), all.Max(r => r.Value.Length),
            all.Max(r => r.Moto.Length), all.Max(r => r.VersusMoto.Length), all.Max(r => r.Target.Length), all.Max(r => r.Verdict.Length),
        };
        var text = new StringBuilder();
        void Line(Row r) => text.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Scenario.PadRight(widths[0])} | {r.Figure.PadRight(widths[1])} | {r.Value.PadRight(widths[2])} | {r.Moto.PadRight(widths[3])} | {r.VersusMoto.PadRight(widths[4])} | {r.Target.PadRight(widths[5])} | {r.Verdict.PadRight(widths[6])} |");
        Line(all[0]);
        text.AppendLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var row in all.Skip(1))
        {
            Line(row);
        }

        return text.ToString();
    }

    /// <summary>The 1-, 5- and 15-minute load averages.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Wall-clock time in epoch milliseconds with sub-millisecond precision (to compare with a browser's clock).</summary>
    public static double EpochMs() => (TimeProvider.System.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10_000.0;
}
