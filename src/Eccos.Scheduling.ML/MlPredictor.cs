using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using Microsoft.ML;

namespace Eccos.Scheduling.ML;

/// <summary>
/// A trained ML.NET predictor of answer quality (calibrated probability of a correct answer) and output length for
/// every (query, model) pair; made by <see cref="MlPredictorTrainer"/>, saved by <see cref="Save"/> and restored by
/// <see cref="Load"/>.
/// </summary>
/// <remarks>
/// <para>
/// Immutable and thread-safe: a batch is predicted by one <c>ITransformer.Transform</c> over an <c>IDataView</c> of all
/// its rows (no <c>PredictionEngine</c>, which is not thread-safe), and ML.NET transformers may be shared between
/// threads. Concurrent <see cref="PredictAsync"/> calls need no locking.
/// </para>
/// <para>
/// A model without training data gets its prior: the pool's smoothed success rate and log length on the query's task
/// (or overall). A model with lengths but no graded outcomes gets prior quality and a predicted length.
/// Predicted output tokens are the exponential of a predicted mean log length: a typical (median-like) length,
/// robust to the rare very long answers.
/// </para>
/// <para>Not disposable: it holds managed ML.NET models only (LightGBM models are converted to managed trees).</para>
/// </remarks>
public sealed class MlPredictor : ISavablePredictor
{
    /// <summary>The kind of a saved ML.NET predictor.</summary>
    internal const string SavedKind = "eccos.ml";

    private const int SavedVersion = 1;
    private const int FormatVersion = 1;

    private const string ManifestEntry = "manifest.json";
    private const int EmbeddingBatchSize = 256;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    private readonly MLContext _ml;
    private readonly MlPredictorOptions _options;
    private readonly string[] _models;
    private readonly Dictionary<string, int> _modelIndex;
    private readonly string[] _tasks;
    private readonly Dictionary<string, int> _taskIndex;
    private readonly PriorTable _priors;
    private readonly FeatureLayout _layout;
    private readonly TextStack? _text;
    private readonly ITransformer?[] _classifiers;
    private readonly ITransformer?[] _regressors;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embedder;

    internal MlPredictor(
        MLContext ml,
        MlPredictorOptions options,
        string[] models,
        string[] tasks,
        PriorTable priors,
        TextStack? text,
        ITransformer?[] classifiers,
        ITransformer?[] regressors,
        IEmbeddingGenerator<string, Embedding<float>>? embedder)
    {
        _ml = ml;
        _options = options;
        _models = models;
        _modelIndex = Index(models);
        _tasks = tasks;
        _taskIndex = Index(tasks);
        _priors = priors;
        _text = text;
        _classifiers = classifiers;
        _regressors = regressors;
        _embedder = embedder;
        _layout = CreateLayout(options, text is not null, tasks.Length, models.Length);
    }

    /// <summary>Gets a copy of the options the predictor was trained with.</summary>
    public MlPredictorOptions Options => _options.Clone();

    /// <summary>Gets the names of the models seen in training, in training order.</summary>
    public IReadOnlyList<string> TrainedModels => _models;

    /// <summary>Gets the tasks seen in training (ordinal order); other tasks are predicted as task-less.</summary>
    public IReadOnlyList<string> Tasks => _tasks;

    /// <summary>Gets the dimension of the embeddings the predictor uses, or 0 when it uses none.</summary>
    public int EmbeddingDimension => _text?.EmbeddingDimension ?? 0;

    /// <summary>Loads a predictor written by <see cref="Save"/>.</summary>
    /// <param name="stream">The saved predictor; read from its current position and left open.</param>
    /// <param name="embeddingGenerator">
    /// The embedding generator the predictor was trained with; required when <see cref="EmbeddingDimension"/> of the
    /// saved predictor is not 0, ignored otherwise.
    /// </param>
    /// <returns>The predictor; it predicts exactly as the saved one.</returns>
    /// <exception cref="ArgumentException">The predictor needs embeddings and no generator was given.</exception>
    /// <exception cref="InvalidDataException">The stream is not a saved ML.NET predictor, of an unsupported version, truncated or corrupt.</exception>
    public static MlPredictor Load(Stream stream, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        // The archive is checked against the checksum before ML.NET parses it: a corrupt file says so, not ML.NET.
        byte[] bytes = ModelFile.Read(stream, SavedKind, SavedVersion, static (reader, _) => ModelFile.ReadBlob(reader));
        using var archive = new MemoryStream(bytes, writable: false);
        return LoadArchive(archive, embeddingGenerator);
    }

    /// <summary>
    /// Writes the predictor in the library's saved-model format: a zip archive inside it holds a JSON manifest
    /// (options, models, tasks, priors) and one ML.NET model per trained model.
    /// </summary>
    /// <param name="stream">A writable stream; written from its current position and left open.</param>
    /// <remarks>Thread-safe; an embedding generator is not saved — pass it again to <see cref="Load"/>.</remarks>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream must be writable.", nameof(stream));
        }

        using var archive = new MemoryStream();
        SaveArchive(archive);
        ModelFile.Write(stream, SavedKind, SavedVersion, writer => ModelFile.WriteBlob(writer, archive.GetBuffer().AsSpan(0, (int)archive.Length)));
    }

    private static MlPredictor LoadArchive(Stream stream, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        Manifest manifest = ReadManifest(zip);
        if (manifest.EmbeddingDimension > 0 && embeddingGenerator is null)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The saved predictor was trained with embeddings of dimension {manifest.EmbeddingDimension}; pass the same embedding generator."),
                nameof(embeddingGenerator));
        }

        MlPredictorOptions options = manifest.Options!;
        try
        {
            options.Validate(nameof(stream));
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The saved predictor's options are invalid: {ex.Message}", ex);
        }

        var ml = new MLContext(options.Seed);
        TextStack? text = manifest.HasText
            ? new TextStack(LoadModel(ml, zip, TextFeaturizerEntry), LoadModel(ml, zip, TextQualityEntry), LoadModel(ml, zip, TextTokensEntry), manifest.EmbeddingDimension)
            : null;
        int slots = options.Layout == MlModelLayout.Shared ? 1 : manifest.Models.Length;
        if (manifest.Classifiers.Length != slots || manifest.Regressors.Length != slots)
        {
            throw new InvalidDataException($"The saved predictor's manifest lists {manifest.Classifiers.Length} classifiers and {manifest.Regressors.Length} regressors; its layout needs {slots}.");
        }

        var classifiers = new ITransformer?[slots];
        var regressors = new ITransformer?[slots];
        for (int k = 0; k < slots; k++)
        {
            classifiers[k] = manifest.Classifiers[k] ? LoadModel(ml, zip, ClassifierEntry(k)) : null;
            regressors[k] = manifest.Regressors[k] ? LoadModel(ml, zip, RegressorEntry(k)) : null;
        }

        return new MlPredictor(
            ml, options, manifest.Models, manifest.Tasks, PriorTable.FromState(manifest.Priors!), text, classifiers, regressors,
            manifest.EmbeddingDimension > 0 ? embeddingGenerator : null);
    }

    private void SaveArchive(Stream stream)
    {
        var manifest = new Manifest
        {
            FormatVersion = FormatVersion,
            Options = _options.Clone(),
            Models = _models,
            Tasks = _tasks,
            Priors = _priors.ToState(),
            HasText = _text is not null,
            EmbeddingDimension = EmbeddingDimension,
            Classifiers = [.. _classifiers.Select(c => c is not null)],
            Regressors = [.. _regressors.Select(r => r is not null)],
        };

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        using (Stream entry = zip.CreateEntry(ManifestEntry, CompressionLevel.Optimal).Open())
        {
            JsonSerializer.Serialize(entry, manifest, JsonOptions);
        }

        if (_text is not null)
        {
            DataViewSchema textSchema = _text.InputSchema(_ml);
            SaveModel(zip, TextFeaturizerEntry, _text.Featurizer, textSchema);
            DataViewSchema featureSchema = _text.Featurizer.GetOutputSchema(textSchema);
            SaveModel(zip, TextQualityEntry, _text.Quality, featureSchema);
            SaveModel(zip, TextTokensEntry, _text.Tokens, featureSchema);
        }

        DataViewSchema pairSchema = _ml.Data.LoadFromEnumerable(Array.Empty<PairRow>(), PairRow.Schema(_layout.Length)).Schema;
        for (int k = 0; k < _classifiers.Length; k++)
        {
            if (_classifiers[k] is { } c)
            {
                SaveModel(zip, ClassifierEntry(k), c, pairSchema);
            }

            if (_regressors[k] is { } r)
            {
                SaveModel(zip, RegressorEntry(k), r, pairSchema);
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A query is null (the message names its index), or the models are invalid. (A query's text and token count are checked when it is created.)</exception>
    /// <exception cref="InvalidOperationException">The embedding generator returned the wrong number or dimension of embeddings.</exception>
    public async ValueTask<PredictionMatrix> PredictAsync(
        IReadOnlyList<SchedulingQuery> queries,
        IReadOnlyList<ModelProfile> models,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        var matrix = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            _ = queries[i] ?? throw new ArgumentException($"Query {i} is null.", nameof(queries));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (queries.Count == 0)
        {
            return matrix;
        }

        float[][]? embeddings = _embedder is null
            ? null
            : await EmbedAsync(_embedder, queries.Select(q => q.Text).ToArray(), EmbeddingDimension, cancellationToken).ConfigureAwait(false);
        Predict(queries, embeddings, matrix, cancellationToken);
        return matrix;
    }

    /// <summary>Computes embeddings in batches and checks their count and dimension.</summary>
    internal static async Task<float[][]> EmbedAsync(
        IEmbeddingGenerator<string, Embedding<float>> generator, string[] texts, int expectedDimension, CancellationToken ct)
    {
        var result = new float[texts.Length][];
        for (int start = 0; start < texts.Length; start += EmbeddingBatchSize)
        {
            int n = Math.Min(EmbeddingBatchSize, texts.Length - start);
            GeneratedEmbeddings<Embedding<float>> batch =
                await generator.GenerateAsync(new ArraySegment<string>(texts, start, n), cancellationToken: ct).ConfigureAwait(false);
            if (batch.Count != n)
            {
                throw new InvalidOperationException(
                    string.Create(CultureInfo.InvariantCulture, $"The embedding generator returned {batch.Count} embeddings for {n} texts."));
            }

            for (int i = 0; i < n; i++)
            {
                ReadOnlyMemory<float> vector = batch[i].Vector;
                if (expectedDimension == 0)
                {
                    expectedDimension = vector.Length;
                }

                if (vector.Length != expectedDimension || vector.Length == 0)
                {
                    throw new InvalidOperationException(
                        string.Create(CultureInfo.InvariantCulture, $"Text {start + i}: the embedding generator returned a vector of dimension {vector.Length}; expected {expectedDimension}."));
                }

                result[start + i] = vector.ToArray();
            }
        }

        return result;
    }

    internal static FeatureLayout CreateLayout(MlPredictorOptions options, bool stacked, int tasks, int models) =>
        new(options.Features, stacked, tasks, options.Layout == MlModelLayout.Shared ? models : 0);

    private static string ClassifierEntry(int k) => string.Create(CultureInfo.InvariantCulture, $"classifier-{k}.zip");

    private static string RegressorEntry(int k) => string.Create(CultureInfo.InvariantCulture, $"regressor-{k}.zip");

    private const string TextFeaturizerEntry = "text-featurizer.zip";
    private const string TextQualityEntry = "text-quality.zip";
    private const string TextTokensEntry = "text-tokens.zip";

    private static Dictionary<string, int> Index(string[] names)
    {
        var index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            index[names[i]] = i;
        }

        return index;
    }

    private void Predict(IReadOnlyList<SchedulingQuery> queries, float[][]? embeddings, PredictionMatrix matrix, CancellationToken ct)
    {
        int n = queries.Count;
        var shapes = new QueryShape[n];
        var tasks = new int[n];
        var logInput = new float[n];
        for (int i = 0; i < n; i++)
        {
            shapes[i] = QueryShape.Parse(queries[i].Text);
            tasks[i] = queries[i].Task is { } t && _taskIndex.TryGetValue(t, out int ti) ? ti : -1;
            logInput[i] = MathF.Log(1 + queries[i].InputTokens);
        }

        var stackedQuality = new float[n];
        var stackedTokens = new float[n];
        if (_text is not null)
        {
            var rows = new TextRow[n];
            for (int i = 0; i < n; i++)
            {
                rows[i] = new TextRow { Text = shapes[i].Content, Row = i, Embedding = embeddings?[i] ?? [] };
            }

            _text.Predict(_ml, rows, stackedQuality, stackedTokens, ct);
        }

        // Column j of the matrix → index among the trained models, or −1 for a model never seen in training.
        int m = matrix.ModelCount;
        var trained = new int[m];
        for (int j = 0; j < m; j++)
        {
            trained[j] = _modelIndex.TryGetValue(matrix.Models[j].Name, out int k) ? k : -1;
        }

        Span<double> quality = matrix.Quality;
        Span<double> tokens = matrix.OutputTokens;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                PriorLevel prior = _priors.Estimate(trained[j], tasks[i], -1).Cell;
                quality[(i * m) + j] = prior.Quality;
                tokens[(i * m) + j] = Math.Exp(prior.Length) - 1;
            }
        }

        if (_options.Layout == MlModelLayout.Shared)
        {
            ScoreColumns(0, j => trained[j] >= 0);
        }
        else
        {
            for (int k = 0; k < _models.Length; k++)
            {
                int model = k;
                ScoreColumns(k, j => trained[j] == model);
            }
        }

        matrix.ComputeCosts(queries);

        // Scores, with slot's classifier and regressor, every pair (i, j) whose column passes the filter.
        void ScoreColumns(int slot, Func<int, bool> column)
        {
            ITransformer? classifier = _classifiers[slot];
            ITransformer? regressor = _regressors[slot];
            if (classifier is null && regressor is null)
            {
                return;
            }

            var columns = Enumerable.Range(0, m).Where(column).ToArray();
            if (columns.Length == 0)
            {
                return;
            }

            var rows = new PairRow[n * columns.Length];
            for (int i = 0, r = 0; i < n; i++)
            {
                foreach (int j in columns)
                {
                    var features = new float[_layout.Length];
                    _layout.Write(features, _priors, trained[j], tasks[i], -1, logInput[i], shapes[i], stackedQuality[i], stackedTokens[i]);
                    rows[r++] = new PairRow { Features = features };
                }
            }

            ct.ThrowIfCancellationRequested();
            IDataView data = _ml.Data.LoadFromEnumerable(rows, PairRow.Schema(_layout.Length));
            var output = new float[rows.Length];
            if (classifier is not null)
            {
                Apply(classifier, Learners.ProbabilityColumn, matrix.Quality, k => _priors.GradedCount(k) > 0, static p => Math.Clamp(p, 0, 1));
            }

            if (regressor is not null)
            {
                Apply(regressor, Learners.ScoreColumn, matrix.OutputTokens, k => _priors.LengthCount(k) > 0, static s => Math.Max(0, Math.Exp(s) - 1));
            }

            // Writes map(output) into target for each scored pair whose model learned this output from data.
            void Apply(ITransformer model, string column, Span<double> target, Func<int, bool> learned, Func<double, double> map)
            {
                MlData.Read(model.Transform(data), column, output, ct);
                bool[] use = [.. columns.Select(j => learned(trained[j]))];
                for (int i = 0, r = 0; i < n; i++)
                {
                    for (int c = 0; c < columns.Length; c++, r++)
                    {
                        if (use[c] && float.IsFinite(output[r]))
                        {
                            target[(i * m) + columns[c]] = map(output[r]);
                        }
                    }
                }
            }
        }
    }

    private static Manifest ReadManifest(ZipArchive zip)
    {
        ZipArchiveEntry entry = zip.GetEntry(ManifestEntry)
            ?? throw new InvalidDataException($"The stream is not a saved {nameof(MlPredictor)}: it has no {ManifestEntry}.");
        Manifest? manifest;
        try
        {
            using Stream s = entry.Open();
            manifest = JsonSerializer.Deserialize<Manifest>(s, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The saved predictor's {ManifestEntry} is malformed: {e.Message}", e);
        }

        if (manifest is null || manifest.FormatVersion != FormatVersion)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"The saved predictor has format version {manifest?.FormatVersion}; this library reads version {FormatVersion}."));
        }

        if (manifest.Options is null || manifest.Priors is null || manifest.Models.Length != manifest.Priors.Models || manifest.Tasks.Length != manifest.Priors.Tasks)
        {
            throw new InvalidDataException($"The saved predictor's {ManifestEntry} is inconsistent: options, models, tasks and priors do not match.");
        }

        return manifest;
    }

    private static ITransformer LoadModel(MLContext ml, ZipArchive zip, string name)
    {
        ZipArchiveEntry entry = zip.GetEntry(name) ?? throw new InvalidDataException($"The saved predictor lacks {name}.");
        using var buffer = new MemoryStream();
        using (Stream s = entry.Open())
        {
            s.CopyTo(buffer);
        }

        buffer.Position = 0;
        return ml.Model.Load(buffer, out _);
    }

    private void SaveModel(ZipArchive zip, string name, ITransformer model, DataViewSchema schema)
    {
        using var buffer = new MemoryStream();
        _ml.Model.Save(model, schema, buffer);
        buffer.Position = 0;
        using Stream entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        buffer.CopyTo(entry);
    }

    /// <summary>The JSON manifest of a saved predictor.</summary>
    private sealed class Manifest
    {
        public int FormatVersion { get; set; }

        public MlPredictorOptions? Options { get; set; }

        public string[] Models { get; set; } = [];

        public string[] Tasks { get; set; } = [];

        public PriorState? Priors { get; set; }

        public bool HasText { get; set; }

        public int EmbeddingDimension { get; set; }

        public bool[] Classifiers { get; set; } = [];

        public bool[] Regressors { get; set; } = [];
    }
}
