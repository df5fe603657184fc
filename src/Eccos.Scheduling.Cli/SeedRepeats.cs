using MathNet.Numerics.Statistics;

namespace Eccos.Scheduling.Cli;

/// <summary>
/// The same evaluation repeated with consecutive seeds (<c>--repeat N</c>): each seed draws its own validation slice,
/// target-curve folds, replay order and random baseline, so the spread of a policy's AIQ or cost over the seeds shows
/// how much of a difference between two policies is the luck of one draw.
/// </summary>
/// <remarks>Immutable once built. The reports must come from the same options, so that their runs line up.</remarks>
internal sealed class SeedRepeats
{
    /// <summary>Pairs the reports with their seeds.</summary>
    /// <exception cref="InvalidOperationException">The reports' runs or frontiers do not line up (different options).</exception>
    public SeedRepeats(IReadOnlyList<int> seeds, IReadOnlyList<EvaluationReport> reports)
    {
        if (seeds.Count != reports.Count || reports.Count == 0)
        {
            throw new ArgumentException($"{seeds.Count} seeds for {reports.Count} reports; give one seed per report, at least one.", nameof(reports));
        }

        EvaluationReport first = reports[0];
        foreach (EvaluationReport other in reports)
        {
            bool same = other.Runs.Count == first.Runs.Count
                && other.Frontiers.Count == first.Frontiers.Count
                && other.Runs.Zip(first.Runs).All(p => p.First.Policy == p.Second.Policy && p.First.Alpha == p.Second.Alpha && p.First.Lambda == p.Second.Lambda)
                && other.Frontiers.Zip(first.Frontiers).All(p => p.First.Policy == p.Second.Policy);
            if (!same)
            {
                throw new InvalidOperationException("The repeated evaluations produced different runs; they must share every option but the seed.");
            }
        }

        Seeds = seeds;
        Reports = reports;
        Frontiers = [.. first.Frontiers
            .Select((f, k) => new PolicySpread(f.Policy, new Spread([.. reports.Select(r => r.Frontiers[k].Aiq)])))
            .OrderByDescending(s => s.Aiq.Mean)];
        Runs = [.. first.Runs.Select((run, k) => new RunSpread(
            run.Policy,
            run.Alpha,
            run.Lambda,
            new Spread([.. reports.Select(r => r.Runs[k].Quality)]),
            new Spread([.. reports.Select(r => r.Runs[k].Cost)]),
            reports.Count(r => r.Runs[k].Reachable)))];
    }

    /// <summary>Gets the seeds, one per report.</summary>
    public IReadOnlyList<int> Seeds { get; }

    /// <summary>Gets the reports, the first being the one the main tables and the plot show.</summary>
    public IReadOnlyList<EvaluationReport> Reports { get; }

    /// <summary>Gets each policy's AIQ on every seed, highest mean first.</summary>
    public IReadOnlyList<PolicySpread> Frontiers { get; }

    /// <summary>Gets every run's success and cost on every seed, in the order of the first report.</summary>
    public IReadOnlyList<RunSpread> Runs { get; }

    /// <summary>One quantity over the seeds.</summary>
    /// <param name="Values">The value on each seed, in seed order.</param>
    internal sealed record Spread(double[] Values)
    {
        public double Mean => Values.Mean();

        /// <summary>Gets the sample standard deviation (NaN for one seed).</summary>
        public double StandardDeviation => Values.Length < 2 ? double.NaN : Values.StandardDeviation();

        public double Min => Values.Min();

        public double Max => Values.Max();
    }

    /// <summary>A policy's AIQ over the seeds.</summary>
    /// <param name="Policy">The policy.</param>
    /// <param name="Aiq">Its AIQ on each seed.</param>
    internal sealed record PolicySpread(string Policy, Spread Aiq);

    /// <summary>One run over the seeds.</summary>
    /// <param name="Policy">The policy.</param>
    /// <param name="Alpha">The run's α, if any.</param>
    /// <param name="Lambda">The run's λ, if any.</param>
    /// <param name="Success">Realized success on each seed.</param>
    /// <param name="Cost">Total cost on each seed.</param>
    /// <param name="ReachableCount">On how many seeds the run was reachable.</param>
    internal sealed record RunSpread(string Policy, double? Alpha, double? Lambda, Spread Success, Spread Cost, int ReachableCount);
}
