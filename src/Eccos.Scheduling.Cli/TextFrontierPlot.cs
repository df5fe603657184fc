using System.Globalization;
using System.Text;

namespace Eccos.Scheduling.Cli;

/// <summary>
/// Success against cost as plain text, for a terminal, a log or a Markdown code block: the frontiers (hulls) of the
/// best <c>eccos:*</c> policy, the best λ-router and the best threshold router, and every single model as a point.
/// </summary>
/// <remarks>
/// The success axis spans the drawn frontiers' points (the origin the hulls start from and the oracle lie off the
/// chart and are left out); single models below it are listed, marked "below the chart", but not drawn. Where two frontiers fall on the same character the one listed first
/// in the legend wins; single models are drawn over the frontiers.
/// </remarks>
internal static class TextFrontierPlot
{
    private const string SingleMarks = "123456789abcdefghijklmnopqrstuvwxyz";

    public static string Render(EvaluationReport report, int width = 64, int height = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 4);
        double maxCost = report.MaxSingleModelCost;
        (char Mark, PolicyFrontier Frontier)[] lines =
        [
            .. new (char, Func<string, bool>)[]
            {
                ('E', p => p.StartsWith("eccos:", StringComparison.Ordinal)),
                ('L', p => p.EndsWith("-lambda", StringComparison.Ordinal)),
                ('T', p => p.StartsWith("threshold:", StringComparison.Ordinal)),
            }
            .Select(kind => (kind.Item1, Best: report.Frontiers.Where(f => kind.Item2(f.Policy) && f.Frontier.Points.Count > 0).MaxBy(f => f.Aiq)))
            .Where(x => x.Best is not null)
            .Select(x => (x.Item1, x.Best!)),
        ];
        PolicyFrontier[] singles = [.. report.Frontiers.Where(f => f.Policy.StartsWith("single:", StringComparison.Ordinal)).Take(SingleMarks.Length)];
        double[] shown = [.. lines.SelectMany(l => l.Frontier.Frontier.Points.Select(p => p.Quality))];
        if (shown.Length == 0)
        {
            shown = [.. singles.Select(s => s.Frontier.Points[0].Quality)];
        }

        if (shown.Length == 0 || !(maxCost > 0))
        {
            return "(nothing to plot)" + Environment.NewLine;
        }

        double low = Math.Floor(shown.Min() * 20) / 20;
        double high = Math.Max(Math.Ceiling(Math.Max(shown.Max(), singles.Select(s => s.Frontier.Points[0].Quality).DefaultIfEmpty(0).Max()) * 20) / 20, low + 0.05);
        var grid = new char[height, width];
        for (int r = 0; r < height; r++)
        {
            for (int c = 0; c < width; c++)
            {
                grid[r, c] = ' ';
            }
        }

        int Row(double success) => (int)Math.Round((high - success) / (high - low) * (height - 1));
        for (int l = lines.Length - 1; l >= 0; l--)
        {
            int? previous = null;
            for (int c = 0; c < width; c++)
            {
                double success = lines[l].Frontier.Frontier.QualityAt(maxCost * (c + 0.5) / width);
                if (success < low)
                {
                    previous = null;
                    continue;
                }

                int row = Row(success);
                // A steep rise between two columns is drawn as a vertical run, so the line stays connected.
                for (int r = previous is { } p && p > row + 1 ? p - 1 : row; r >= row; r--)
                {
                    grid[r, c] = lines[l].Mark;
                }

                previous = row;
            }
        }

        for (int s = 0; s < singles.Length; s++)
        {
            CostQualityPoint p = singles[s].Frontier.Points[0];
            if (p.Quality >= low)
            {
                grid[Row(p.Quality), Math.Clamp((int)(p.Cost / maxCost * width), 0, width - 1)] = SingleMarks[s];
            }
        }

        var text = new StringBuilder();
        text.AppendLine("success");
        for (int r = 0; r < height; r++)
        {
            string label = r == 0 || r == height - 1 || r == (height - 1) / 2
                ? (high - ((high - low) * r / (height - 1))).ToString("F3", CultureInfo.InvariantCulture)
                : string.Empty;
            var row = new StringBuilder(label.PadLeft(6)).Append(" |");
            for (int c = 0; c < width; c++)
            {
                row.Append(grid[r, c]);
            }

            text.AppendLine(row.ToString().TrimEnd());
        }

        text.Append(' ', 7).Append('+').Append('-', width).AppendLine();
        string left = "$0", middle = ReportTables.Money(maxCost / 2), right = ReportTables.Money(maxCost);
        var axis = new StringBuilder(new string(' ', 8 + width));
        axis.Remove(8, left.Length).Insert(8, left);
        int mid = 8 + (width / 2) - (middle.Length / 2);
        axis.Remove(mid, middle.Length).Insert(mid, middle);
        axis.Remove(8 + width - right.Length, right.Length).Insert(8 + width - right.Length, right);
        axis.Append(" cost");
        text.AppendLine(axis.ToString().TrimEnd());
        foreach ((char mark, PolicyFrontier f) in lines)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {mark}  {f.Policy} (AIQ {f.Aiq:F3})"));
        }

        for (int s = 0; s < singles.Length; s++)
        {
            CostQualityPoint p = singles[s].Frontier.Points[0];
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"  {SingleMarks[s]}  {singles[s].Policy["single:".Length..]} ({ReportTables.Money(p.Cost)}, {p.Quality:F3}){(p.Quality < low ? ", below the chart" : string.Empty)}"));
        }

        return text.ToString();
    }
}
