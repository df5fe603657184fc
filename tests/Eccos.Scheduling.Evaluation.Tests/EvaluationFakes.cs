namespace Eccos.Scheduling.Evaluation.Tests;

/// <summary>A per-(task, model) mean predictor fitted on training records: small, deterministic, honest.</summary>
internal sealed class TaskMeanPredictor : IPredictor
{
    private readonly Dictionary<(string?, string), (double Quality, double Tokens)> _means = [];

    public TaskMeanPredictor(IEnumerable<OutcomeRecord> train)
    {
        foreach (var g in train.SelectMany(r => r.Outputs.Select(o => (r.Task, o))).GroupBy(x => (x.Task, x.o.Model)))
        {
            _means[g.Key] = (g.Average(x => x.o.Quality ?? 0), g.Average(x => (double)x.o.OutputTokens));
        }
    }

    public int Calls { get; private set; }

    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        Calls++;
        var p = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            for (int j = 0; j < models.Count; j++)
            {
                (double q, double t) = _means.TryGetValue((queries[i].Task, models[j].Name), out var v) ? v : (0.5, 100);
                p.Set(i, j, q, models[j].CostOf(queries[i].InputTokens, t), t);
            }
        }

        return ValueTask.FromResult(p);
    }
}

/// <summary>
/// A small correct solver for the tests: every query starts on its cheapest eligible model with room, then the upgrade
/// with the best quality gain per cost is applied until the mean predicted quality reaches the target.
/// </summary>
internal sealed class GreedyTargetSolver : IAssignmentSolver
{
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        constraints.Validate(predictions);
        int n = predictions.QueryCount, m = predictions.ModelCount;
        var room = new int[m];
        constraints.ResolveCapacities(predictions, room);
        var x = new int[n];
        double quality = 0, cost = 0;
        for (int i = 0; i < n; i++)
        {
            int best = -1;
            for (int j = 0; j < m; j++)
            {
                if (predictions.EligibleRow(i)[j] && room[j] > 0 && (best < 0 || predictions.CostRow(i)[j] < predictions.CostRow(i)[best]))
                {
                    best = j;
                }
            }

            x[i] = best;
            if (best >= 0)
            {
                room[best]--;
                quality += predictions.QualityRow(i)[best];
                cost += predictions.CostRow(i)[best];
            }
        }

        double target = constraints.QualityTarget * n;
        while (quality < target)
        {
            int bi = -1, bj = -1;
            double bestRatio = 0;
            for (int i = 0; i < n; i++)
            {
                if (x[i] < 0)
                {
                    continue;
                }

                for (int j = 0; j < m; j++)
                {
                    double gain = predictions.QualityRow(i)[j] - predictions.QualityRow(i)[x[i]];
                    if (!predictions.EligibleRow(i)[j] || room[j] <= 0 || gain <= 0)
                    {
                        continue;
                    }

                    double ratio = gain / Math.Max(1e-12, predictions.CostRow(i)[j] - predictions.CostRow(i)[x[i]]);
                    if (ratio > bestRatio)
                    {
                        (bi, bj, bestRatio) = (i, j, ratio);
                    }
                }
            }

            if (bi < 0)
            {
                break;
            }

            room[x[bi]]++;
            room[bj]--;
            quality += predictions.QualityRow(bi)[bj] - predictions.QualityRow(bi)[x[bi]];
            cost += predictions.CostRow(bi)[bj] - predictions.CostRow(bi)[x[bi]];
            x[bi] = bj;
        }

        AssignmentStatus status = x.Contains(-1) ? AssignmentStatus.CapacityShortfall
            : quality < target - 1e-9 ? AssignmentStatus.QualityTargetUnreachable
            : AssignmentStatus.Feasible;
        return new AssignmentResult(x, cost, n == 0 ? 0 : quality / n, double.NaN, 1, status);
    }
}

/// <summary>Assigns every query to one model regardless of eligibility and capacity: a broken solver, to see violations counted.</summary>
internal sealed class StubbornSolver(int model) : IAssignmentSolver
{
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default) =>
        new(Enumerable.Repeat(model, predictions.QueryCount).ToArray(), 0, 0, double.NaN, 1, AssignmentStatus.Feasible);
}

internal static class EvaluationTestSetup
{
    public static EvaluationPredictor TaskMean(string name = "task-mean") =>
        new(name, (context, _) => ValueTask.FromResult<IPredictor>(new TaskMeanPredictor(context.Train)));
}
