using System.Globalization;
using System.Text.RegularExpressions;
using BatchPortal.Engine.Domain;
using Cronos;

namespace BatchPortal.Engine.Schedules;

/// <summary>
/// When a schedule fires: EventBridge's <c>rate(N unit)</c> and <c>cron(min hour day-of-month month day-of-week year)</c>
/// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), or a standard 5-field cron.
/// </summary>
public abstract partial class ScheduleExpression
{
    public const string Field = "expression";

    public abstract string Text { get; }

    /// <summary>The fire times strictly after <paramref name="after"/>, in order.</summary>
    public abstract IEnumerable<DateTimeOffset> Occurrences(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset anchor);

    /// <summary>In words: "every 5 minutes", "at 02:30 on weekdays".</summary>
    public abstract string Describe();

    /// <summary>
    /// The cron Hangfire's recurring job runs on: every fire time is one of its occurrences (it may have more, which the
    /// schedule then ignores), so one recurring job per schedule is enough whatever the expression.
    /// </summary>
    public abstract string TriggerCron(DateTimeOffset anchor, TimeZoneInfo zone);

    public IReadOnlyList<DateTimeOffset> Next(int count, DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset anchor) =>
        [.. Occurrences(after, zone, anchor).Take(count)];

    /// <summary>The latest fire time at or before <paramref name="at"/> and after <paramref name="notBefore"/>, if any.</summary>
    public DateTimeOffset? Latest(DateTimeOffset notBefore, DateTimeOffset at, TimeZoneInfo zone, DateTimeOffset anchor)
    {
        DateTimeOffset? latest = null;
        foreach (var t in Occurrences(notBefore, zone, anchor))
        {
            if (t > at)
            {
                break;
            }

            latest = t;
        }

        return latest;
    }

    public static Result<ScheduleExpression> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new ValidationFailed(Field, "Schedule expression is required: rate(5 minutes), cron(30 2 ? * MON-FRI *) or a 5-field cron such as 30 2 * * 1-5.");
        }

        text = text.Trim();
        if (text.StartsWith("rate(", StringComparison.OrdinalIgnoreCase))
        {
            return RateExpression.ParseRate(text);
        }

        if (text.StartsWith("cron(", StringComparison.OrdinalIgnoreCase))
        {
            return CronScheduleExpression.ParseEventBridge(text);
        }

        if (text.StartsWith("at(", StringComparison.OrdinalIgnoreCase))
        {
            return new ValidationFailed(Field, "One-time at(...) expressions are not supported; use Run now, or a cron with a year.");
        }

        return CronScheduleExpression.ParseStandard(text);
    }

    internal static ValidationFailed Error(string message) => new(Field, message);
}

/// <summary><c>rate(value unit)</c>: every N minutes, hours or days from the schedule's start.</summary>
public sealed partial class RateExpression : ScheduleExpression
{
    private RateExpression(string text, int value, string unit)
    {
        Text = text;
        Value = value;
        Unit = unit;
    }

    public override string Text { get; }

    public int Value { get; }

    /// <summary>minute, hour or day.</summary>
    public string Unit { get; }

    public TimeSpan Period => Unit switch
    {
        "minute" => TimeSpan.FromMinutes(Value),
        "hour" => TimeSpan.FromHours(Value),
        _ => TimeSpan.FromDays(Value),
    };

    internal static Result<ScheduleExpression> ParseRate(string text)
    {
        var m = RatePattern().Match(text);
        if (!m.Success)
        {
            return Error($"'{text}' is not a rate expression: write rate(value unit), e.g. rate(5 minutes) or rate(1 hour).");
        }

        if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            return Error($"The rate value must be a whole number of at least 1, not '{m.Groups[1].Value}'.");
        }

        var unit = m.Groups[2].Value.ToLowerInvariant();
        var singular = unit.TrimEnd('s');
        if (singular is not ("minute" or "hour" or "day"))
        {
            return Error($"The rate unit must be minute(s), hour(s) or day(s), not '{m.Groups[2].Value}'.");
        }

        // EventBridge is strict about number: rate(1 minute) but rate(5 minutes).
        if (value == 1 && unit != singular)
        {
            return Error($"With a value of 1 the unit is singular: rate(1 {singular}), not rate(1 {unit}).");
        }

        if (value > 1 && unit == singular)
        {
            return Error($"With a value above 1 the unit is plural: rate({value} {singular}s), not rate({value} {unit}).");
        }

        return new RateExpression(text, value, singular);
    }

    public override IEnumerable<DateTimeOffset> Occurrences(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset anchor)
    {
        // On whole minutes, where the trigger fires (TriggerCron): a fire time at 10:00:30 is never seen by a 10:00
        // trigger. The anchor itself is the first fire time, as a StartDate is in EventBridge.
        anchor = WholeMinute(anchor);
        var period = Period;
        var k = after < anchor ? 0 : (long)Math.Floor((after - anchor) / period) + 1;
        while (true)
        {
            yield return anchor + (period * k++);
        }
    }

    private static DateTimeOffset WholeMinute(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerMinute), t.Offset);

    public override string Describe() => Value == 1 ? $"every {Unit}" : $"every {Value} {Unit}s";

    public override string TriggerCron(DateTimeOffset anchor, TimeZoneInfo zone) => Unit switch
    {
        "minute" => "* * * * *",
        "hour" => $"{anchor.UtcDateTime.Minute} * * * *",
        _ => $"{anchor.UtcDateTime.Minute} {anchor.UtcDateTime.Hour} * * *",
    };

    [GeneratedRegex(@"^rate\(\s*(\S+)\s+([A-Za-z]+)\s*\)$", RegexOptions.IgnoreCase)]
    private static partial Regex RatePattern();
}

/// <summary>A cron schedule: EventBridge's 6 fields (with a year) or the standard 5, evaluated in the schedule's time zone.</summary>
public sealed partial class CronScheduleExpression : ScheduleExpression
{
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    private readonly CronExpression _cron;
    private readonly Func<int, bool> _year;
    private readonly string[] _fields;

    private CronScheduleExpression(string text, CronExpression cron, string cronText, Func<int, bool> year, string[] fields)
    {
        Text = text;
        _cron = cron;
        CronText = cronText;
        _year = year;
        _fields = fields;
    }

    public override string Text { get; }

    /// <summary>The 5-field cron (Cronos syntax) the schedule evaluates.</summary>
    public string CronText { get; }

    internal static Result<ScheduleExpression> ParseEventBridge(string text)
    {
        if (!text.EndsWith(')'))
        {
            return Error($"'{text}' must end with ')': cron(minutes hours day-of-month month day-of-week year).");
        }

        var fields = text[5..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6)
        {
            return Error($"cron(...) takes 6 fields (minutes hours day-of-month month day-of-week year); '{text}' has {fields.Length}.");
        }

        var (minutes, hours, dom, month, dow, year) = (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]);
        var errors = new List<string>();
        Check(errors, "minutes", minutes, @"^[0-9,\-*/]+$", "0-59 with , - * /");
        Check(errors, "hours", hours, @"^[0-9,\-*/]+$", "0-23 with , - * /");
        Check(errors, "day-of-month", dom, @"^([0-9,\-*?/LW]+)$", "1-31 with , - * ? / L W");
        Check(errors, "month", month, @"^([0-9A-Za-z,\-*/]+)$", "1-12 or JAN-DEC with , - * /");
        Check(errors, "day-of-week", dow, @"^([0-9A-Za-z,\-*?L#]+)$", "1-7 or SUN-SAT with , - * ? L #");
        Check(errors, "year", year, @"^[0-9,\-*/]+$", "1970-2199 with , - * /");
        if ((dom == "?") == (dow == "?"))
        {
            errors.Add("Exactly one of day-of-month and day-of-week must be '?': when you give one, the other is '?'.");
        }

        var yearFilter = ParseYear(year, errors);
        var translatedDow = TranslateDayOfWeek(dow, errors);
        if (errors.Count > 0)
        {
            return new ValidationFailed([.. errors.Select(e => new FieldError(Field, e))]);
        }

        var cronText = $"{minutes} {hours} {dom} {month} {translatedDow}";
        return Build(text, cronText, yearFilter!, fields);
    }

    internal static Result<ScheduleExpression> ParseStandard(string text)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            return Error($"'{text}' is not a schedule expression: use rate(5 minutes), cron(30 2 ? * MON-FRI *) (6 fields) or a standard 5-field cron such as 30 2 * * 1-5 ({fields.Length} fields given).");
        }

        return Build(text, text, _ => true, [.. fields, "*"]);
    }

    private static Result<ScheduleExpression> Build(string text, string cronText, Func<int, bool> year, string[] fields)
    {
        try
        {
            var cron = CronExpression.Parse(cronText, CronFormat.Standard);
            return new CronScheduleExpression(text, cron, cronText, year, fields);
        }
        catch (CronFormatException ex)
        {
            return Error($"'{text}' is not a valid cron expression: {ex.Message}");
        }
    }

    public override IEnumerable<DateTimeOffset> Occurrences(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset anchor)
    {
        var from = after;
        for (var guard = 0; guard < 100_000; guard++)
        {
            var next = _cron.GetNextOccurrence(from, zone, inclusive: false);
            if (next is not { } t)
            {
                yield break;
            }

            var local = TimeZoneInfo.ConvertTime(t, zone);
            if (local.Year > 2199)
            {
                yield break;
            }

            if (_year(local.Year))
            {
                // Cronos gives the zone's offset; fire times are instants, and shown and stored as UTC like every other.
                yield return t.ToUniversalTime();
                from = t;
            }
            else
            {
                // Jump to the start of the next year rather than walk every occurrence of a year that never fires.
                var nextYear = new DateTime(local.Year + 1, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
                from = new DateTimeOffset(nextYear, zone.GetUtcOffset(nextYear)).AddTicks(-1);
            }
        }
    }

    public override string TriggerCron(DateTimeOffset anchor, TimeZoneInfo zone) => CronText;

    /// <summary>
    /// Where daylight saving changes the fire times in <paramref name="zone"/> between <paramref name="from"/> and
    /// <paramref name="to"/>: a wall-clock time that does not exist (clocks go forward) or happens twice (clocks go back).
    /// </summary>
    public IReadOnlyList<string> DaylightSavingWarnings(DateTimeOffset from, DateTimeOffset to, TimeZoneInfo zone)
    {
        if (!zone.SupportsDaylightSavingTime)
        {
            return [];
        }

        var warnings = new List<string>();
        var localFrom = TimeZoneInfo.ConvertTime(from, zone).DateTime;
        var localTo = TimeZoneInfo.ConvertTime(to, zone).DateTime;

        // Walk the expression on the wall clock (as if it were UTC) and look each wall time up in the zone.
        foreach (var wall in _cron.GetOccurrences(DateTime.SpecifyKind(localFrom, DateTimeKind.Utc), DateTime.SpecifyKind(localTo, DateTimeKind.Utc), fromInclusive: true, toInclusive: true).Take(2_000))
        {
            var naive = DateTime.SpecifyKind(wall, DateTimeKind.Unspecified);
            if (!_year(naive.Year))
            {
                continue;
            }

            if (zone.IsInvalidTime(naive))
            {
                var actual = _cron.GetNextOccurrence(new DateTimeOffset(naive.AddHours(-3), zone.GetUtcOffset(naive.AddHours(-3))), zone);
                var at = actual is { } a ? TimeZoneInfo.ConvertTime(a, zone).ToString("HH:mm", CultureInfo.InvariantCulture) : "the next valid time";
                warnings.Add($"{naive:yyyy-MM-dd HH:mm} does not exist in {zone.Id} (clocks go forward); that run happens at {at}.");
            }
            else if (zone.IsAmbiguousTime(naive))
            {
                warnings.Add($"{naive:yyyy-MM-dd HH:mm} happens twice in {zone.Id} (clocks go back); the job runs once.");
            }
        }

        return warnings;
    }

    public override string Describe()
    {
        var (minutes, hours, dom, month, dow) = (_fields[0], _fields[1], _fields[2], _fields[3], _fields[4]);
        var eventBridge = Text.StartsWith("cron(", StringComparison.OrdinalIgnoreCase);
        string when;
        if ((minutes.StartsWith("*/", StringComparison.Ordinal) || minutes.StartsWith("0/", StringComparison.Ordinal)) && hours == "*")
        {
            when = $"every {minutes[2..]} minutes";
        }
        else if (minutes == "*" && hours == "*")
        {
            when = "every minute";
        }
        else if (int.TryParse(minutes, out var m) && hours == "*")
        {
            when = $"at minute {m} of every hour";
        }
        else if (int.TryParse(minutes, out var mm) && int.TryParse(hours, out var hh))
        {
            when = $"at {hh:00}:{mm:00}";
        }
        else if (int.TryParse(minutes, out var m2) && hours.StartsWith("*/", StringComparison.Ordinal))
        {
            when = $"at minute {m2} of every {hours[2..]} hours";
        }
        else
        {
            return eventBridge ? Text : $"cron {Text}";
        }

        var days = (dom, dow.ToUpperInvariant()) switch
        {
            // "every day" reads well only after a time of day: not "every 5 minutes every day".
            ("?" or "*", "?" or "*") => when.StartsWith("at ", StringComparison.Ordinal) && !when.StartsWith("at minute", StringComparison.Ordinal) ? "every day" : null,
            (_, "MON-FRI") => "on weekdays",

            // EventBridge numbers days from 1 = Sunday: its 1-5 is Sunday to Thursday.
            (_, "2-6") when eventBridge => "on weekdays",
            (_, "1-5") when !eventBridge => "on weekdays",
            (_, "SAT,SUN" or "SUN,SAT") => "on weekends",
            ("?" or "*", var d) => $"on {DescribeDays(d)}",
            ("L", _) => "on the last day of the month",
            (var d, _) => $"on day {d} of the month",
        };
        var months = month == "*" ? string.Empty : $" in month {month}";
        var years = _fields[5] == "*" ? string.Empty : $" in {_fields[5]}";
        return $"{when}{(days is null ? string.Empty : " " + days)}{months}{years}";
    }

    private string DescribeDays(string dow)
    {
        var eventBridge = Text.StartsWith("cron(", StringComparison.OrdinalIgnoreCase);
        return string.Join(", ", dow.Split(',').Select(d => int.TryParse(d, out var n)
            ? Capitalize(DayNames[((eventBridge ? n - 1 : n) % 7 + 7) % 7])
            : Capitalize(d)));
    }

    private static string Capitalize(string day) => day.Length == 3
        ? day.ToUpperInvariant() switch
        {
            "SUN" => "Sunday", "MON" => "Monday", "TUE" => "Tuesday", "WED" => "Wednesday", "THU" => "Thursday", "FRI" => "Friday", "SAT" => "Saturday",
            _ => day,
        }
        : day;

    private static void Check(List<string> errors, string name, string value, string pattern, string allowed)
    {
        if (!Regex.IsMatch(value, pattern))
        {
            errors.Add($"The {name} field '{value}' is not valid: use {allowed}.");
        }
    }

    /// <summary>EventBridge numbers days 1-7 from Sunday; Cronos 0-6. Names pass through.</summary>
    private static string TranslateDayOfWeek(string dow, List<string> errors)
    {
        if (dow is "?" or "*")
        {
            return dow;
        }

        if (dow == "L")
        {
            return "6";
        }

        return DayNumber().Replace(dow, m =>
        {
            var n = int.Parse(m.Value, CultureInfo.InvariantCulture);
            if (n is < 1 or > 7)
            {
                errors.Add($"The day-of-week value {n} is out of range: use 1-7 (1 = Sunday) or SUN-SAT.");
                return m.Value;
            }

            return (n - 1).ToString(CultureInfo.InvariantCulture);
        });
    }

    private static Func<int, bool>? ParseYear(string year, List<string> errors)
    {
        if (year == "*")
        {
            return _ => true;
        }

        var allowed = new HashSet<int>();
        foreach (var part in year.Split(','))
        {
            var step = 1;
            var range = part;
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                if (!int.TryParse(part[(slash + 1)..], out step) || step < 1)
                {
                    errors.Add($"The year step in '{part}' must be a whole number of at least 1.");
                    return null;
                }

                range = part[..slash];
            }

            int start, end;
            if (range == "*")
            {
                (start, end) = (1970, 2199);
            }
            else if (range.Split('-') is [var a, var b] && int.TryParse(a, out start) && int.TryParse(b, out end))
            {
            }
            else if (int.TryParse(range, out start))
            {
                end = slash >= 0 ? 2199 : start;
            }
            else
            {
                errors.Add($"The year field part '{part}' is not valid: use 1970-2199 with , - * /.");
                return null;
            }

            if (start is < 1970 or > 2199 || end is < 1970 or > 2199 || end < start)
            {
                errors.Add($"The year range '{part}' must lie within 1970-2199.");
                return null;
            }

            for (var y = start; y <= end; y += step)
            {
                allowed.Add(y);
            }
        }

        return allowed.Contains;
    }

    [GeneratedRegex("(?<!#)[0-9]+")]
    private static partial Regex DayNumber();
}
