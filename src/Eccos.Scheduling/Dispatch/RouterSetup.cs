using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Eccos.Scheduling;

/// <summary>One model of a pool being set up.</summary>
internal sealed record PoolEntry(IChatClient Client, ModelProfile Profile, bool OwnsClient, string? ModelId);

/// <summary>Everything a router is built from; filled by <see cref="EccosBuilder"/> or by dependency injection.</summary>
internal sealed class RouterSetup
{
    public string Name { get; set; } = "eccos";

    public List<PoolEntry> Models { get; } = [];

    public IPredictor? Predictor { get; set; }

    public IAssignmentSolver? Solver { get; set; }

    public EccosOptions Options { get; set; } = new();

    public List<IOutcomeSink> Sinks { get; } = [];

    public Func<EccosQualityContext, CancellationToken, ValueTask<double?>>? QualitySignal { get; set; }

    public Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery>? QueryFactory { get; set; }

    public List<SchedulingQuery> WarmUp { get; } = [];

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets the map from the wanted realized quality α to the target solved for on predictions.</summary>
    public QualityTargetCurve? Calibration { get; set; }

    public ILoggerFactory? LoggerFactory { get; set; }

    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Gets what the router disposes last (for example an embedding generator it created).</summary>
    public List<IDisposable> Owned { get; } = [];

    public void AddSink(IOutcomeSink sink)
    {
        if (!Sinks.Contains(sink))
        {
            Sinks.Add(sink);
        }
    }

    /// <summary>
    /// Creates a <see cref="KnnPredictor"/> over <paramref name="history"/> (embedding it), makes it the predictor and
    /// an outcome sink, and warm-starts the prices from the history's most recent queries.
    /// </summary>
    public void UseKnn(IEnumerable<OutcomeRecord> history, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, KnnPredictorOptions? options)
    {
        ArgumentNullException.ThrowIfNull(history);
        IReadOnlyList<OutcomeRecord> records = history as IReadOnlyList<OutcomeRecord> ?? [.. history];
        if (embeddingGenerator is null)
        {
            var hashing = HashingEmbeddingGenerator.Fit(records.Select(r => r.Query));
            Owned.Add(hashing);
            embeddingGenerator = hashing;
        }

        // Online routing predicts one request at a time: without options, the clustered search (an exact scan of a
        // 10k history costs ~0.25 ms a request, the clustered one ~15 µs for 0.001 AUC on MMLU-Pro; docs/knn.md).
        options ??= new KnnPredictorOptions { Search = KnnSearch.Clustered };

        // The hashing embedder completes synchronously; a remote generator blocks here once, at start-up.
        KnnPredictor predictor = KnnPredictor.CreateAsync(records, embeddingGenerator, options).GetAwaiter().GetResult();
        Predictor = predictor;
        AddSink(predictor);
        int take = Math.Min(records.Count, Options.ResolveWindowSize);
        WarmUp.AddRange(records.Skip(records.Count - take).Select(r => r.ToQuery()));
    }

    /// <summary>Checks the setup and builds the router (whose background loop starts at once).</summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the message lists every problem.</exception>
    /// <exception cref="InvalidOperationException">No model, or no predictor.</exception>
    public EccosChatClient Build()
    {
        IReadOnlyList<string> errors = Options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Name, typeof(EccosOptions), errors);
        }

        if (Models.Count == 0)
        {
            throw new InvalidOperationException($"Eccos router '{Name}': add at least one model to the pool (AddModel).");
        }

        if (Predictor is null)
        {
            throw new InvalidOperationException($"Eccos router '{Name}': set a predictor (UsePredictor).");
        }

        return new EccosChatClient(this);
    }
}
