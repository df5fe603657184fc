using ScottPlot;

namespace Eccos.Scheduling.Cli;

/// <summary>Draws success against cost: each multi-point policy's frontier (hull line and its points) and every single-point policy as a labelled marker.</summary>
internal static class FrontierPlot
{
    public static void Save(string path, EvaluationReport report, int width = 1400, int height = 900)
    {
        var plot = new Plot();
        plot.Title($"{report.Dataset}: success vs cost ({report.TestQueries} test queries)");
        plot.XLabel("Total cost (USD)");
        plot.YLabel("Success (mean score)");
        var palette = new ScottPlot.Palettes.Category20();
        int color = 0;
        foreach (PolicyFrontier f in report.Frontiers.Where(f => f.Frontier.Points.Count > 1).OrderByDescending(f => f.Aiq))
        {
            Color c = palette.GetColor(color++);
            double[] hx = [.. f.Frontier.Hull.Select(p => p.Cost), report.MaxSingleModelCost];
            double[] hy = [.. f.Frontier.Hull.Select(p => p.Quality), f.Frontier.Hull[^1].Quality];
            var hull = plot.Add.ScatterLine(hx, hy, c);
            hull.LineWidth = 2;
            hull.LegendText = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{f.Policy} (AIQ {f.Aiq:F3})");
            double[] px = [.. f.Frontier.Points.Select(p => p.Cost)];
            double[] py = [.. f.Frontier.Points.Select(p => p.Quality)];
            var points = plot.Add.ScatterPoints(px, py, c);
            points.MarkerSize = 4;
        }

        foreach (PolicyFrontier f in report.Frontiers.Where(f => f.Frontier.Points.Count == 1))
        {
            CostQualityPoint p = f.Frontier.Points[0];
            bool single = f.Policy.StartsWith("single:", StringComparison.Ordinal);
            Color c = single ? Colors.Gray : palette.GetColor(color++);
            var marker = plot.Add.Marker(p.Cost, p.Quality, single ? MarkerShape.FilledCircle : MarkerShape.FilledDiamond, 8, c);
            if (!single)
            {
                marker.LegendText = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{f.Policy} (AIQ {f.Aiq:F3})");
            }

            var label = plot.Add.Text(single ? f.Policy["single:".Length..] : f.Policy, p.Cost, p.Quality);
            label.LabelFontSize = 11;
            label.LabelFontColor = c;
            label.OffsetX = 6;
        }

        plot.Axes.SetLimits(0, report.MaxSingleModelCost * 1.08, 0, 1);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, width, height);
    }
}
