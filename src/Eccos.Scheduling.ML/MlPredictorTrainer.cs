using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.ML;

namespace Eccos.Scheduling.ML;

/// <summary>
/// Trains an <see cref="MlPredictor"/> on recorded outcomes with ML.NET: per (query, model) pair, a calibrated binary
/// classifier of a correct answer and a regressor of log output length, over task priors, query shape, stacked text
/// n-gram scores and, optionally, embeddings.
/// </summary>
/// <remarks>
/// <para>
/// Training is two-stage. Stage 1 fits linear models (SDCA) on the template-free question text (ML.NET FeaturizeText
/// word and character n-grams) and embeddings, predicting each query's mean residual success and log length over the
/// models; stage 2 fits the chosen learner (<see cref="MlPredictorOptions.Trainer"/>) on dense features. Every
/// label-derived feature of a training row — the task priors and the stage-1 scores — is computed out-of-fold
/// (<see cref="MlPredictorOptions.NumberOfFolds"/>), so stage 2 sees them as it will at prediction time.
/// </para>
/// <para>
/// Deterministic for a given <see cref="MlPredictorOptions.Seed"/>, data order and thread count. Outputs naming a model
/// not in the <c>models</c> argument are ignored; outputs without a score count for length only. Thread-safe: each fit
/// uses its own <see cref="MLContext"/>. Cancellation is observed between steps (parsing, embedding, each text fold,
/// each learner); one learner's fit, once started, runs to its end because ML.NET exposes no way to stop it.
/// </para>
/// </remarks>
public sealed class MlPredictorTrainer
{
    private readonly MlPredictorOptions _options;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddingGenerator;

    /// <summary>Initializes a trainer.</summary>
    /// <param name="options">The options (copied); <see langword="null"/> for the defaults.</param>
    /// <param name="embeddingGenerator">
    /// An optional embedding generator: when given, each query's embedding joins the stage-1 text features, and the
    /// trained predictor calls the generator for every batch it predicts (so it must be given again to
    /// <see cref="MlPredictor.Load"/>).
    /// </param>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public MlPredictorTrainer(MlPredictorOptions? options = null, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        _options = options?.Clone() ?? new MlPredictorOptions();
        _options.Validate(nameof(options));
        _embeddingGenerator = embeddingGenerator;
    }

    /// <summary>Gets a copy of the trainer's options.</summary>
    public MlPredictorOptions Options => _options.Clone();

    /// <summary>Trains a predictor without embeddings.</summary>
    /// <param name="training">The recorded outcomes to learn from.</param>
    /// <param name="models">The models to learn; outputs of other models are ignored. A model without outputs gets priors.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The trained predictor.</returns>
    /// <exception cref="ArgumentException">No records, or a bad record (the message names its index, id, model and field), or bad models.</exception>
    /// <exception cref="InvalidOperationException">The trainer has an embedding generator: use <see cref="FitAsync"/>.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    public MlPredictor Fit(IEnumerable<OutcomeRecord> training, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        if (_embeddingGenerator is not null)
        {
            throw new InvalidOperationException($"This trainer computes embeddings, which is asynchronous: call {nameof(FitAsync)}.");
        }

        Prepared prepared = Prepare(training, models);
        return Train(prepared, null, cancellationToken);
    }

    /// <summary>Trains a predictor, computing embeddings first when the trainer has an embedding generator.</summary>
    /// <param name="training">The recorded outcomes to learn from.</param>
    /// <param name="models">The models to learn; outputs of other models are ignored. A model without outputs gets priors.</param>
    /// <param name="cancellationToken">Cancels training and embedding.</param>
    /// <returns>The trained predictor.</returns>
    /// <exception cref="ArgumentException">No records, or a bad record (the message names its index, id, model and field), or bad models.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    public async Task<MlPredictor> FitAsync(
        IEnumerable<OutcomeRecord> training, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        Prepared prepared = Prepare(training, models);
        float[][]? embeddings = _embeddingGenerator is null
            ? null
            : await MlPredictor.EmbedAsync(_embeddingGenerator, [.. prepared.Queries.Select(q => q.Text)], 0, cancellationToken).ConfigureAwait(false);
        return Train(prepared, embeddings, cancellationToken);
    }

    private Prepared Prepare(IEnumerable<OutcomeRecord> training, IReadOnlyList<ModelProfile> models)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(models);
        var modelIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new string[models.Count];
        for (int j = 0; j < models.Count; j++)
        {
            ModelProfile model = models[j] ?? throw new ArgumentException($"Model at index {j} is null.", nameof(models));
            if (!modelIndex.TryAdd(model.Name, j))
            {
                throw new ArgumentException($"Model '{model.Name}' appears more than once.", nameof(models));
            }

            names[j] = model.Name;
        }

        if (names.Length == 0)
        {
            throw new ArgumentException("At least one model is required.", nameof(models));
        }

        var records = new List<OutcomeRecord>();
        var taskSet = new SortedSet<string>(StringComparer.Ordinal);
        foreach (OutcomeRecord? r in training)
        {
            int i = records.Count;
            if (r is null)
            {
                throw new ArgumentException($"Record {i} is null.", nameof(training));
            }

            Check(r.Text is not null, i, r, "has null query text");
            Check(r.InputTokens >= 0, i, r, string.Create(CultureInfo.InvariantCulture, $"has {r.InputTokens} input tokens; they must not be negative"));
            Check(r.Outputs is not null, i, r, "has null outputs");
            if (r.Task is not null)
            {
                taskSet.Add(r.Task);
            }

            records.Add(r);
        }

        if (records.Count == 0)
        {
            throw new ArgumentException("No training records: at least one is required.", nameof(training));
        }

        string[] tasks = [.. taskSet];
        var taskIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int t = 0; t < tasks.Length; t++)
        {
            taskIndex[tasks[t]] = t;
        }

        // Folds by a seeded shuffle of the records, the same for every label-derived feature.
        int[] order = [.. Enumerable.Range(0, records.Count)];
        new Random(_options.Seed).Shuffle(order);
        var folds = new int[records.Count];
        for (int k = 0; k < order.Length; k++)
        {
            folds[order[k]] = k % _options.NumberOfFolds;
        }

        var queries = new TrainingQuery[records.Count];
        var seen = new HashSet<int>();
        for (int i = 0; i < records.Count; i++)
        {
            OutcomeRecord r = records[i];
            var outcomes = new List<TrainingOutcome>(r.Outputs.Count);
            seen.Clear();
            foreach (ModelOutcome? o in r.Outputs)
            {
                Check(o is not null, i, r, "has a null output");
                if (!modelIndex.TryGetValue(o!.Model ?? string.Empty, out int j))
                {
                    continue;
                }

                Check(seen.Add(j), i, r, $"lists model '{o.Model}' twice");
                Check(o.Quality is null || (double.IsFinite(o.Quality.Value) && o.Quality.Value is >= 0 and <= 1), i, r,
                    string.Create(CultureInfo.InvariantCulture, $"model '{o.Model}': score {o.Quality} must lie in [0, 1]"));
                Check(o.OutputTokens >= 0, i, r,
                    string.Create(CultureInfo.InvariantCulture, $"model '{o.Model}': {o.OutputTokens} output tokens must not be negative"));
                outcomes.Add(new TrainingOutcome(j, o.Quality, MathF.Log(1 + o.OutputTokens)));
            }

            queries[i] = new TrainingQuery(r.Text, r.InputTokens, r.Task is null ? -1 : taskIndex[r.Task], folds[i], [.. outcomes]);
        }

        return new Prepared(names, tasks, queries);

        static void Check(bool ok, int index, OutcomeRecord r, string problem)
        {
            if (!ok)
            {
                throw new ArgumentException($"Record {index} (id '{r.Id}') {problem}.", nameof(training));
            }
        }
    }

    private MlPredictor Train(Prepared data, float[][]? embeddings, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();

        // MLContext's own cancellation (ICancelable) is internal to ML.NET, so cancellation is observed between steps.
        return TrainCore(new MLContext(_options.Seed), data, embeddings, ct);
    }

    private MlPredictor TrainCore(MLContext ml, Prepared data, float[][]? embeddings, CancellationToken ct)
    {
        MlPredictorOptions o = _options;
        TrainingQuery[] queries = data.Queries;
        int n = queries.Length;
        int models = data.Models.Length;
        var priors = PriorTable.Build(queries, models, data.Tasks.Length, o.NumberOfFolds, o.PriorPseudoCount);
        var shapes = new QueryShape[n];
        for (int i = 0; i < n; i++)
        {
            shapes[i] = QueryShape.Parse(queries[i].Text);
        }

        // Stage 1: text and embedding stack, out-of-fold on the training queries.
        var stackedQuality = new float[n];
        var stackedTokens = new float[n];
        TextStack? text = null;
        // Text with no letter or digit anywhere gives ML.NET an empty vocabulary (a vector of unknown size): no text stack.
        bool useText = (o.Features & MlFeatures.Text) != 0 && shapes.Any(s => s.Content.Any(char.IsLetterOrDigit));
        if (useText || embeddings is not null)
        {
            var rows = new TextRow[n];
            for (int i = 0; i < n; i++)
            {
                (float quality, float tokens) = Residuals(priors, queries[i]);
                rows[i] = new TextRow
                {
                    Text = shapes[i].Content,
                    QualityLabel = quality,
                    TokensLabel = tokens,
                    Fold = queries[i].Fold,
                    Row = i,
                    Embedding = embeddings?[i] ?? [],
                };
            }

            (text, stackedQuality, stackedTokens) = TextStack.Train(ml, o, rows, useText, embeddings?[0].Length ?? 0, ct);
        }

        // Stage 2: one row per (query, model) output.
        FeatureLayout layout = MlPredictor.CreateLayout(o, text is not null, data.Tasks.Length, models);
        var graded = new List<PairRow>[o.Layout == MlModelLayout.Shared ? 1 : models];
        var lengths = new List<PairRow>[graded.Length];
        for (int k = 0; k < graded.Length; k++)
        {
            graded[k] = [];
            lengths[k] = [];
        }

        for (int i = 0; i < n; i++)
        {
            TrainingQuery q = queries[i];
            float logInput = MathF.Log(1 + q.InputTokens);
            foreach (TrainingOutcome outcome in q.Outcomes)
            {
                var features = new float[layout.Length];
                layout.Write(features, priors, outcome.Model, q.Task, q.Fold, logInput, shapes[i], stackedQuality[i], stackedTokens[i]);
                int slot = o.Layout == MlModelLayout.Shared ? 0 : outcome.Model;
                var row = new PairRow { Features = features, LogTokens = outcome.LogTokens, Label = outcome.Score >= 0.5 };
                lengths[slot].Add(row);
                if (outcome.Score is not null)
                {
                    graded[slot].Add(row);
                }
            }
        }

        var schema = PairRow.Schema(layout.Length);
        var classifiers = new ITransformer?[graded.Length];
        var regressors = new ITransformer?[graded.Length];
        for (int k = 0; k < graded.Length; k++)
        {
            ct.ThrowIfCancellationRequested();
            List<PairRow> g = graded[k];
            if (g.Exists(r => r.Label) && g.Exists(r => !r.Label))
            {
                classifiers[k] = Learners.Classifier(ml, o, g.Count).Fit(ml.Data.LoadFromEnumerable(g, schema));
            }

            ct.ThrowIfCancellationRequested();
            if (lengths[k].Count > 0)
            {
                regressors[k] = Learners.Regressor(ml, o, lengths[k].Count).Fit(ml.Data.LoadFromEnumerable(lengths[k], schema));
            }
        }

        return new MlPredictor(ml, o.Clone(), data.Models, data.Tasks, priors, text, classifiers, regressors, _embeddingGenerator);
    }

    /// <summary>The query's mean success and log length over its outputs, minus each model's prior on the task.</summary>
    private static (float Quality, float Tokens) Residuals(PriorTable priors, TrainingQuery q)
    {
        double quality = 0;
        double tokens = 0;
        int scored = 0;
        foreach (TrainingOutcome o in q.Outcomes)
        {
            PriorLevel prior = priors.Estimate(o.Model, q.Task, -1).Cell;
            tokens += o.LogTokens - prior.Length;
            if (o.Score is { } s)
            {
                quality += s - prior.Quality;
                scored++;
            }
        }

        return (scored == 0 ? 0 : (float)(quality / scored), q.Outcomes.Length == 0 ? 0 : (float)(tokens / q.Outcomes.Length));
    }

    private sealed record Prepared(string[] Models, string[] Tasks, TrainingQuery[] Queries);
}
